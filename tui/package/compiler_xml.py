"""Provisioning XML (provxml) documents: their model, exact rendering, the index documents.

A :class:`ProvDoc` is one WCD "settings group": its file stem (``Accounts_Azure``), its
SettingsGroup GUID and the characteristic tree it holds; :func:`render` gives the exact bytes
ICD writes (UTF-8 BOM, ``standalone="yes"``, CRLF, two-space indent, `` />``, no final
newline). tui.package.compiler makes the documents from settings.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from tui.project.model import Wifi, WifiSecurity
from tui.project.names import FILE_NAME_FORBIDDEN
from tui.wcd import catalogue
from tui.wcd.settings import MASK, is_secret_name

BOM = b"\xef\xbb\xbf"
CRLF = "\r\n"

# For settings whose GUID no public package shows we use a name-based (version 5) UUID of the
# customizations path in a namespace of our own: stable across builds, never colliding with
# WCD's (whose namespace is unknown).
DERIVED_GROUP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bulk-enroll:settings-group")


def derived_group(settings_path: str) -> str:
    return str(uuid.uuid5(DERIVED_GROUP_NAMESPACE, settings_path))


WLAN_NAMESPACE = "http://www.microsoft.com/networking/WLAN/profile/v1"
# Parm names that hold secrets beyond settings.is_secret's: those of the catalogue's secret
# settings (BPRT; WlanXml, which carries the Wi-Fi key).
SECRET_PARMS = frozenset(
    f.parm for r in catalogue.ROWS if r.secret for f in (r.form, r.stage_form) if f
)


def is_secret_parm(name: str) -> bool:
    """Whether a parm of this name holds a secret (WlanXml carries the Wi-Fi key)."""
    return name in SECRET_PARMS or is_secret_name(name)


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
