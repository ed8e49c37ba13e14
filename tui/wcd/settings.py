"""The settings a project produces, as customizations.xml paths and text values.

A path is relative to ``Settings/Customizations/Common``; a list item is addressed by its
key in brackets: ``Accounts/Users/User[admin]/Password``. The order is WCD's: at every level
the elements sorted by name (as every WCD-built customizations.xml shows), list items in the
order they were added.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PureWindowsPath

from tui.project.model import JoinKind, Project, WifiSecurity

MASK = "••••••"

# The leaf names that hold secrets, in the settings this project writes and in other
# WCD settings a package may carry (Workplace enrollment Secret, e-mail passwords...).
_SECRET_LEAVES = {"BPRT", "Password", "SecurityKey", "Secret", "KeyMaterial", "PSK"}
_SECRET_SUFFIXES = ("Password", "Secret", "Key")
_NOT_SECRET = {"UpgradeEditionWithProductKey"}  # a product key is a licence, shown by WCD too
_SEGMENT = re.compile(r"([^/\[\]]+)(?:\[(.*?)\])?(?:/|$)")

AZURE = "Accounts/Azure"
COMPUTER = "Accounts/ComputerAccount"
USER = "Accounts/Users/User"
ROOT_CERT = "Certificates/RootCertificates/RootCertificate"
CLEAN_PC = "CleanPC/CleanPCWithoutRetainingUserData"
WLAN = "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig"
PRODUCT_KEY = "EditionUpgrade/UpgradeEditionWithProductKey"
HIDE_OOBE = "OOBE/Desktop/HideOobe"
TRUSTED_APPS = "Policies/ApplicationManagement/AllowAllTrustedApps"
COMMAND = "ProvisioningCommands/PrimaryContext/Command/CommandConfig"
SHARED_PC = "SharedPC/EnableSharedPCMode"
SHARED_PC_ACCOUNT_MODEL = "SharedPC/AccountManagement/AccountModel"
SHARED_PC_ACCOUNT_MANAGER = "SharedPC/AccountManagement/EnableAccountManager"
# The settings a package gets with no field of the wizard for them, and why: shown on the
# review step as "added by bulk-enroll".
ADDED_BY_BULK_ENROLL = {
    f"{AZURE}/Authority": "Microsoft's sign-in address, which the bulk token is for",
    HIDE_OOBE: "as WCD's desktop wizard: Windows setup skips the screens the package answers",
    TRUSTED_APPS: "as WCD's desktop wizard: apps signed by a trusted certificate may install",
    SHARED_PC_ACCOUNT_MODEL: "shared use: who may sign in",
    SHARED_PC_ACCOUNT_MANAGER: "shared use: accounts are managed (removed when space runs low)",
}
# WCD's names for the SharedPC CSP's AccountModel values (0, 1, 2).
ACCOUNT_MODELS = ("Only guest", "Domain-joined only", "Domain-joined and guest")


@dataclass(frozen=True)
class Setting:
    path: str
    value: str

    def __repr__(self) -> str:
        shown = MASK if is_secret(self.path) and self.value else repr(self.value)
        return f"Setting({self.path!r}, {shown})"


def split_path(path: str) -> list[tuple[str, str | None]]:
    """``"A/B[k]/C"`` -> ``[("A", None), ("B", "k"), ("C", None)]``."""
    return [(m.group(1), m.group(2)) for m in _SEGMENT.finditer(path) if m.group(0)]


def join_path(parts: Iterable[tuple[str, str | None]]) -> str:
    return "/".join(name if key is None else f"{name}[{key}]" for name, key in parts)


def is_secret(path: str) -> bool:
    """Whether a setting at this path holds a secret (token, password, key)."""
    leaf = split_path(path)[-1][0] if path else ""
    if leaf in _NOT_SECRET:
        return False
    return leaf in _SECRET_LEAVES or leaf.endswith(_SECRET_SUFFIXES)


def mask(setting: Setting) -> Setting:
    """The setting with its value hidden when it is a secret."""
    if is_secret(setting.path) and setting.value:
        return Setting(setting.path, MASK)
    return setting


def wcd_order(settings: Iterable[Setting]) -> list[Setting]:
    """Sorted as WCD writes them: by element name at every level, list items kept in order."""
    settings = list(settings)
    first_seen: dict[tuple[str, str], int] = {}
    for s in settings:
        parent = ""
        for name, key in split_path(s.path):
            segment = name if key is None else f"{name}[{key}]"
            first_seen.setdefault((parent, segment), len(first_seen))
            parent = f"{parent}/{segment}"

    def sort_key(s: Setting) -> list[tuple[str, int]]:
        parent, key_parts = "", []
        for name, key in split_path(s.path):
            segment = name if key is None else f"{name}[{key}]"
            key_parts.append((name, first_seen[(parent, segment)] if key is not None else 0))
            parent = f"{parent}/{segment}"
        return key_parts

    return sorted(settings, key=sort_key)


def shared_pc_account_model(project: Project) -> int:
    """The SharedPC AccountModel a shared device gets: directory accounts when the package
    joins one (the CSP default, 0, would let only guests sign in), else guests only."""
    return 1 if project.join != JoinKind.NONE else 0


def _flag(value: bool) -> str:
    return "True" if value else "False"


def dependency_key(path: str) -> str:
    """The Name a dependency file is listed under: its file name (Windows or POSIX path)."""
    return PureWindowsPath(path).name


def _raw_settings(project: Project) -> Iterator[tuple[str, str]]:
    if project.join == JoinKind.ENTRA:
        yield f"{AZURE}/Authority", project.entra.authority
        if project.entra.bprt:
            yield f"{AZURE}/BPRT", project.entra.bprt
    if project.join == JoinKind.ACTIVE_DIRECTORY:
        domain = project.domain
        yield f"{COMPUTER}/Account", domain.account
        if domain.ou:
            yield f"{COMPUTER}/AccountOU", domain.ou
        yield f"{COMPUTER}/DomainName", domain.domain
        yield f"{COMPUTER}/Password", domain.password
    if project.device.name:
        yield f"{COMPUTER}/ComputerName", project.device.name
    for user in project.local_users:
        yield f"{USER}[{user.name}]/Password", user.password
        yield f"{USER}[{user.name}]/UserGroup", user.group
    for cert in project.certificates:
        yield f"{ROOT_CERT}[{cert.name}]/CertificatePath", cert.path
    if project.device.remove_preinstalled:
        yield CLEAN_PC, "True"
    if (wifi := project.wifi) is not None:
        base = f"{WLAN}[{wifi.ssid}]/WLANXmlSettings"
        yield f"{base}/AutoConnect", _flag(wifi.auto_connect)
        yield f"{base}/HiddenNetwork", _flag(wifi.hidden)
        if wifi.security != WifiSecurity.OPEN:
            yield f"{base}/SecurityKey", wifi.key
        yield f"{base}/SecurityType", wifi.security.value
    if project.device.product_key:
        yield PRODUCT_KEY, project.device.product_key
    if project.hide_oobe:
        yield HIDE_OOBE, "True"
    if project.allow_all_trusted_apps:
        yield TRUSTED_APPS, "Yes"
    for app in project.applications:
        base = f"{COMMAND}[{app.name}]"
        yield f"{base}/CommandFile", app.file
        yield f"{base}/CommandLine", app.command_line
        yield f"{base}/ContinueInstall", _flag(app.continue_install)
        for dep in app.dependencies:
            yield f"{base}/DependencyPackages/Dependency[{dependency_key(dep)}]", dep
        yield f"{base}/RestartRequired", _flag(app.restart_required)
        yield f"{base}/ReturnCodeRestart", str(app.return_code_restart)
        yield f"{base}/ReturnCodeSuccess", str(app.return_code_success)
    if project.device.shared_pc:
        yield SHARED_PC_ACCOUNT_MODEL, ACCOUNT_MODELS[shared_pc_account_model(project)]
        yield SHARED_PC_ACCOUNT_MANAGER, "True"
        yield SHARED_PC, "True"


def added_by_bulk_enroll(path: str) -> str | None:
    """Why bulk-enroll adds the setting at ``path`` itself, or None if a field sets it."""
    return ADDED_BY_BULK_ENROLL.get(path)


def project_settings(project: Project) -> list[Setting]:
    """Every setting the project produces, in WCD's order."""
    return wcd_order(Setting(path, value) for path, value in _raw_settings(project))
