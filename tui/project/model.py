"""The provisioning project: one typed model of everything the desktop wizard asks.

Plain data only. The rules live in ``tui.project.rules``; the file format in ``tui.project.file``;
the customizations.xml form in ``tui.wcd.customizations``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from tui.project.localusers import ADMINISTRATORS


class OwnerType(StrEnum):
    MICROSOFT = "Microsoft"
    SILICON_VENDOR = "SiliconVendor"
    OEM = "OEM"
    SYSTEM_INTEGRATOR = "SystemIntegrator"
    MOBILE_OPERATOR = "MobileOperator"
    IT_ADMIN = "ITAdmin"

    @property
    def altitude(self) -> int:
        """The WIM image ALTITUDE: owner type x 1000, in the order above."""
        return list(OwnerType).index(self) * 1000


class WifiSecurity(StrEnum):
    OPEN = "Open"
    WPA2_PERSONAL = "WPA2-Personal"


class JoinKind(StrEnum):
    NONE = "none"
    ENTRA = "entra"
    ACTIVE_DIRECTORY = "ad"


DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"


class Cloud(StrEnum):
    """The Microsoft cloud the tenant lives in (its login and Graph hosts)."""

    GLOBAL = "global"
    USGOV = "usgov"
    CHINA = "china"


def new_package_id() -> str:
    """A package id as WCD writes it: lower-case GUID in braces."""
    return "{" + str(uuid.uuid4()) + "}"


@dataclass(slots=True)
class PackageConfig:
    name: str = ""
    id: str = field(default_factory=new_package_id)
    version: str = "1.0"
    owner_type: OwnerType = OwnerType.IT_ADMIN
    rank: int = 0
    description: str = ""


@dataclass(slots=True)
class Device:
    name: str = ""  # ComputerName, may hold %SERIAL% / %RAND:x%
    product_key: str = ""
    shared_pc: bool = False
    remove_preinstalled: bool = False


@dataclass(slots=True)
class Wifi:
    ssid: str = ""
    security: WifiSecurity = WifiSecurity.WPA2_PERSONAL
    key: str = field(default="", repr=False)  # secret
    auto_connect: bool = True
    hidden: bool = False


@dataclass(slots=True)
class EntraJoin:
    authority: str = DEFAULT_AUTHORITY
    bprt: str = field(default="", repr=False)  # secret: the bulk token
    expires: date | None = None
    package_user: str = ""  # package_<pid>@<domain>, where known
    token_package_id: str = ""  # the pid sent to bulkaadjtoken/begin
    revoked: date | None = None  # the day its package user was deleted (bulk-enroll revoke)


@dataclass(slots=True)
class Connection:
    """How this computer reaches the tenant: for the bulk token and the Graph checks alike.
    Not a setting of the package (``tui.entra.connection`` turns it into sign-in settings)."""

    cloud: Cloud = Cloud.GLOBAL
    tenant: str = "organizations"  # a tenant id or domain, or organizations
    login_url: str = ""  # https://host[:port] instead of the cloud's login host
    graph_url: str = ""  # https://host instead of the cloud's Graph host
    proxy: str = ""  # http(s)://host:port; empty: HTTPS_PROXY applies
    ca_bundle: str = ""  # a PEM file; empty: REQUESTS_CA_BUNDLE / SSL_CERT_FILE / built-in


@dataclass(slots=True)
class DomainJoin:
    domain: str = ""
    account: str = ""
    password: str = field(default="", repr=False)  # secret
    ou: str = ""


@dataclass(slots=True)
class LocalUser:
    name: str = ""
    password: str = field(default="", repr=False)  # secret
    group: str = ADMINISTRATORS


@dataclass(slots=True)
class Application:
    name: str = ""
    file: str = ""  # local path of the installer
    command_line: str = ""
    continue_install: bool = True
    restart_required: bool = False
    return_code_success: int = 0
    return_code_restart: int = 3010
    dependencies: list[str] = field(default_factory=list)  # local paths


@dataclass(slots=True)
class Certificate:
    name: str = ""
    path: str = ""  # local .cer file


@dataclass(slots=True)
class Resume:
    """Where the app left the project and the package it built: never in the package."""

    step: str = ""  # the step id the project was left at
    package: str = ""  # the package last built from this project
    package_sha256: str = ""
    fingerprint: str = ""  # tui.project.session.fingerprint() of the settings it was built from


@dataclass(slots=True)
class Project:
    package: PackageConfig = field(default_factory=PackageConfig)
    folder: str = ""  # where the project file, WCD export and built package live
    device: Device = field(default_factory=Device)
    wifi: Wifi | None = None  # None: wired at first boot
    join: JoinKind = JoinKind.ENTRA
    entra: EntraJoin = field(default_factory=EntraJoin)
    connection: Connection = field(default_factory=Connection)
    domain: DomainJoin = field(default_factory=DomainJoin)
    local_users: list[LocalUser] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)
    # The desktop wizard adds these two on its own; kept switchable for imported projects.
    hide_oobe: bool = True
    allow_all_trusted_apps: bool = True
    # Policies technicians set for bulk enrollment (tui.wcd.catalogue); None: not set.
    allow_windows_consumer_features: bool | None = None
    require_provisioning_package_signature: bool | None = None
    # Not settings of the package: the Wi-Fi settings kept while a cable is chosen (so a
    # restart does not lose them), and where the app left off.
    wifi_aside: Wifi | None = None
    resume: Resume | None = None
