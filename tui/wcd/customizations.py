"""customizations.xml, the Windows Configuration Designer (WCD) project format: write and read.

Written byte for byte as WCD writes it: UTF-8 BOM, CRLF, two-space indent, no final
newline, empty values as ``<X></X>``. Read with lxml (no DTDs, no entities, no network).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lxml import etree

from tui import safexml
from tui.errors import UserError
from tui.project.model import (
    Application,
    Certificate,
    JoinKind,
    LocalUser,
    OwnerType,
    PackageConfig,
    Project,
    Wifi,
    WifiSecurity,
)
from tui.safefile import write_atomic
from tui.wcd.settings import (
    AZURE,
    CLEAN_PC,
    COMMAND,
    COMPUTER,
    HIDE_OOBE,
    PRODUCT_KEY,
    ROOT_CERT,
    SHARED_PC,
    SHARED_PC_ACCOUNT_MANAGER,
    SHARED_PC_ACCOUNT_MODEL,
    TRUSTED_APPS,
    USER,
    WLAN,
    Setting,
    project_settings,
    split_path,
)

PACKAGE_NS = "urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0"
SETTINGS_NS = "urn:schemas-microsoft-com:windows-provisioning"
ROOT = "WindowsCustomizations"
ROOT_MISSPELLED = "WindowsCustomizatons"  # as some Microsoft samples spell it
CUSTOMIZATIONS_FILE = "customizations.xml"
BOM = b"\xef\xbb\xbf"
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

# The attribute that keys each list element, as WCD 2025 writes it. Older WCD versions add
# a Name attribute with the same value; CommandConfig and Dependency are keyed by Name.
KEY_ATTRIBUTES = {
    "User": "UserName",
    "WLANConfig": "SSID",
    "CommandConfig": "Name",
    "Dependency": "Name",
    "RootCertificate": "CertificateName",
}
DNS_COMPUTER_NAME = "DevDetail/DNSComputerName"
MAX_RANK_DIGITS = 9  # WCD's Rank is 0-99
_APP_LEAVES = {
    "CommandFile",
    "CommandLine",
    "ContinueInstall",
    "RestartRequired",
    "ReturnCodeRestart",
    "ReturnCodeSuccess",
}


# --- a tiny element tree that serializes exactly like WCD --------------------------------


@dataclass
class _Element:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Element] = field(default_factory=list)
    text: str | None = None
    # (name, key) -> child made by child(): keeps building linear in the number of settings
    _made: dict[tuple[str, str | None], _Element] = field(default_factory=dict, repr=False)

    def child(self, name: str, key: str | None = None) -> _Element:
        """The child with this name and key made before, or a new one appended."""
        found = self._made.get((name, key))
        if found is None:
            attrs = {} if key is None else {KEY_ATTRIBUTES.get(name, "Name"): key}
            found = self._made[(name, key)] = _Element(name, attrs)
            self.children.append(found)
        return found


def _escape(text: str, *, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        text = text.replace('"', "&quot;")
    return text.replace("\r", "&#xD;")


def _lines(element: _Element, depth: int, out: list[str]) -> list[str]:
    """Append the element's lines to ``out`` (one list for the whole document: linear)."""
    pad = "  " * depth
    attrs = "".join(f' {k}="{_escape(v, attribute=True)}"' for k, v in element.attrs.items())
    if element.children:
        out.append(f"{pad}<{element.name}{attrs}>")
        for c in element.children:
            _lines(c, depth + 1, out)
        out.append(f"{pad}</{element.name}>")
    elif element.text is None:
        out.append(f"{pad}<{element.name}{attrs} />")
    else:
        out.append(f"{pad}<{element.name}{attrs}>{_escape(element.text)}</{element.name}>")
    return out


def _document(root: _Element) -> bytes:
    return BOM + "\r\n".join(_lines(root, 0, [DECLARATION])).encode("utf-8")


def _settings_element(settings: list[Setting], *, keep_name_attributes: bool) -> _Element:
    root = _Element("Settings", {"xmlns": SETTINGS_NS})
    common = root.child("Customizations").child("Common")
    for setting in settings:
        node = common
        for name, key in split_path(setting.path):
            node = node.child(name, key)
        node.text = setting.value
    return root if keep_name_attributes else _without_names(root)


def _without_names(element: _Element) -> _Element:
    """The AnswerFile form: every Name attribute dropped (as the real samples show)."""
    return _Element(
        element.name,
        {k: v for k, v in element.attrs.items() if k != "Name"},
        [_without_names(c) for c in element.children],
        element.text,
    )


