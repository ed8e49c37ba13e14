"""The compiler: settings -> provisioning documents (provxml), in the order Windows applies them.

It reads only settings (tui.wcd.settings: customizations paths and text values) and the
catalogue (tui.wcd.catalogue), never the project model: a project compiles through
``project_settings``, and a customizations.xml through the very same path, so a setting the
catalogue knows builds whether or not the project model has a field for it. A setting with
a scalar form in the catalogue is one document holding one parm; the stages below combine
several settings (a user's password and group, a Wi-Fi network's fields, a command's files).
The forms are documented, with sources, in docs/package-format.md and docs/settings.md.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

from tui.errors import UserError
from tui.package.compiler_xml import (
    BOM,
    DERIVED_GROUP_NAMESPACE,
    WLAN_NAMESPACE,
    CertificateData,
    Inputs,
    Node,
    Parm,
    Placed,
    ProvDoc,
    asset_folder,
    boolean,
    chain,
    configuration_source,
    csp_segment,
    derived_group,
    elements_index,
    escape_attr,
    file_part,
    is_secret_parm,
    master_datastore,
    parse,
    place,
    render,
    sources,
    walk,
    wlan_profile_xml,
)
from tui.project.localusers import USER_GROUP_IDS
from tui.project.model import Project, Wifi, WifiSecurity
from tui.wcd import catalogue
from tui.wcd.catalogue import (
    DERIVED_ALL,
    DERIVED_CERTIFICATE,
    DERIVED_DEPENDENCY,
    DERIVED_DOMAIN_JOIN,
    DERIVED_PRODUCT_KEY,
    DERIVED_SHARED_PC,
    DERIVED_WIFI,
    Row,
)
from tui.wcd.paths import names
from tui.wcd.settings import Setting, project_settings

__all__ = [
    "BOM",
    "DERIVED_ALL",
    "DERIVED_CERTIFICATE",
    "DERIVED_DOMAIN_JOIN",
    "DERIVED_GROUP_NAMESPACE",
    "DERIVED_PRODUCT_KEY",
    "DERIVED_SHARED_PC",
    "WLAN_NAMESPACE",
    "CertificateData",
    "Inputs",
    "Placed",
    "ProvDoc",
    "asset_folder",
    "configuration_source",
    "csp_segment",
    "derived_settings",
    "documents",
    "elements_index",
    "escape_attr",
    "file_part",
    "is_secret_parm",
    "master_datastore",
    "parse",
    "place",
    "project_documents",
    "render",
    "sources",
    "walk",
]

# SettingsGroup GUIDs seen in real WCD output (or, marked M, in one open-source generator) for
# the stages' documents; the scalar settings' are in the catalogue.
GROUP_AZURE = "641c3728-5623-544a-9144-976a2dbf3ca9"
GROUP_COMPUTER_NAME = "9de9b0e5-6d03-5ff6-a648-12a9d1c34bba"
GROUP_COMPUTER_ACCOUNT = "f35dd173-1c3e-5f2b-a3a4-29b602842b09"  # M
GROUP_USER = "316e2a31-250a-5f09-a0e1-d2e5c6b03559"
GROUP_HIDE_OOBE = catalogue.row("OOBE/Desktop/HideOobe").form.group
GROUP_ALLOW_ALL_TRUSTED_APPS = catalogue.row(
    "Policies/ApplicationManagement/AllowAllTrustedApps"
).form.group
GROUP_WLAN = "ac17da61-38b8-5bb9-bdaf-7436ac4eb133"  # M
GROUP_COMMAND = {
    "CommandFile": "1348d3d6-134b-5eb8-8f89-96c44bf9aa0b",
    "CommandLine": "56ccb8ff-b5f2-5806-a504-ab9091876608",
    "ContinueInstall": "290f8b72-c400-5dc4-8e56-b98df699071a",
    "DependencyPackages": "0fb42616-94a6-5da8-b711-fd15131232e9",  # M
    "RestartRequired": "0a0302fe-0203-5635-8005-2878eac632cd",
    "ReturnCodeRestart": "0c1ffbe1-4777-5325-afb2-61bfeee42220",
    "ReturnCodeSuccess": "370d2f73-b454-5319-b1b1-ad5dcb6c1e42",
}

CMD = "ProvisioningCommands/PrimaryContext/Command"
CMD_STEM = CMD.replace("/", "_")
_TRUE = ("true", "yes")

Items = list[tuple[Row, Setting]]


def _leaves(items: Items) -> dict[str, str]:
    return {s.path[-1][0]: s.value for _, s in items}


def _sibling(items: Items, leaf: str) -> str:
    """The SettingsPath of the setting ``leaf`` beside the items' (list keys dropped)."""
    return f"{names(items[0][1].path[:-1])}/{leaf}"


