"""Provisioning XML (provxml): the documents Windows' provisioning engine applies.

A project compiles into a list of :class:`ProvDoc`, one per WCD "settings group", in the
order they are applied. Each knows its file stem (``Accounts_Azure``), its SettingsGroup
GUID and the characteristic tree it holds; :func:`render` gives the exact bytes ICD writes
(UTF-8 BOM, ``standalone="yes"``, CRLF, two-space indent, `` />``, no final newline).

The table of forms is documented, with sources, in docs/package-format.md.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from tui.errors import UserError
from tui.project.localusers import USER_GROUP_IDS
from tui.project.model import JoinKind, Project, Wifi, WifiSecurity
from tui.project.names import FILE_NAME_FORBIDDEN
from tui.wcd.settings import (
    MASK,
    SHARED_PC_ACCOUNT_MANAGER,
    SHARED_PC_ACCOUNT_MODEL,
    is_secret,
    shared_pc_account_model,
)

BOM = b"\xef\xbb\xbf"
CRLF = "\r\n"

# SettingsGroup GUIDs seen in real WCD output (or, marked M, in one open-source generator).
GROUP_AZURE = "641c3728-5623-544a-9144-976a2dbf3ca9"
GROUP_COMPUTER_NAME = "9de9b0e5-6d03-5ff6-a648-12a9d1c34bba"
GROUP_COMPUTER_ACCOUNT = "f35dd173-1c3e-5f2b-a3a4-29b602842b09"  # M
GROUP_USER = "316e2a31-250a-5f09-a0e1-d2e5c6b03559"
GROUP_HIDE_OOBE = "b786dbf1-ec31-5be5-aa49-934e4489fae9"
GROUP_ALLOW_ALL_TRUSTED_APPS = "1d06ee0e-b4a8-559b-b253-c7f645eb1b9c"
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

# For settings whose GUID no public package shows we use a name-based (version 5) UUID of the
# customizations path in a namespace of our own: stable across builds, never colliding with
# WCD's (whose namespace is unknown).
DERIVED_GROUP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bulk-enroll:settings-group")


def derived_group(settings_path: str) -> str:
    return str(uuid.uuid5(DERIVED_GROUP_NAMESPACE, settings_path))


# Customizations paths (list keys dropped) of the settings whose provxml form we derived
# from Microsoft's CSP documentation rather than copied from a real package.
DERIVED_PRODUCT_KEY = "EditionUpgrade/UpgradeEditionWithProductKey"
DERIVED_SHARED_PC = "SharedPC/EnableSharedPCMode"
DERIVED_CLEAN_PC = "CleanPC/CleanPCWithoutRetainingUserData"
DERIVED_CERTIFICATE = "Certificates/RootCertificates/RootCertificate/CertificatePath"
DERIVED_WIFI = "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig/WLANXmlSettings"
DERIVED_DOMAIN_JOIN = "Accounts/ComputerAccount/DomainName"
DERIVED_DEPENDENCY = "ProvisioningCommands/PrimaryContext/Command/CommandConfig/DependencyPackages"
DERIVED_ALL = (
    DERIVED_WIFI,
    DERIVED_CERTIFICATE,
    DERIVED_DOMAIN_JOIN,
    DERIVED_SHARED_PC,
    DERIVED_DEPENDENCY,
    DERIVED_PRODUCT_KEY,
    DERIVED_CLEAN_PC,
)

WLAN_NAMESPACE = "http://www.microsoft.com/networking/WLAN/profile/v1"
# Parm names that hold secrets beyond settings.is_secret's.
SECRET_PARMS = frozenset({"BPRT", "WlanXml"})


def is_secret_parm(name: str) -> bool:
    """Whether a parm of this name holds a secret (WlanXml carries the Wi-Fi key)."""
    return name in SECRET_PARMS or is_secret(name)


@dataclass(frozen=True, slots=True)
class Parm:
    name: str
    value: str
    datatype: str  # "string", "integer", "boolean", or "" for none (written without the attribute)
    settings_path: str = ""  # WCD 2024+ writes the customizations path (list keys dropped)
    exec: bool = False  # CSP nodes whose only operation is Execute

    def __repr__(self) -> str:
        shown = MASK if self.value and is_secret_parm(self.name) else repr(self.value)
        return (
            f"Parm({self.name!r}, {shown}, {self.datatype!r}, "
            f"settings_path={self.settings_path!r}, exec={self.exec!r})"
        )


@dataclass(frozen=True, slots=True)
class Node:
    type: str
    children: tuple[Node | Parm, ...]
    scope: str = ""


@dataclass(frozen=True, slots=True)
class ProvDoc:
    stem: str  # file name without counter and extension: "Accounts_Azure"
    group: str  # SettingsGroup GUID, before any "_k" instance suffix
    roots: tuple[Node, ...]
    source: str = "RunTime"
    derived: str = ""  # the customizations path whose form we derived, if any


@dataclass(frozen=True, slots=True)
class CertificateData:
    """A certificate already read from disk: DER bytes."""

    name: str
    der: bytes

    @property
    def thumbprint(self) -> str:
        return hashlib.sha1(self.der).hexdigest().upper()


@dataclass(frozen=True, slots=True)
class Inputs:
    """What compiling needs beyond the project: payload asset keys and certificate bytes."""

    # (command index, dependency index or None) -> "<i>_<b64>\\<file name>"
    asset_keys: Mapping[tuple[int, int | None], str] = field(default_factory=dict)
    certificates: Sequence[CertificateData] = ()


def chain(path: str, *children: Node | Parm, scope: str = "") -> Node:
    """Nested characteristics from a slash path: chain("Policy/Config/X", parm)."""
    parts = path.split("/")
    node = Node(parts[-1], tuple(children))
    for part in reversed(parts[:-1]):
        node = Node(part, (node,))
    if scope:
        node = Node(node.type, node.children, scope)
    return node


# -- rendering ------------------------------------------------------------------------------


def escape_attr(value: str) -> str:
    """Attribute escaping as .NET's XmlWriter (and so ICD) does it."""
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\r", "&#xD;")
        .replace("\n", "&#xA;")
        .replace("\t", "&#x9;")
    )