def _package_element(package: PackageConfig) -> _Element:
    root = _Element("PackageConfig", {"xmlns": PACKAGE_NS})
    for name, value in (
        ("ID", package.id),
        ("Name", package.name),
        ("Version", package.version),
        ("OwnerType", package.owner_type.value),
        ("Rank", str(package.rank)),
        ("Notes", package.description),
    ):
        root.children.append(_Element(name, text=value))
    return root


def customizations_document(
    package: PackageConfig, settings: list[Setting], *, answer_file: bool = False
) -> bytes:
    """Any settings (also ones the project does not model) as customizations.xml, or with
    ``answer_file`` as AnswerFile.xml. ``settings`` must already be in WCD's order."""
    tree = _settings_element(settings, keep_name_attributes=not answer_file)
    if answer_file:
        return _document(tree)
    return _document(_Element(ROOT, children=[_package_element(package), tree]))


def to_customizations_xml(project: Project) -> bytes:
    """The project as WCD's customizations.xml."""
    return customizations_document(project.package, project_settings(project))


def answer_file_xml(project: Project) -> bytes:
    """The ``<Settings>`` part as a package's CommonSettings/1/AnswerFile.xml holds it."""
    return customizations_document(project.package, project_settings(project), answer_file=True)


def icdproj_xml(project: Project) -> bytes:
    """``<name>.icdproj.xml``, the WCD project file that points at customizations.xml."""
    pkg = project.package
    root = _Element(
        "ICDProject",
        {
            "Name": pkg.name,
            "Version": pkg.version,
            "Id": pkg.id,
            "TemplateType": "ProvisioningPackage",
        },
        children=[
            _Element("Description", text=pkg.description),
            _Element("CustomizationFile", text=CUSTOMIZATIONS_FILE),
        ],
    )
    return _document(root)


def export_wcd(project: Project, directory: Path) -> list[Path]:
    """Write customizations.xml and <name>.icdproj.xml into ``directory`` (created if needed)."""
    from tui.project.rules import check_field  # the package name becomes a file name here

    directory = Path(directory)
    if problem := check_field(project, "package.name", today=date.today()):
        raise UserError(problem)
    try:
        files = [
            (directory / CUSTOMIZATIONS_FILE, to_customizations_xml(project)),
            (directory / f"{project.package.name}.icdproj.xml", icdproj_xml(project)),
        ]
    except UnicodeEncodeError:
        raise UserError(
            "Cannot write the WCD project: a value holds a character that is not valid text."
        ) from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, data in files:
            write_atomic(path, data)
    except OSError as exc:
        raise UserError(
            f"Cannot write the WCD project to {directory}: {exc.strerror or exc}."
        ) from None
    return [path for path, _ in files]


# --- reading -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    project: Project
    unknown: list[str]  # setting paths this project does not model, reported to the user


def _parse(data: bytes, source: str) -> etree._Element:
    try:
        root = safexml.parse(data)
    except safexml.XmlRefused as exc:
        if exc.line:
            raise UserError(f"{source}: line {exc.line}: {exc}.") from None
        raise UserError(f"{source} is {exc}.") from None
    if etree.QName(root).localname not in (ROOT, ROOT_MISSPELLED, "Settings"):
        raise UserError(
            f"{source} is not a customizations.xml: its root element is "
            f"<{etree.QName(root).localname}>, expected <{ROOT}>."
        )
    return root


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _find(parent: etree._Element, name: str) -> etree._Element | None:
    for child in parent:
        if isinstance(child.tag, str) and _local(child) == name:
            return child
    return None


def _item_key(element: etree._Element) -> str | None:
    """The list key of an element: its WCD key attribute, else any attribute, else Name."""
    name = _local(element)
    attrs = dict(element.attrib)
    if name in KEY_ATTRIBUTES and KEY_ATTRIBUTES[name] in attrs:
        return attrs[KEY_ATTRIBUTES[name]]
    for attr, value in attrs.items():
        if attr != "Name" and not attr.startswith("{"):
            return value
    return attrs.get("Name")


def _leaves(element: etree._Element, prefix: str) -> list[Setting]:
    out = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        key = _item_key(child)
        segment = _local(child) if key is None else f"{_local(child)}[{key}]"
        path = f"{prefix}/{segment}" if prefix else segment
        if any(isinstance(c.tag, str) for c in child):
            out += _leaves(child, path)
        else:
            out.append(Setting(path, child.text or ""))
    return out


