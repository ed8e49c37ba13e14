"""Reading customizations.xml (or AnswerFile.xml): its settings, and a project from them.

Read with lxml through safexml (no DTDs, no entities, no network). Each element is a path
segment and a list item's key is its attribute, so paths come out structured
(:class:`~tui.wcd.paths.SettingPath`), whatever characters a key holds. What a setting means
comes from the catalogue (tui.wcd.catalogue): a setting the project models fills its field;
one the catalogue knows that the model has no field for is kept as an *extra* setting (it
builds, through the same compiler); one the catalogue does not know is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
from tui.wcd import catalogue
from tui.wcd.paths import SettingPath, names, path, shape
from tui.wcd.settings import Setting, project_settings

PACKAGE_NS = "urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0"
SETTINGS_NS = "urn:schemas-microsoft-com:windows-provisioning"
ROOT = "WindowsCustomizations"
ROOT_MISSPELLED = "WindowsCustomizatons"  # as some Microsoft samples spell it
CUSTOMIZATIONS_FILE = "customizations.xml"

# The attribute that keys each list element, as WCD 2025 writes it. Older WCD versions add
# a Name attribute with the same value; CommandConfig and Dependency are keyed by Name.
KEY_ATTRIBUTES = {
    "User": "UserName",
    "WLANConfig": "SSID",
    "CommandConfig": "Name",
    "Dependency": "Name",
    "RootCertificate": "CertificateName",
}
DNS_COMPUTER_NAME = path("DevDetail/DNSComputerName")
MAX_RANK_DIGITS = 9  # WCD's Rank is 0-99
_COMMAND = "ProvisioningCommands/PrimaryContext/Command/CommandConfig[]/"
_WLAN = "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig[]/WLANXmlSettings/"
_TRUE, _FALSE = ("true", "yes"), ("false", "no")


@dataclass
class ImportResult:
    project: Project
    unknown: list[str]  # settings bulk-enroll does not model, as shown to the user
    # settings the catalogue knows that the project has no field for: they build as they are
    extra: list[Setting] = field(default_factory=list)


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


def _leaves(element: etree._Element, prefix: SettingPath) -> list[Setting]:
    out = []
    for child in element:
        if not isinstance(child.tag, str):
            continue
        here = prefix + ((_local(child), _item_key(child)),)
        if any(isinstance(c.tag, str) for c in child):
            out += _leaves(child, here)
        else:
            out.append(Setting(here, child.text or ""))
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
    return [] if common is None else _leaves(common, path())


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
    """Fills a Project from settings; what it does not model goes to ``extra`` or ``unknown``."""

    def __init__(self, source: str, keep_extra: bool) -> None:
        self.source = source
        self.keep_extra = keep_extra
        self.project = Project()
        self.project.hide_oobe = False
        self.project.allow_all_trusted_apps = False
        self.project.join = JoinKind.NONE
        self.unknown: list[str] = []
        self.extra: list[Setting] = []
        self._users: dict[str, LocalUser] = {}
        self._apps: dict[str, Application] = {}
        self._certs: dict[str, Certificate] = {}
        self._shared_pc_accounts: list[Setting] = []

    def _bool(self, setting: Setting) -> bool:
        value = setting.value.lower()
        if value not in _TRUE + _FALSE:
            raise UserError(f"{self.source}: {setting.path} must be True or False.")
        return value in _TRUE

    def _int(self, setting: Setting) -> int:
        try:
            if len(setting.value) > 20:  # a return code is 32 bits; int() refuses 4,301 digits
                raise ValueError
            return int(setting.value)
        except ValueError:
            raise UserError(f"{self.source}: {setting.path} must be a whole number.") from None

    def read(self, setting: Setting) -> None:
        row = catalogue.row_of(setting.path)
        if self._read(setting, shape(setting.path)):
            return
        if self.keep_extra and row is not None and row.form is not None and not row.field:
            self._check(row, setting)
            self.extra.append(setting)
        else:
            self.unknown.append(str(setting.path))

    def _check(self, row: catalogue.Row, setting: Setting) -> None:
        """A setting kept as it is must hold a value its provisioning form knows."""
        known = dict(row.form.values) if row.form else {}
        if known and setting.value.casefold() not in known:
            raise UserError(f"{self.source}: {setting.path} must be {row.rule}.")

    def _read(self, s: Setting, at: str) -> bool:
        p = self.project
        leaf = s.path[-1][0]
        keys = [key for _, key in s.path if key is not None]
        if at in ("Accounts/Azure/Authority", "Accounts/Azure/BPRT"):
            p.join = JoinKind.ENTRA
            setattr(p.entra, "authority" if leaf == "Authority" else "bprt", s.value)
            return True
        if at in ("Accounts/ComputerAccount/ComputerName", "DevDetail/DNSComputerName"):
            # WCD's simple editor writes DNSComputerName on 2004+; we write ComputerName back,
            # the form a real package shows working on every Windows 10/11 build.
            p.device.name = s.value
            return True
        domain = {"Account": "account", "AccountOU": "ou", "DomainName": "domain"}
        if at in {f"Accounts/ComputerAccount/{name}" for name in (*domain, "Password")}:
            if p.join != JoinKind.ENTRA:
                p.join = JoinKind.ACTIVE_DIRECTORY
            setattr(p.domain, domain.get(leaf, "password"), s.value)
            return True
        if at in ("Accounts/Users/User[]/Password", "Accounts/Users/User[]/UserGroup"):
            user = self._users.setdefault(keys[0], LocalUser(name=keys[0]))
            if leaf == "Password":
                user.password = s.value
            else:
                user.group = s.value
            return True
        if at == "Certificates/RootCertificates/RootCertificate[]/CertificatePath":
            self._certs.setdefault(keys[0], Certificate(name=keys[0])).path = s.value
            return True
        flags = {
            "CleanPC/CleanPCWithoutRetainingUserData": (p.device, "remove_preinstalled"),
            "SharedPC/EnableSharedPCMode": (p.device, "shared_pc"),
            "OOBE/Desktop/HideOobe": (p, "hide_oobe"),
            "Policies/ApplicationManagement/AllowAllTrustedApps": (p, "allow_all_trusted_apps"),
            **{r.shape: (p, r.field) for r in catalogue.policy_rows()},
        }
        if at in flags:
            setattr(*flags[at], self._bool(s))
            return True
        if at.startswith("SharedPC/AccountManagement/"):
            if catalogue.row_of(s.path) is None:
                return False
            self._shared_pc_accounts.append(s)  # checked in finish(), once the join is known
            return True
        if at == "EditionUpgrade/UpgradeEditionWithProductKey":
            p.device.product_key = s.value
            return True
        if at.startswith(_WLAN):
            return self._wifi(s, keys[0], leaf)
        if at.startswith(_COMMAND):
            return self._command(s, keys[0], at.removeprefix(_COMMAND))
        return False

    def _wifi(self, s: Setting, ssid: str, leaf: str) -> bool:
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

    def _command(self, s: Setting, name: str, leaf: str) -> bool:
        if catalogue.row_of(s.path) is None:
            return False
        app = self._apps.setdefault(name, Application(name=name, dependencies=[]))
        if leaf == "DependencyPackages/Dependency[]":
            app.dependencies.append(s.value)
        elif leaf == "CommandFile":
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
        written = {s.path: s.value for s in settings if names(s.path).startswith("SharedPC/")}
        for s in self._shared_pc_accounts:
            if written.get(s.path, "").casefold() != s.value.casefold():
                self.unknown.append(str(s.path))
        return self.project


def load_customizations(file: Path) -> ImportResult:
    """read_customizations of a file into a project alone (the app's import: a project holds
    no extra settings, so those are listed with the unknown ones); only a regular file, of at
    most safexml.MAX_BYTES."""
    from tui.safefile import read_regular

    data = read_regular(file, safexml.MAX_BYTES, str(file))
    return read_customizations(data, source=str(file), keep_extra=False)


def read_customizations(data: bytes, *, source: str, keep_extra: bool = True) -> ImportResult:
    """A project from a WCD customizations.xml; settings it does not model are listed (in
    ``extra`` those the catalogue can build as they are, unless ``keep_extra`` is False)."""
    root = _parse(data, source)
    reader = _Reader(source, keep_extra)
    reader.project.package = _package_config(root, source)
    for setting in settings_of(root):
        reader.read(setting)
    return ImportResult(reader.finish(), reader.unknown, reader.extra)