def _attrs(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f' {k}="{escape_attr(v)}"' for k, v in pairs)


def _render_node(item: Node | Parm, depth: int, lines: list[str], with_path: bool) -> None:
    pad = "  " * depth
    if isinstance(item, Parm):
        pairs = [("name", item.name), ("value", item.value)]
        if item.datatype:
            pairs.append(("datatype", item.datatype))
        if item.settings_path and with_path:
            pairs.insert(0, ("SettingsPath", item.settings_path))
        if item.exec:
            pairs.append(("exec", "1"))
        lines.append(f"{pad}<parm{_attrs(pairs)} />")
        return
    pairs = [("type", item.type)] + ([("scope", item.scope)] if item.scope else [])
    lines.append(f"{pad}<characteristic{_attrs(pairs)}>")
    for child in item.children:
        _render_node(child, depth + 1, lines, with_path)
    lines.append(f"{pad}</characteristic>")


def render(doc: ProvDoc, *, settings_path: bool = True) -> bytes:
    """The provxml bytes; ``settings_path=False`` gives the WCD 2018 form (for comparisons)."""
    lines = ['<?xml version="1.0" encoding="utf-8" standalone="yes"?>', "<wap-provisioningdoc>"]
    for root in doc.roots:
        _render_node(root, 1, lines, settings_path)
    lines.append("</wap-provisioningdoc>")
    return BOM + CRLF.join(lines).encode("utf-8")


# -- values -----------------------------------------------------------------------------------


def boolean(value: bool) -> str:
    return "true" if value else "false"