def _common(root: etree._Element) -> etree._Element | None:
    settings = root if _local(root) == "Settings" else _find(root, "Settings")
    customizations = _find(settings, "Customizations") if settings is not None else None
    return _find(customizations, "Common") if customizations is not None else None


def flatten_settings(data: bytes, *, source: str) -> list[Setting]:
    """Every leaf setting under Settings/Customizations/Common of any customizations.xml
    (or AnswerFile.xml), including settings this project does not model."""
    return settings_of(_parse(data, source))


def settings_of(root: etree._Element) -> list[Setting]:
    """flatten_settings of a document already parsed (by safexml.parse)."""
    common = _common(root)
    return [] if common is None else _leaves(common, "")


def _text(parent: etree._Element, name: str, *, strip: bool = True) -> str | None:
    element = _find(parent, name)
    if element is None:
        return None
    return (element.text or "").strip() if strip else element.text or ""


def _package_config(root: etree._Element, source: str) -> PackageConfig:
    pc = _find(root, "PackageConfig")
    package = PackageConfig()
    if pc is None:
        return package
    package.id = _text(pc, "ID") or package.id
    package.name = _text(pc, "Name") or ""
    package.version = _text(pc, "Version") or package.version
    package.description = _text(pc, "Notes", strip=False) or ""
    owner = _text(pc, "OwnerType")
    if owner:
        try:
            package.owner_type = OwnerType(owner)
        except ValueError:
            raise UserError(
                f"{source}: OwnerType {owner!r} is not one of "
                f"{', '.join(o.value for o in OwnerType)}."
            ) from None
    rank = _text(pc, "Rank")
    if rank:
        if not (rank.isascii() and rank.isdigit()):
            raise UserError(f"{source}: Rank must be a whole number (found {rank[:20]!r}).")
        if len(rank) > MAX_RANK_DIGITS:
            raise UserError(
                f"{source}: Rank must be a whole number of at most {MAX_RANK_DIGITS} digits."
            )
        package.rank = int(rank)
    return package


