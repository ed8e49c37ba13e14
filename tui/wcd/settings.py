"""The settings a project produces: customizations.xml paths (structured) and text values.

A path is a :class:`~tui.wcd.paths.SettingPath` relative to ``Settings/Customizations/Common``:
``(("Accounts", None), ("Users", None), ("User", "admin"), ("Password", None))``. The order is
WCD's: at every level the elements sorted by name (as every WCD-built customizations.xml
shows), list items in the order they were added. This is the one translation of the project
model; the compiler (tui.package.compiler) and customizations.xml both start from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from tui.project import rules
from tui.project.model import JoinKind, Project, WifiSecurity
from tui.project.names import dependency_key
from tui.project.rules import Problem
from tui.wcd import catalogue
from tui.wcd.catalogue import ACCOUNT_MODELS
from tui.wcd.paths import SettingPath, child, path

__all__ = ["ACCOUNT_MODELS", "MASK", "Setting", "project_settings"]

MASK = "••••••"

# For settings the catalogue does not know (a package may carry any): the leaf names that
# hold secrets (Workplace enrollment Secret, e-mail passwords...).
_SECRET_LEAVES = {"BPRT", "Password", "SecurityKey", "Secret", "KeyMaterial", "PSK"}
_SECRET_SUFFIXES = ("Password", "Secret", "Key")
_NOT_SECRET = {"UpgradeEditionWithProductKey"}  # a product key is a licence, shown by WCD too

AZURE = path("Accounts/Azure")
COMPUTER = path("Accounts/ComputerAccount")
USERS = path("Accounts/Users")
ROOT_CERTS = path("Certificates/RootCertificates")
CLEAN_PC = path("CleanPC/CleanPCWithoutRetainingUserData")
WLAN = path("ConnectivityProfiles/WLAN/WLANSetting")
PRODUCT_KEY = path("EditionUpgrade/UpgradeEditionWithProductKey")
HIDE_OOBE = path("OOBE/Desktop/HideOobe")
TRUSTED_APPS = path("Policies/ApplicationManagement/AllowAllTrustedApps")
COMMANDS = path("ProvisioningCommands/PrimaryContext/Command")
SHARED_PC = path("SharedPC/EnableSharedPCMode")
SHARED_PC_ACCOUNT_MODEL = path("SharedPC/AccountManagement/AccountModel")
SHARED_PC_ACCOUNT_MANAGER = path("SharedPC/AccountManagement/EnableAccountManager")
# The settings a package gets with no field of the wizard for them, and why: shown on the
# review step as "added by bulk-enroll".
ADDED_BY_BULK_ENROLL = {
    path(r.shape): r.added for r in catalogue.ROWS if r.added and "[]" not in r.shape
}


@dataclass(frozen=True)
class Setting:
    path: SettingPath
    value: str

    def __repr__(self) -> str:
        shown = MASK if is_secret(self.path) and self.value else repr(self.value)
        return f"Setting({str(self.path)!r}, {shown})"


def user(name: str) -> SettingPath:
    return child(USERS, ("User", name))


def root_cert(name: str) -> SettingPath:
    return child(ROOT_CERTS, ("RootCertificate", name))


def wlan(ssid: str) -> SettingPath:
    return child(WLAN, ("WLANConfig", ssid), "WLANXmlSettings")


def command(name: str) -> SettingPath:
    return child(COMMANDS, ("CommandConfig", name))


def is_secret(p: SettingPath) -> bool:
    """Whether a setting at this path holds a secret (token, password, key)."""
    if (row := catalogue.row_of(p)) is not None:
        return row.secret
    leaf = p[-1][0] if p else ""
    if leaf in _NOT_SECRET:
        return False
    return leaf in _SECRET_LEAVES or leaf.endswith(_SECRET_SUFFIXES)


def is_secret_name(name: str) -> bool:
    """Whether a leaf of this name holds a secret, wherever it is (provxml parm names)."""
    return is_secret(path(name))


def mask(setting: Setting) -> Setting:
    """The setting with its value hidden when it is a secret."""
    if is_secret(setting.path) and setting.value:
        return Setting(setting.path, MASK)
    return setting


def wcd_order(settings: Iterable[Setting]) -> list[Setting]:
    """Sorted as WCD writes them: by element name at every level, list items kept in order."""
    settings = list(settings)
    first_seen: dict[tuple, int] = {}
    for s in settings:
        for i in range(len(s.path)):
            first_seen.setdefault(tuple(s.path[: i + 1]), len(first_seen))

    def sort_key(s: Setting) -> list[tuple[str, int]]:
        return [
            (name, first_seen[tuple(s.path[: i + 1])] if key is not None else 0)
            for i, (name, key) in enumerate(s.path)
        ]

    return sorted(settings, key=sort_key)


def shared_pc_account_model(project: Project) -> int:
    """The SharedPC AccountModel a shared device gets: directory accounts when the package
    joins one (the CSP default, 0, would let only guests sign in), else guests only."""
    return 1 if project.join != JoinKind.NONE else 0


def _flag(value: bool) -> str:
    return "True" if value else "False"


def yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _raw_settings(project: Project) -> Iterator[tuple[SettingPath, str]]:
    if project.join == JoinKind.ENTRA:
        yield child(AZURE, "Authority"), project.entra.authority
        if project.entra.bprt:
            yield child(AZURE, "BPRT"), project.entra.bprt
    if project.join == JoinKind.ACTIVE_DIRECTORY:
        domain = project.domain
        yield child(COMPUTER, "Account"), domain.account
        if domain.ou:
            yield child(COMPUTER, "AccountOU"), domain.ou
        yield child(COMPUTER, "DomainName"), domain.domain
        yield child(COMPUTER, "Password"), domain.password
    if project.device.name:
        yield child(COMPUTER, "ComputerName"), project.device.name
    for u in project.local_users:
        yield child(user(u.name), "Password"), u.password
        yield child(user(u.name), "UserGroup"), u.group
    for cert in project.certificates:
        yield child(root_cert(cert.name), "CertificatePath"), cert.path
    if project.device.remove_preinstalled:
        yield CLEAN_PC, "True"
    if (wifi := project.wifi) is not None:
        base = wlan(wifi.ssid)
        yield child(base, "AutoConnect"), _flag(wifi.auto_connect)
        yield child(base, "HiddenNetwork"), _flag(wifi.hidden)
        if wifi.security != WifiSecurity.OPEN:
            yield child(base, "SecurityKey"), wifi.key
        yield child(base, "SecurityType"), wifi.security.value
    if project.device.product_key:
        yield PRODUCT_KEY, project.device.product_key
    if project.hide_oobe:
        yield HIDE_OOBE, "True"
    if project.allow_all_trusted_apps:
        yield TRUSTED_APPS, "Yes"
    for row in catalogue.policy_rows():
        if (value := getattr(project, row.field)) is not None:
            yield path(row.shape), yes_no(value)
    for app in project.applications:
        base = command(app.name)
        yield child(base, "CommandFile"), app.file
        yield child(base, "CommandLine"), app.command_line
        yield child(base, "ContinueInstall"), _flag(app.continue_install)
        for dep in app.dependencies:
            yield child(base, "DependencyPackages", ("Dependency", dependency_key(dep))), dep
        yield child(base, "RestartRequired"), _flag(app.restart_required)
        yield child(base, "ReturnCodeRestart"), str(app.return_code_restart)
        yield child(base, "ReturnCodeSuccess"), str(app.return_code_success)
    if project.device.shared_pc:
        yield SHARED_PC_ACCOUNT_MODEL, ACCOUNT_MODELS[shared_pc_account_model(project)]
        yield SHARED_PC_ACCOUNT_MANAGER, "True"
        yield SHARED_PC, "True"


def added_by_bulk_enroll(p: SettingPath) -> str | None:
    """Why bulk-enroll adds the setting at ``p`` itself, or None if a field sets it."""
    return ADDED_BY_BULK_ENROLL.get(p)


def project_settings(project: Project) -> list[Setting]:
    """Every setting the project produces, in WCD's order."""
    return wcd_order(Setting(p, value) for p, value in _raw_settings(project))


def warnings(project: Project, *, today: date) -> list[Problem]:
    """The rules' warnings, then one for each setting whose package form the catalogue marks
    with a caution (derived from documentation, or experimental): what the review step and
    ``bulk-enroll build`` show."""
    found = rules.warnings(project, today=today)
    cautions = catalogue.cautions(s.path for s in project_settings(project))
    return found + [Problem(f, f"{rules.label(f)}: {text}") for f, text in cautions]
