"""The compiler: settings -> provisioning documents (provxml), in the order Windows applies them.

It reads only settings (tui.wcd.settings: customizations paths and text values) and the
catalogue (tui.wcd.catalogue), never the project model: a project compiles through
``project_settings``, and a customizations.xml through the very same path, so a setting the
catalogue knows builds whether or not the project model has a field for it. A setting with
a scalar form in the catalogue is one document holding one parm; the stages below combine
several settings (a user's password and group, a Wi-Fi network's fields, a command's files),
reading their characteristic paths, parms, datatypes and SettingsGroups from the catalogue's
stage forms and filling in the placeholders.
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
    RELOAD_FORM,
    Form,
    Row,
)
from tui.wcd.paths import names, shape
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

CMD = "ProvisioningCommands/PrimaryContext/Command"
# File stems are ours (WCD names its files alike), not CSP facts: they stay here.
CMD_STEM = CMD.replace("/", "_")
_TRUE = ("true", "yes")

Items = list[tuple[Row, Setting]]


def _leaves(items: Items) -> dict[str, str]:
    return {s.path[-1][0]: s.value for _, s in items}


def _parm(row: Row, value: str, at: str, **fill: str) -> Parm:
    return Parm(row.stage_form.parm.format(**fill), value, row.stage_form.datatype, at)


def _root(form: Form, *children: Node | Parm, **fill: str) -> Node:
    """The characteristics of a stage form, each placeholder filled as one whole segment (a
    user name or package id may hold a ``/``); an asset's last part, after "//", is one
    characteristic named by a setting path."""
    outer, _, inner = form.characteristic.partition("//")
    if inner:
        children = (Node("/" + inner.format(**fill), children),)
    parts = [part.format(**fill) for part in outer.split("/")]
    node = Node(parts[-1], tuple(children))
    for part in reversed(parts[:-1]):
        node = Node(part, (node,))
    return node


def _sibling(items: Items, leaf: str) -> str:
    """The SettingsPath of the setting ``leaf`` beside the items' (list keys dropped)."""
    return f"{names(items[0][1].path[:-1])}/{leaf}"


def _row_beside(items: Items, leaf: str) -> Row:
    """The catalogue row of the setting ``leaf`` beside the items'."""
    return catalogue.row(f"{shape(items[0][1].path[:-1])}/{leaf}")


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
        form = network[0][0].stage_form  # the four settings make one parm
        parm = Parm(form.parm, wlan_profile_xml(wifi), form.datatype, DERIVED_WIFI)
        root = _root(form, parm, ssid=csp_segment(ssid))
        stem = f"ConnectivityProfiles_WLAN_WLANSetting_{i}"
        docs.append(ProvDoc(stem, form.group, (root,), derived=DERIVED_WIFI))
    return docs