class _Reader:
    """Fills a Project from flat settings; what it does not know goes to ``unknown``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.project = Project()
        self.project.hide_oobe = False
        self.project.allow_all_trusted_apps = False
        self.project.join = JoinKind.NONE
        self.unknown: list[str] = []
        self._users: dict[str, LocalUser] = {}
        self._apps: dict[str, Application] = {}
        self._certs: dict[str, Certificate] = {}
        self._shared_pc_accounts: list[Setting] = []

    def _bool(self, setting: Setting) -> bool:
        value = setting.value.lower()
        if value not in ("true", "false", "yes", "no"):
            raise UserError(f"{self.source}: {setting.path} must be True or False.")
        return value in ("true", "yes")

    def _int(self, setting: Setting) -> int:
        try:
            if len(setting.value) > 20:  # a return code is 32 bits; int() refuses 4,301 digits
                raise ValueError
            return int(setting.value)
        except ValueError:
            raise UserError(f"{self.source}: {setting.path} must be a whole number.") from None

    def read(self, setting: Setting) -> None:
        parts = split_path(setting.path)
        base = "/".join(name for name, _ in parts[:-1])
        leaf, key = parts[-1]
        if not self._read(setting, base, leaf, key, parts):
            self.unknown.append(setting.path)

    def _read(self, s: Setting, base: str, leaf: str, key: str | None, parts: list) -> bool:
        p = self.project
        path = "/".join(name for name, _ in parts)
        if base == AZURE and leaf in ("Authority", "BPRT"):
            p.join = JoinKind.ENTRA
            setattr(p.entra, "authority" if leaf == "Authority" else "bprt", s.value)
            return True
        if base == COMPUTER:
            if leaf == "ComputerName":
                p.device.name = s.value
                return True
            attr = {"Account": "account", "AccountOU": "ou", "DomainName": "domain"}.get(leaf)
            attr = attr or ("password" if leaf == "Password" else None)
            if attr:
                if p.join != JoinKind.ENTRA:
                    p.join = JoinKind.ACTIVE_DIRECTORY
                setattr(p.domain, attr, s.value)
                return True
            return False
        item_key = parts[-2][1] if len(parts) >= 2 else None
        if base == USER and item_key is not None and leaf in ("Password", "UserGroup"):
            user = self._users.setdefault(item_key, LocalUser(name=item_key))
            if leaf == "Password":
                user.password = s.value
            else:
                user.group = s.value
            return True
        if base == ROOT_CERT and item_key is not None and leaf == "CertificatePath":
            self._certs.setdefault(item_key, Certificate(name=item_key)).path = s.value
            return True
        if path == DNS_COMPUTER_NAME:
            # WCD's simple editor writes this form on 2004+; we write ComputerName back,
            # the form a real package shows working on every Windows 10/11 build.
            p.device.name = s.value
            return True
        if path == CLEAN_PC:
            p.device.remove_preinstalled = self._bool(s)
            return True
        if path == SHARED_PC:
            p.device.shared_pc = self._bool(s)
            return True
        if path in (SHARED_PC_ACCOUNT_MODEL, SHARED_PC_ACCOUNT_MANAGER):
            self._shared_pc_accounts.append(s)  # checked in finish(), once the join is known
            return True
        if path == PRODUCT_KEY:
            p.device.product_key = s.value
            return True
        if path == HIDE_OOBE:
            p.hide_oobe = self._bool(s)
            return True
        if path == TRUSTED_APPS:
            p.allow_all_trusted_apps = self._bool(s)
            return True
        if path.startswith(WLAN + "/WLANXmlSettings/"):
            return self._wifi(s, parts)
        if path.startswith(COMMAND + "/"):
            return self._command(s, parts)
        return False

    def _wifi(self, s: Setting, parts: list) -> bool:
        ssid = parts[3][1]
        leaf = parts[-1][0]
        if ssid is None or len(parts) != 6:
            return False
        p = self.project
        if p.wifi is None:
            p.wifi = Wifi(ssid=ssid, security=WifiSecurity.OPEN)
        elif p.wifi.ssid != ssid:
            return False  # this project models one network; further ones are reported
        if leaf == "AutoConnect":
            p.wifi.auto_connect = self._bool(s)
        elif leaf == "HiddenNetwork":
            p.wifi.hidden = self._bool(s)
        elif leaf == "SecurityKey":
            p.wifi.key = s.value
        elif leaf == "SecurityType":
            try:
                p.wifi.security = WifiSecurity(s.value)
            except ValueError:
                return False  # e.g. WEP: obsolete, not modelled
        else:
            return False
        return True

    def _command(self, s: Setting, parts: list) -> bool:
        name = parts[3][1]
        if name is None:
            return False
        leaf = parts[-1][0]
        is_dependency = len(parts) == 6 and parts[4][0] == "DependencyPackages"
        if not (is_dependency and leaf == "Dependency" or len(parts) == 5 and leaf in _APP_LEAVES):
            return False
        app = self._apps.setdefault(name, Application(name=name, dependencies=[]))
        if is_dependency:
            app.dependencies.append(s.value)
            return True
        if leaf == "CommandFile":
            app.file = s.value
        elif leaf == "CommandLine":
            app.command_line = s.value
        elif leaf == "ContinueInstall":
            app.continue_install = self._bool(s)
        elif leaf == "RestartRequired":
            app.restart_required = self._bool(s)
        elif leaf == "ReturnCodeRestart":
            app.return_code_restart = self._int(s)
        else:
            app.return_code_success = self._int(s)
        return True

    def finish(self) -> Project:
        self.project.local_users = list(self._users.values())
        self.project.applications = list(self._apps.values())
        self.project.certificates = list(self._certs.values())
        # Shared-PC account settings are derived from the join; others are not modelled.
        settings = project_settings(self.project)
        written = {s.path: s.value for s in settings if s.path.startswith("SharedPC/")}
        for s in self._shared_pc_accounts:
            if written.get(s.path, "").casefold() != s.value.casefold():
                self.unknown.append(s.path)
        return self.project


def load_customizations(path: Path) -> ImportResult:
    """read_customizations of a file: only a regular one, of at most safexml.MAX_BYTES."""
    from tui.safefile import read_regular

    return read_customizations(read_regular(path, safexml.MAX_BYTES, str(path)), source=str(path))


def read_customizations(data: bytes, *, source: str) -> ImportResult:
    """A project from a WCD customizations.xml; settings it does not model are listed."""
    root = _parse(data, source)
    reader = _Reader(source)
    reader.project.package = _package_config(root, source)
    common = _common(root)
    for setting in [] if common is None else _leaves(common, ""):
        reader.read(setting)
    return ImportResult(reader.finish(), reader.unknown)