def _by_key(items: Items) -> dict[str, Items]:
    """The items of each list item (the path's first key), in the order they came."""
    found: dict[str, Items] = {}
    for row, s in items:
        key = next(k for _, k in s.path if k is not None)
        found.setdefault(key, []).append((row, s))
    return found


# -- the stages that combine settings ---------------------------------------------------------


def _wifi(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    docs = []
    for i, (ssid, network) in enumerate(_by_key(items).items()):
        v = _leaves(network)
        try:
            security = WifiSecurity(v.get("SecurityType", WifiSecurity.OPEN.value))
        except ValueError:
            raise UserError(
                f"Wi-Fi {ssid!r}: security {v['SecurityType']!r} is not known."
            ) from None
        wifi = Wifi(
            ssid=ssid,
            security=security,
            key=v.get("SecurityKey", ""),
            auto_connect=v.get("AutoConnect", "True").casefold() in _TRUE,
            hidden=v.get("HiddenNetwork", "False").casefold() in _TRUE,
        )
        parm = Parm("WlanXml", wlan_profile_xml(wifi), "string", DERIVED_WIFI)
        root = chain("WiFi/Profile", Node(csp_segment(ssid), (parm,)))
        stem = f"ConnectivityProfiles_WLAN_WLANSetting_{i}"
        docs.append(ProvDoc(stem, GROUP_WLAN, (root,), derived=DERIVED_WIFI))
    return docs


def _certificates(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    """One document per certificate read (inputs: the bytes of each CertificatePath)."""
    docs = []
    for i, cert in enumerate(inputs.certificates):
        encoded = base64.b64encode(cert.der).decode("ascii")
        # No datatype, as [MS-MDE2]'s provisioning example writes EncodedCertificate (b64 node).
        parm = Parm("EncodedCertificate", encoded, "", DERIVED_CERTIFICATE)
        root = chain("RootCATrustedCertificates/Root", Node(cert.thumbprint, (parm,)))
        group = derived_group(DERIVED_CERTIFICATE)
        stem = f"Certificates_RootCertificates_{i}"
        docs.append(ProvDoc(stem, group, (root,), derived=DERIVED_CERTIFICATE))
    return docs


def _azure(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    v = _leaves(items)
    parms = tuple(
        Parm(name, v.get(name, ""), "string", _sibling(items, name))
        for name in ("Authority", "BPRT")
    )
    return [ProvDoc("Accounts_Azure", GROUP_AZURE, (Node("AADJ", parms),))]


def _computer(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    v = _leaves(items)
    name = v.get("ComputerName", "")
    reload = chain(
        "Provisioning/ForceSettingReload",
        Parm("ComputerName", "1", "integer", _sibling(items, "ComputerName")),
    )
    fields = ("Account", "AccountOU", "ComputerName", "DomainName", "Password")
    if any(r.derived == DERIVED_DOMAIN_JOIN for r, _ in items):
        parms = tuple(Parm(k, v[k], "string", _sibling(items, k)) for k in fields if v.get(k))
        roots = (chain("Accounts/Domain", *parms),) + ((reload,) if name else ())
        stem = "Accounts_ComputerAccount"
        return [ProvDoc(stem, GROUP_COMPUTER_ACCOUNT, roots, derived=DERIVED_DOMAIN_JOIN)]
    if not name:
        return []
    parm = Parm("ComputerName", name, "string", _sibling(items, "ComputerName"))
    return [ProvDoc("Accounts", GROUP_COMPUTER_NAME, (chain("Accounts/Domain", parm), reload))]


def _users(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    docs = []
    for user, fields in _by_key(items).items():
        v = _leaves(fields)
        group_name = v.get("UserGroup", "Administrators")
        group = USER_GROUP_IDS.get(group_name)
        if group is None:
            known = ", ".join(USER_GROUP_IDS)
            raise UserError(f"Local user {user!r}: group {group_name!r} is not one of {known}.")
        parms = (
            Parm("Password", v.get("Password", ""), "string", _sibling(fields, "Password")),
            Parm("LocalUserGroup", str(group), "integer", _sibling(fields, "UserGroup")),
        )
        stem = f"Accounts_Users_{file_part(user)}"
        docs.append(ProvDoc(stem, GROUP_USER, (chain("Accounts/Users", Node(user, parms)),)))
    return docs


def _command_doc(n: int, name: str, value: str, datatype: str) -> ProvDoc:
    parm = Parm(name, value, datatype, f"{CMD}/CommandConfig/{name}")
    root = chain(f"ProvisioningCommands/PrimaryContext/$(__PackageID)/{n}", parm)
    return ProvDoc(f"{CMD_STEM}_{n}_{name}", GROUP_COMMAND[name], (root,))


def _asset_doc(package_id: str, key: str, characteristic: str, stem: str, kind: str) -> ProvDoc:
    """A payload file: ``Provisioning/Assets/{package id}/<setting path>`` -> key = file name."""
    path = f"{CMD}/CommandConfig/" + (
        "CommandFile" if kind == "CommandFile" else "DependencyPackages/Dependency"
    )
    parm = Parm(key, key.rsplit("\\", 1)[1], "string", path)
    root = chain("Provisioning/Assets", Node(package_id, (Node(characteristic, (parm,)),)))
    derived = DERIVED_DEPENDENCY if kind == "DependencyPackages" else ""
    return ProvDoc(stem, GROUP_COMMAND[kind], (root,), derived=derived)


def _commands(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    docs = []
    for n, fields in enumerate(_by_key(items).values()):
        v = _leaves(fields)
        dependencies = [s for r, s in fields if r.derived == DERIVED_DEPENDENCY]
        stem = f"{CMD_STEM}_{n}"
        if v.get("CommandFile"):
            key = inputs.asset_keys[(n, None)]
            char = f"/{CMD}/{n}/CommandFile"
            docs.append(_asset_doc(package_id, key, char, f"{stem}_CommandFile", "CommandFile"))
        if "CommandLine" in v:
            docs.append(_command_doc(n, "CommandLine", v["CommandLine"], "string"))
        if "ContinueInstall" in v:
            on = v["ContinueInstall"].casefold() in _TRUE
            docs.append(_command_doc(n, "ContinueInstall", boolean(on), "boolean"))
        for j in range(len(dependencies)):
            key = inputs.asset_keys[(n, j)]
            char = f"/{CMD}/{n}/DependencyPackages/Dependency"
            docs.append(
                _asset_doc(
                    package_id, key, char, f"{stem}_DependencyPackages_{j}", "DependencyPackages"
                )
            )
        if "RestartRequired" in v:
            on = v["RestartRequired"].casefold() in _TRUE
            docs.append(_command_doc(n, "RestartRequired", boolean(on), "boolean"))
        for name in ("ReturnCodeRestart", "ReturnCodeSuccess"):
            if name in v:
                docs.append(_command_doc(n, name, v[name], "integer"))
    return docs


# -- settings compiled on their own ------------------------------------------------------------


def _parm_value(row: Row, setting: Setting) -> str:
    form = row.form
    if form.values:
        value = dict(form.values).get(setting.value.casefold())
        if value is None:
            raise UserError(f"{setting.path}: {setting.value!r} is not {row.rule}.")
        return value
    if form.datatype == "boolean":
        return boolean(setting.value.casefold() in _TRUE)
    return setting.value


def _scalars(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    docs = []
    for row, setting in items:
        form, at = row.form, names(setting.path)
        parm = Parm(form.parm, _parm_value(row, setting), form.datatype, at, exec=form.exec)
        root = chain(form.characteristic, parm, scope=form.scope)
        group = form.group or derived_group(at)
        doc = ProvDoc(at.replace("/", "_"), group, (root,), form.source, derived=row.derived)
        docs.append(doc)
    return docs


Stage = Callable[[Items, str, Inputs], list[ProvDoc]]
STAGE_BUILDERS: dict[str, Stage] = {
    "wifi": _wifi,
    "certificates": _certificates,
    "azure": _azure,
    "computer": _computer,
    "users": _users,
    "commands": _commands,
}


def documents(
    settings: Sequence[Setting], package_id: str, inputs: Inputs | None = None
) -> list[ProvDoc]:
    """Every provxml document of the settings, in the order Windows applies them (the
    catalogue's stages). Settings the catalogue does not know have no form: they are left out
    (the callers list them to the user first)."""
    inputs = inputs or Inputs()
    staged: dict[str, Items] = {stage: [] for stage in catalogue.STAGES}
    for setting in settings:
        if (row := catalogue.row_of(setting.path)) is not None:
            staged[row.stage].append((row, setting))
    docs: list[ProvDoc] = []
    for stage, items in staged.items():
        if items:
            docs += STAGE_BUILDERS.get(stage, _scalars)(items, package_id, inputs)
    return docs


def project_documents(project: Project, inputs: Inputs | None = None) -> list[ProvDoc]:
    """The documents of a project: its settings, compiled."""
    return documents(project_settings(project), project.package.id, inputs)


def derived_settings(project: Project) -> list[str]:
    """The derived forms (catalogue.DERIVED_ALL names) the project's settings use."""
    return catalogue.derived_of(s.path for s in project_settings(project))