def wlan_profile_xml(wifi: Wifi) -> str:
    """The WLANProfile document the WiFi CSP's WlanXml node takes (one line, no declaration)."""
    ssid_hex = wifi.ssid.encode("utf-8").hex().upper()
    if wifi.security is WifiSecurity.OPEN:
        security = (
            "<security><authEncryption><authentication>open</authentication>"
            "<encryption>none</encryption><useOneX>false</useOneX></authEncryption></security>"
        )
    else:
        is_hex_key = len(wifi.key) == 64 and all(c in "0123456789abcdefABCDEF" for c in wifi.key)
        key_type = "networkKey" if is_hex_key else "passPhrase"
        security = (
            "<security><authEncryption><authentication>WPA2PSK</authentication>"
            "<encryption>AES</encryption><useOneX>false</useOneX></authEncryption>"
            f"<sharedKey><keyType>{key_type}</keyType><protected>false</protected>"
            f"<keyMaterial>{_escape_text(wifi.key)}</keyMaterial></sharedKey></security>"
        )
    name = _escape_text(wifi.ssid)
    return (
        f'<WLANProfile xmlns="{WLAN_NAMESPACE}"><name>{name}</name>'
        f"<SSIDConfig><SSID><hex>{ssid_hex}</hex><name>{name}</name></SSID>"
        f"<nonBroadcast>{boolean(wifi.hidden)}</nonBroadcast></SSIDConfig>"
        "<connectionType>ESS</connectionType>"
        f"<connectionMode>{'auto' if wifi.auto_connect else 'manual'}</connectionMode>"
        f"<MSM>{security}</MSM></WLANProfile>"
    )


def csp_segment(name: str) -> str:
    """A name as one segment of a CSP node path: %-escaped as RFC 2396 asks (UTF-8 bytes).

    Letters, digits and RFC 2396's unreserved marks stay; everything else, including space,
    ``/`` and ``%``, becomes ``%XX`` (the WiFi CSP: the SSID part of the node must be a valid URI).
    """
    return quote(name, safe="-_.!~*'()")


# Characters Windows forbids in file names, and the ones the ConfigurationSet Data path and
# its $(...) macros give a meaning to; WCD's own handling of them is not known.
_FILE_PART_UNSAFE = FILE_NAME_FORBIDDEN | frozenset("%$()")


def file_part(name: str) -> str:
    """A name as part of a provxml file name: unsafe characters, spaces and controls become ``_``.

    The ``N__`` counter keeps file names unique even when two names map to the same part.
    """
    cleaned = "".join(
        "_" if c in _FILE_PART_UNSAFE or unicodedata.category(c)[0] in "CZ" else c for c in name
    )
    return cleaned.rstrip(".") or "_"


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def asset_folder(index: int, sha256: bytes) -> str:
    """``<i>_<base64 of SHA-256>``: WCD keeps the ``=`` padding and writes ``/`` as ``.``."""
    return f"{index}_{base64.b64encode(sha256).decode('ascii').replace('/', '.')}"


# -- project -> documents -----------------------------------------------------------------------

CMD = "ProvisioningCommands/PrimaryContext/Command"
CMD_STEM = CMD.replace("/", "_")


def _azure(project: Project) -> list[ProvDoc]:
    if project.join is not JoinKind.ENTRA:
        return []
    e = project.entra
    parms = (
        Parm("Authority", e.authority, "string", "Accounts/Azure/Authority"),
        Parm("BPRT", e.bprt, "string", "Accounts/Azure/BPRT"),
    )
    return [ProvDoc("Accounts_Azure", GROUP_AZURE, (Node("AADJ", parms),))]


def _computer_account(project: Project) -> list[ProvDoc]:
    name = project.device.name
    reload_parm = Parm("ComputerName", "1", "integer", "Accounts/ComputerAccount/ComputerName")
    reload = chain("Provisioning/ForceSettingReload", reload_parm)
    if project.join is JoinKind.ACTIVE_DIRECTORY:
        d = project.domain
        base = "Accounts/ComputerAccount/"
        fields = [
            ("Account", d.account),
            ("AccountOU", d.ou),
            ("ComputerName", name),
            ("DomainName", d.domain),
            ("Password", d.password),
        ]
        parms = tuple(Parm(k, v, "string", base + k) for k, v in fields if v)
        roots = (chain("Accounts/Domain", *parms),) + ((reload,) if name else ())
        doc = ProvDoc(
            "Accounts_ComputerAccount", GROUP_COMPUTER_ACCOUNT, roots, derived=DERIVED_DOMAIN_JOIN
        )
        return [doc]
    if not name:
        return []
    parm = Parm("ComputerName", name, "string", "Accounts/ComputerAccount/ComputerName")
    return [ProvDoc("Accounts", GROUP_COMPUTER_NAME, (chain("Accounts/Domain", parm), reload))]