def _certificates(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    """One document per certificate read (inputs: the bytes of each CertificatePath)."""
    docs = []
    row = items[0][0]
    for i, cert in enumerate(inputs.certificates):
        encoded = base64.b64encode(cert.der).decode("ascii")
        # No datatype, as [MS-MDE2]'s provisioning example writes EncodedCertificate (b64 node).
        parm = _parm(row, encoded, DERIVED_CERTIFICATE)
        root = _root(row.stage_form, parm, thumbprint=cert.thumbprint)
        group = row.stage_form.group or derived_group(DERIVED_CERTIFICATE)
        stem = f"Certificates_RootCertificates_{i}"
        docs.append(ProvDoc(stem, group, (root,), derived=DERIVED_CERTIFICATE))
    return docs


def _azure(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    v = _leaves(items)
    rows = [_row_beside(items, name) for name in ("Authority", "BPRT")]
    parms = tuple(_parm(r, v.get(r.shape.rsplit("/", 1)[1], ""), r.shape) for r in rows)
    form = rows[0].stage_form
    return [ProvDoc("Accounts_Azure", form.group, (_root(form, *parms),))]


def _computer(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    v = _leaves(items)
    name = v.get("ComputerName", "")
    name_row = _row_beside(items, "ComputerName")
    reload = _root(RELOAD_FORM, Parm(RELOAD_FORM.parm, "1", RELOAD_FORM.datatype, name_row.shape))
    join = [r for r, _ in items if r.derived == DERIVED_DOMAIN_JOIN]
    if join:
        fields = sorted((s.path[-1][0], r) for r, s in items if s.value)
        parms = tuple(_parm(r, v[k], r.shape) for k, r in fields)
        form = join[0].stage_form
        roots = (_root(form, *parms),) + ((reload,) if name else ())
        stem = "Accounts_ComputerAccount"
        return [ProvDoc(stem, form.group, roots, derived=DERIVED_DOMAIN_JOIN)]
    if not name:
        return []
    form = name_row.stage_form
    root = _root(form, _parm(name_row, name, name_row.shape))
    return [ProvDoc("Accounts", form.group, (root, reload))]


def _users(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    docs = []
    for user, fields in _by_key(items).items():
        v = _leaves(fields)
        group_name = v.get("UserGroup", "Administrators")
        group = USER_GROUP_IDS.get(group_name)
        if group is None:
            known = ", ".join(USER_GROUP_IDS)
            raise UserError(f"Local user {user!r}: group {group_name!r} is not one of {known}.")
        password, user_group = (_row_beside(fields, k) for k in _USER_LEAVES)
        parms = (
            _parm(password, v.get("Password", ""), _sibling(fields, "Password")),
            _parm(user_group, str(group), _sibling(fields, "UserGroup")),
        )
        form = password.stage_form
        stem = f"Accounts_Users_{file_part(user)}"
        docs.append(ProvDoc(stem, form.group, (_root(form, *parms, user=user),)))
    return docs


_USER_LEAVES = ("Password", "UserGroup")


def _command_doc(n: int, name: str, value: str) -> ProvDoc:
    row = catalogue.row(f"{CMD}/CommandConfig[]/{name}")
    root = _root(row.stage_form, _parm(row, value, f"{CMD}/CommandConfig/{name}"), n=str(n))
    return ProvDoc(f"{CMD_STEM}_{n}_{name}", row.stage_form.group, (root,))


def _asset_doc(package_id: str, key: str, n: int, stem: str, shape_: str) -> ProvDoc:
    """A payload file: ``Provisioning/Assets/{package id}/<setting path>`` -> key = file name."""
    row = catalogue.row(shape_)
    path = shape_.replace("[]", "")
    parm = _parm(row, key.rsplit("\\", 1)[1], path, asset=key)
    root = _root(row.stage_form, parm, package=package_id, n=str(n))
    return ProvDoc(stem, row.stage_form.group, (root,), derived=row.derived)


def _commands(items: Items, package_id: str, inputs: Inputs) -> list[ProvDoc]:
    docs = []
    for n, fields in enumerate(_by_key(items).values()):
        v = _leaves(fields)
        dependencies = [(r, s) for r, s in fields if r.derived == DERIVED_DEPENDENCY]
        stem = f"{CMD_STEM}_{n}"
        if v.get("CommandFile"):
            key = inputs.asset_keys[(n, None)]
            shape_ = f"{CMD}/CommandConfig[]/CommandFile"
            docs.append(_asset_doc(package_id, key, n, f"{stem}_CommandFile", shape_))
        if "CommandLine" in v:
            docs.append(_command_doc(n, "CommandLine", v["CommandLine"]))
        if "ContinueInstall" in v:
            on = v["ContinueInstall"].casefold() in _TRUE
            docs.append(_command_doc(n, "ContinueInstall", boolean(on)))
        for j, (row, _) in enumerate(dependencies):
            key = inputs.asset_keys[(n, j)]
            stem_j = f"{stem}_DependencyPackages_{j}"
            docs.append(_asset_doc(package_id, key, n, stem_j, row.shape))
        if "RestartRequired" in v:
            on = v["RestartRequired"].casefold() in _TRUE
            docs.append(_command_doc(n, "RestartRequired", boolean(on)))
        for name in ("ReturnCodeRestart", "ReturnCodeSuccess"):
            if name in v:
                docs.append(_command_doc(n, name, v[name]))
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