def _users(project: Project) -> list[ProvDoc]:
    docs = []
    for user in project.local_users:
        group = USER_GROUP_IDS.get(user.group)
        if group is None:
            known = ", ".join(USER_GROUP_IDS)
            raise UserError(
                f"Local user {user.name!r}: group {user.group!r} is not one of {known}."
            )
        parms = (
            Parm("Password", user.password, "string", "Accounts/Users/User/Password"),
            Parm("LocalUserGroup", str(group), "integer", "Accounts/Users/User/UserGroup"),
        )
        docs.append(
            ProvDoc(
                f"Accounts_Users_{file_part(user.name)}",
                GROUP_USER,
                (chain("Accounts/Users", Node(user.name, parms)),),
            )
        )
    return docs


def _policies(project: Project) -> list[ProvDoc]:
    if not project.allow_all_trusted_apps:
        return []
    path = "Policies/ApplicationManagement/AllowAllTrustedApps"
    parm = Parm("AllowAllTrustedApps", "1", "integer", path)
    root = chain("Policy/Config/ApplicationManagement", parm)
    return [ProvDoc(path.replace("/", "_"), GROUP_ALLOW_ALL_TRUSTED_APPS, (root,))]


def _oobe(project: Project) -> list[ProvDoc]:
    if not project.hide_oobe:
        return []
    parm = Parm("HideOobe", "true", "boolean", "OOBE/Desktop/HideOobe")
    return [ProvDoc("OOBE_Desktop_HideOobe", GROUP_HIDE_OOBE, (chain("MCSF/OOBE/Desktop", parm),))]


def _wifi(project: Project) -> list[ProvDoc]:
    if project.wifi is None:
        return []
    parm = Parm("WlanXml", wlan_profile_xml(project.wifi), "string", DERIVED_WIFI)
    root = chain("WiFi/Profile", Node(csp_segment(project.wifi.ssid), (parm,)))
    return [
        ProvDoc(
            "ConnectivityProfiles_WLAN_WLANSetting_0", GROUP_WLAN, (root,), derived=DERIVED_WIFI
        )
    ]


def _certificates(inputs: Inputs) -> list[ProvDoc]:
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


def _single(path: str, csp: str, parm: Parm) -> ProvDoc:
    return ProvDoc(path.replace("/", "_"), derived_group(path), (chain(csp, parm),), derived=path)


def _shared_pc(project: Project) -> list[ProvDoc]:
    if not project.device.shared_pc:
        return []
    # The SharedPC CSP: account settings must be set before EnableSharedPCMode acts.
    model = str(shared_pc_account_model(project))
    parms = (
        (SHARED_PC_ACCOUNT_MODEL, Parm("AccountModel", model, "integer", SHARED_PC_ACCOUNT_MODEL)),
        (
            SHARED_PC_ACCOUNT_MANAGER,
            Parm("EnableAccountManager", "true", "boolean", SHARED_PC_ACCOUNT_MANAGER),
        ),
        (DERIVED_SHARED_PC, Parm("EnableSharedPCMode", "true", "boolean", DERIVED_SHARED_PC)),
    )
    return [
        ProvDoc(
            path.replace("/", "_"),
            derived_group(path),
            (chain("SharedPC", parm),),
            derived=DERIVED_SHARED_PC,
        )
        for path, parm in parms
    ]


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


def _commands(project: Project, inputs: Inputs) -> list[ProvDoc]:
    docs = []
    pid = project.package.id
    for n, app in enumerate(project.applications):
        stem = f"{CMD_STEM}_{n}"
        if app.file:
            key = inputs.asset_keys[(n, None)]
            char = f"/{CMD}/{n}/CommandFile"
            docs.append(_asset_doc(pid, key, char, f"{stem}_CommandFile", "CommandFile"))
        docs.append(_command_doc(n, "CommandLine", app.command_line, "string"))
        docs.append(_command_doc(n, "ContinueInstall", boolean(app.continue_install), "boolean"))
        for j in range(len(app.dependencies)):
            key = inputs.asset_keys[(n, j)]
            char = f"/{CMD}/{n}/DependencyPackages/Dependency"
            stem_j = f"{stem}_DependencyPackages_{j}"
            docs.append(_asset_doc(pid, key, char, stem_j, "DependencyPackages"))
        docs.append(_command_doc(n, "RestartRequired", boolean(app.restart_required), "boolean"))
        docs.append(_command_doc(n, "ReturnCodeRestart", str(app.return_code_restart), "integer"))
        docs.append(_command_doc(n, "ReturnCodeSuccess", str(app.return_code_success), "integer"))
    return docs


def _product_key(project: Project) -> list[ProvDoc]:
    if not project.device.product_key:
        return []
    key = project.device.product_key
    parm = Parm("UpgradeEditionWithProductKey", key, "string", DERIVED_PRODUCT_KEY, exec=True)
    doc = _single(DERIVED_PRODUCT_KEY, "WindowsLicensing", parm)
    # The one real EditionUpgrade setting (iot-adk-prosku.ppkg) is in Uicc_RunOnce.
    return [replace(doc, source="Uicc_RunOnce")]


def _clean_pc(project: Project) -> list[ProvDoc]:
    if not project.device.remove_preinstalled:
        return []
    parm = Parm("CleanPCWithoutRetainingUserData", "1", "integer", DERIVED_CLEAN_PC, exec=True)
    return [_single(DERIVED_CLEAN_PC, "CleanPC", parm)]


def project_documents(project: Project, inputs: Inputs | None = None) -> list[ProvDoc]:
    """Every provxml document of the project, in the order Windows applies them.

    The network comes first so that the join and the installers have it; the product-key
    upgrade (restarts the device) and CleanPC (resets it) come last.
    """
    inputs = inputs or Inputs()
    return [
        *_wifi(project),
        *_certificates(inputs),
        *_azure(project),
        *_computer_account(project),
        *_users(project),
        *_policies(project),
        *_oobe(project),
        *_shared_pc(project),
        *_commands(project, inputs),
        *_product_key(project),
        *_clean_pc(project),
    ]


def derived_settings(project: Project) -> list[str]:
    """Customizations paths of the settings in this project whose provxml form we derived."""
    found = []
    if project.wifi is not None:
        found.append(DERIVED_WIFI)
    if project.certificates:
        found.append(DERIVED_CERTIFICATE)
    if project.join is JoinKind.ACTIVE_DIRECTORY:
        found.append(DERIVED_DOMAIN_JOIN)
    if project.device.shared_pc:
        found.append(DERIVED_SHARED_PC)
    if any(app.dependencies for app in project.applications):
        found.append(DERIVED_DEPENDENCY)
    if project.device.product_key:
        found.append(DERIVED_PRODUCT_KEY)
    if project.device.remove_preinstalled:
        found.append(DERIVED_CLEAN_PC)
    return found


# -- the index documents -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Placed:
    """A document placed in the package: its file name and its SettingsGroup with suffix."""

    doc: ProvDoc
    file_name: str  # "<N>__<stem>.provxml"
    settings_group: str  # "<guid>" or "<guid>_<k>"


def place(docs: Sequence[ProvDoc]) -> list[Placed]:
    """Number documents across all sources (RunTime first) and suffix repeated groups."""
    order = {name: i for i, name in enumerate(sources(docs))}
    ordered = sorted(docs, key=lambda d: order[d.source])  # stable: keeps apply order
    seen: dict[str, int] = {}
    placed = []
    for n, doc in enumerate(ordered):
        k = seen.get(doc.group, -1)
        seen[doc.group] = k + 1
        group = doc.group if k < 0 else f"{doc.group}_{k}"
        placed.append(Placed(doc, f"{n}__{doc.stem}.provxml", group))
    return placed


def sources(docs: Sequence[ProvDoc]) -> list[str]:
    """The ConfigurationSources the documents need, in MasterDatastore order."""
    known = ["Uicc_RunOnce", "RunTime", "User_RunTime"]
    present = {d.source for d in docs} or {"RunTime"}
    return [s for s in known if s in present] + sorted(present - set(known))


def _xml(lines: list[str]) -> bytes:
    return BOM + CRLF.join(['<?xml version="1.0" encoding="utf-8"?>', *lines]).encode("utf-8")


def master_datastore(source_names: Sequence[str]) -> bytes:
    lines = ['<ConfigurationSourceList Version="1.0">']
    for name in source_names:
        path = "$(_prov)\\" + name + ".xml"
        lines += [
            f"  <ConfigurationSource{_attrs([('Name', name), ('Path', path)])}>",
            "    <EventList>",
            f'      <Event Name="{escape_attr(name)}" />',
            "    </EventList>",
            "  </ConfigurationSource>",
        ]
    lines.append("</ConfigurationSourceList>")
    return _xml(lines)


def configuration_source(source: str, placed: Sequence[Placed]) -> bytes:
    lines = ['<ConfigurationSource Version="1.0">']
    for p in placed:
        if p.doc.source == source:
            data = f"$(_prov)\\{source}\\{p.file_name}"
            pairs = [("Type", "provxml"), ("SettingsGroup", p.settings_group), ("Data", data)]
            lines.append(f"  <ConfigurationSet{_attrs(pairs)} />")
    lines.append("</ConfigurationSource>")
    return _xml(lines)


def elements_index(kind: str, index: int, metadata: Sequence[tuple[str, str]] = ()) -> bytes:
    """Multivariant.xml / CommonSettings.xml / DataAsset.xml: no BOM, ``encoding="UTF-8"``."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Elements Type="{kind}">',
        f'  <Element Index="{index}">',
        *(f"    <Metadata{_attrs([('Key', k), ('Value', v)])} />" for k, v in metadata),
        "  </Element>",
        "</Elements>",
    ]
    return CRLF.join(lines).encode("utf-8")


# -- reading -------------------------------------------------------------------------------------


def parse(data: bytes) -> tuple[Node, ...]:
    """The characteristic tree of a provxml document (any WCD/ICD version); ValueError
    (a phrase following "<file> is") when it is not one or safexml refuses it."""
    from tui import safexml

    root = safexml.parse(data)
    if root.tag != "wap-provisioningdoc":
        raise ValueError(
            f"a document whose root element is <{root.tag}>, not <wap-provisioningdoc>"
        )
    return tuple(_parse_node(el) for el in root if el.tag == "characteristic")


def _parse_node(el) -> Node:
    children: list[Node | Parm] = []
    for child in el:
        if child.tag == "characteristic":
            children.append(_parse_node(child))
        elif child.tag == "parm":
            a = child.attrib
            children.append(
                Parm(
                    a.get("name", ""),
                    a.get("value", ""),
                    a.get("datatype", ""),
                    a.get("SettingsPath", ""),
                    a.get("exec") == "1",
                )
            )
    return Node(el.get("type", ""), tuple(children), el.get("scope", ""))


def walk(nodes: Sequence[Node], prefix: str = "") -> list[tuple[str, Parm]]:
    """Every parm with its characteristic path: [("AADJ", Parm("BPRT", ...)), ...]."""
    found = []
    for node in nodes:
        path = f"{prefix}/{node.type}" if prefix else node.type
        for child in node.children:
            if isinstance(child, Parm):
                found.append((path, child))
            else:
                found.extend(walk((child,), path))
    return found
