"""The settings catalogue: one row per WCD setting bulk-enroll knows.

Each row names a setting as customizations.xml writes it (``[]`` marks a list item, whose
key the path carries), the type of its value, the rule its field follows, whether it is a
secret, and its provisioning form — where the provxml compiler puts it — with whether that
form was *observed* in a real WCD-built package or *derived* from documentation, and the
source. Import, export, the compiler, inspect, the derived-form warnings and the settings
table in docs/settings.md all read this table; adding a scalar setting is one row here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tui.wcd.paths import SettingPath, shape

# The order in which the compiler emits the documents of each stage: the network first, so
# that the join and the installers have it; the upgrade (restarts) and CleanPC (resets) last.
STAGES = (
    "wifi",
    "certificates",
    "azure",
    "computer",
    "users",
    "policies",
    "oobe",
    "shared_pc",
    "commands",
    "edition",
    "clean_pc",
)

# The names by which derived forms are reported (customizations paths, list keys dropped),
# in the order they are listed.
DERIVED_WIFI = "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig/WLANXmlSettings"
DERIVED_CERTIFICATE = "Certificates/RootCertificates/RootCertificate/CertificatePath"
DERIVED_DOMAIN_JOIN = "Accounts/ComputerAccount/DomainName"
DERIVED_SHARED_PC = "SharedPC/EnableSharedPCMode"
DERIVED_DEPENDENCY = "ProvisioningCommands/PrimaryContext/Command/CommandConfig/DependencyPackages"
DERIVED_PRODUCT_KEY = "EditionUpgrade/UpgradeEditionWithProductKey"
DERIVED_CLEAN_PC = "CleanPC/CleanPCWithoutRetainingUserData"
DERIVED_ALL = (
    DERIVED_WIFI,
    DERIVED_CERTIFICATE,
    DERIVED_DOMAIN_JOIN,
    DERIVED_SHARED_PC,
    DERIVED_DEPENDENCY,
    DERIVED_PRODUCT_KEY,
    DERIVED_CLEAN_PC,
)

# WCD's names for the SharedPC CSP's AccountModel values (0, 1, 2).
ACCOUNT_MODELS = ("Only guest", "Domain-joined only", "Domain-joined and guest")

# Value types: how customizations.xml writes the value.
TEXT = "text"
FLAG = "True/False"
YES_NO = "Yes/No"
INTEGER = "integer"
CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class Form:
    """A setting compiled on its own: one document holding one parm."""

    characteristic: str  # "Policy/Config/Security"
    parm: str
    datatype: str  # "integer", "boolean", "string", or "" (written without the attribute)
    group: str = ""  # SettingsGroup GUID seen in a real package; "" = ours (name-based)
    source: str = "RunTime"  # the ConfigurationSource: RunTime, User_RunTime, Uicc_RunOnce
    scope: str = ""  # "User" for a user-scope policy
    exec: bool = False  # CSP nodes whose only operation is Execute
    values: tuple[tuple[str, str], ...] = ()  # customizations value -> parm value


# The forms the stages build (tui/package/compiler.py combines the settings; the facts are
# here). A characteristic or parm may hold placeholders the stage fills: {ssid} (%-escaped),
# {user}, {thumbprint} (SHA-1, hex), {n} (the command's index), {package} (the package id)
# and {asset} (the payload file's key, `<i>_<b64>\<file>`). An asset's characteristic is
# Provisioning/Assets/{package} and, after "//", one characteristic named by a setting path.
# SettingsGroup GUIDs were seen in real WCD output or, marked M, in one open-source generator;
# "" means ours (name-based).
PLACEHOLDERS = {
    "ssid": "<SSID %-escaped>",
    "user": "<name>",
    "thumbprint": "<SHA-1>",
    "n": "<n>",
    "package": "<package id>",
    "asset": "<i>_<b64>\\<file>",
}
GROUP_AZURE = "641c3728-5623-544a-9144-976a2dbf3ca9"
GROUP_COMPUTER_NAME = "9de9b0e5-6d03-5ff6-a648-12a9d1c34bba"
GROUP_COMPUTER_ACCOUNT = "f35dd173-1c3e-5f2b-a3a4-29b602842b09"  # M
GROUP_USER = "316e2a31-250a-5f09-a0e1-d2e5c6b03559"
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
_COMMAND_AT = "ProvisioningCommands/PrimaryContext/$(__PackageID)/{n}"
_ASSET_AT = "Provisioning/Assets/{package}//ProvisioningCommands/PrimaryContext/Command/{n}/"
WLAN_FORM = Form("WiFi/Profile/{ssid}", "WlanXml", "string", GROUP_WLAN)
# The reload that makes Windows apply a new device name; it belongs to no setting of its own.
RELOAD_FORM = Form("Provisioning/ForceSettingReload", "ComputerName", "integer")


@dataclass(frozen=True, slots=True)
class Row:
    shape: str  # "Accounts/Users/User[]/Password": the path, list keys as []
    type: str  # TEXT, FLAG, YES_NO, INTEGER or CHOICE
    rule: str  # what the value may be
    stage: str  # which of STAGES emits its document
    provisioning: str  # the provisioning form, in words (characteristic -> parm, file name)
    evidence: str  # "observed" or "derived"
    reference: str  # where the form comes from
    form: Form | None = None  # compiled on its own; None: its stage combines several settings
    stage_form: Form | None = None  # the form its stage builds it in (placeholders filled)
    secret: bool = False
    derived: str = ""  # the name a derived form is reported by (one of DERIVED_ALL)
    field: str = ""  # the Project attribute of an optional policy (None: not in the package)
    choices: tuple[str, ...] = ()  # the values of a CHOICE
    added: str = ""  # why bulk-enroll adds it with no field of the wizard for it
    caution: str = ""  # the warning a project using it gets ("{derived}" is filled in)
    caution_at: str = ""  # the project field the warning is shown at
    label: str = ""  # the app's words for an optional policy (a row with a field)


_DOC_DERIVED = "its package form is derived from Microsoft's documentation, not from a real package"
_BOOL_INT = (("true", "1"), ("false", "0"), ("yes", "1"), ("no", "0"))
_REAL = "real WCD 2025 Entra package (project brief)"
_AD = "docs/package-format.md, Active Directory join"
_AZURE = "`AADJ` → `{}` (string); file `Accounts_Azure`"
_DOMAIN = "`Accounts/Domain` → `{}` (string); file `Accounts_ComputerAccount`"
_WLAN = "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig[]/WLANXmlSettings/"
_WIFI = "`WiFi/Profile/<SSID %-escaped>` → `WlanXml` (string); file `…_WLANSetting_0`"
_CMD = "ProvisioningCommands/PrimaryContext/Command/CommandConfig[]/"
_COMMAND = "`ProvisioningCommands/PrimaryContext/$(__PackageID)/<n>` → `{}` ({})"
_SHARED = "SharedPC CSP; docs/package-format.md, Shared PC"


def _policy(path: str, group: str = "", source: str = "RunTime", **form) -> Form:
    area, name = path.split("/")[1:]
    return Form(f"Policy/Config/{area}", name, "integer", group, source, **form)


# fmt: off
ROWS: tuple[Row, ...] = (
    Row("Accounts/Azure/Authority", TEXT, "an https address", "azure",
        _AZURE.format("Authority"), "observed", _REAL,
        stage_form=Form("AADJ", "Authority", "string", GROUP_AZURE),
        added="Microsoft's sign-in address, which the bulk token is for"),
    Row("Accounts/Azure/BPRT", TEXT, "the bulk token", "azure", _AZURE.format("BPRT"),
        "observed", _REAL, secret=True,
        stage_form=Form("AADJ", "BPRT", "string", GROUP_AZURE)),
    *(
        Row(f"Accounts/ComputerAccount/{name}", TEXT, rule, "computer", _DOMAIN.format(name),
            "derived", _AD, secret=name == "Password", derived=DERIVED_DOMAIN_JOIN,
            caution=caution, caution_at="domain.domain",
            stage_form=Form("Accounts/Domain", name, "string", GROUP_COMPUTER_ACCOUNT))
        for name, rule, caution in (
            ("Account", "a domain account", ""),
            ("AccountOU", "an OU distinguished name", ""),
            ("DomainName", "a DNS domain name",
             "joining Active Directory is experimental: no published CSP or real package "
             "shows its form (only the device name is documented); try it on a test device"),
            ("Password", "the account's password", ""),
        )
    ),
    Row("Accounts/ComputerAccount/ComputerName", TEXT, "a device name, %SERIAL%, %RAND:x%",
        "computer", "`Accounts/Domain` → `ComputerName` (string), `Provisioning/"
        "ForceSettingReload` → `ComputerName`=1 (integer); file `Accounts`", "observed",
        "mosd.ppkg",
        # Its group is the name-only document's; joined to a domain it goes in the join's.
        stage_form=Form("Accounts/Domain", "ComputerName", "string", GROUP_COMPUTER_NAME)),
    Row("Accounts/Users/User[]/Password", TEXT, "the local user's password", "users",
        "`Accounts/Users/<name>` → `Password` (string); file `Accounts_Users_<name>`",
        "observed", _REAL, secret=True,
        stage_form=Form("Accounts/Users/{user}", "Password", "string", GROUP_USER)),
    Row("Accounts/Users/User[]/UserGroup", CHOICE, "Administrators or Standard Users",
        "users", "`Accounts/Users/<name>` → `LocalUserGroup` (integer: Administrators 2, "
        "Standard Users 1)", "observed", _REAL,
        choices=("Users", "Standard Users", "Administrators", "Guests"),
        stage_form=Form("Accounts/Users/{user}", "LocalUserGroup", "integer", GROUP_USER)),
    Row("Certificates/RootCertificates/RootCertificate[]/CertificatePath", TEXT, "a .cer file",
        "certificates", "`RootCATrustedCertificates/Root/<SHA-1>` → `EncodedCertificate` "
        "(base64 DER, no datatype); file `Certificates_RootCertificates_<i>`", "derived",
        "RootCATrustedCertificates CSP, [MS-MDE2]; docs/package-format.md, Certificates",
        derived=DERIVED_CERTIFICATE, caution="{derived}", caution_at="certificates",
        stage_form=Form("RootCATrustedCertificates/Root/{thumbprint}", "EncodedCertificate", "")),
    Row("CleanPC/CleanPCWithoutRetainingUserData", FLAG, "True", "clean_pc",
        "`CleanPC` → `CleanPCWithoutRetainingUserData`=1 (integer, exec)", "derived",
        "CleanPC CSP (an integer, Execute only)", derived=DERIVED_CLEAN_PC,
        form=Form("CleanPC", "CleanPCWithoutRetainingUserData", "integer", exec=True,
                  values=_BOOL_INT),
        caution="resets the device and fails on Home editions; {derived}",
        caution_at="device.remove_preinstalled"),
    *(
        Row(_WLAN + leaf, kind, rule, "wifi", _WIFI, "derived",
            "WiFi CSP, WLAN_profile schema; docs/package-format.md, Wi-Fi", secret=secret,
            derived=DERIVED_WIFI, caution="{derived} (one open-source generator)" * (i == 0),
            caution_at="wifi", stage_form=WLAN_FORM)
        for i, (leaf, kind, rule, secret) in enumerate((
            ("AutoConnect", FLAG, "True or False", False),
            ("HiddenNetwork", FLAG, "True or False", False),
            ("SecurityKey", TEXT, "the network key", True),
            ("SecurityType", CHOICE, "Open or WPA2-Personal", False),
        ))
    ),
    Row("EditionUpgrade/UpgradeEditionWithProductKey", TEXT, "a 25-character product key",
        "edition", "`WindowsLicensing` → `UpgradeEditionWithProductKey` (string, exec), in "
        "source `Uicc_RunOnce`", "derived", "WindowsLicensing CSP; iot-adk-prosku.ppkg's "
        "UpgradeEditionWithLicense", derived=DERIVED_PRODUCT_KEY,
        form=Form("WindowsLicensing", "UpgradeEditionWithProductKey", "string",
                  source="Uicc_RunOnce", exec=True),
        caution="the device restarts to upgrade; {derived}",
        caution_at="device.product_key"),
    Row("OOBE/Desktop/HideOobe", FLAG, "True or False", "oobe",
        "`MCSF/OOBE/Desktop` → `HideOobe` (boolean)", "observed", _REAL,
        form=Form("MCSF/OOBE/Desktop", "HideOobe", "boolean",
                  "b786dbf1-ec31-5be5-aa49-934e4489fae9"),
        added="as WCD's desktop wizard: Windows setup skips the screens the package answers"),
    Row("Policies/ApplicationManagement/AllowAllTrustedApps", YES_NO, "Yes or No", "policies",
        "`Policy/Config/ApplicationManagement` → `AllowAllTrustedApps` (integer)", "observed",
        _REAL, form=_policy("Policies/ApplicationManagement/AllowAllTrustedApps",
                            "1d06ee0e-b4a8-559b-b253-c7f645eb1b9c", values=_BOOL_INT),
        added="as WCD's desktop wizard: apps signed by a trusted certificate may install"),
    *(
        Row(f"Policies/Connectivity/{name}", YES_NO, "Yes or No", "policies",
            f"`Policy/Config/Connectivity` → `{name}` (integer: Yes {yes}, No 0)", "observed",
            "iot-adk-sampleb-x86.ppkg (the SettingsGroup is ours)",
            form=_policy(f"Policies/Connectivity/{name}", values=(("yes", yes), ("no", "0"))))
        for name, yes in (("AllowBluetooth", "2"), ("AllowNFC", "1"), ("AllowUSBConnection", "1"))
    ),
    Row("Policies/Experience/AllowWindowsConsumerFeatures", YES_NO, "Yes or No", "policies",
        "`Policy/Config/Experience` (scope User) → `AllowWindowsConsumerFeatures` (integer), "
        "in source `User_RunTime`", "observed", "mosd.ppkg",
        form=_policy("Policies/Experience/AllowWindowsConsumerFeatures",
                     "16ef6d5e-6645-57ac-ae29-892fcd94b31d", "User_RunTime", scope="User",
                     values=_BOOL_INT),
        field="allow_windows_consumer_features",
        label="Windows consumer features (suggested apps, ads)"),
    Row("Policies/Security/RequireProvisioningPackageSignature", YES_NO, "Yes or No",
        "policies", "`Policy/Config/Security` → `RequireProvisioningPackageSignature` "
        "(integer)", "observed", "mosd.ppkg",
        form=_policy("Policies/Security/RequireProvisioningPackageSignature",
                     "4b8f0380-fb7b-5260-a2bc-8ee59ea45313", values=_BOOL_INT),
        field="require_provisioning_package_signature",
        label="Require signed provisioning packages"),
    Row(_CMD + "CommandFile", TEXT, "the installer file", "commands",
        "`Provisioning/Assets/<package id>//ProvisioningCommands/PrimaryContext/Command/<n>/"
        "CommandFile` → `<i>_<b64>\\<file>`", "observed", "mosd.ppkg, real WCD 2025 package",
        stage_form=Form(_ASSET_AT + "CommandFile", "{asset}", "string",
                        GROUP_COMMAND["CommandFile"])),
    *(
        Row(_CMD + name, kind, rule, "commands", _COMMAND.format(name, datatype), "observed",
            "mosd.ppkg, real WCD 2025 package",
            stage_form=Form(_COMMAND_AT, name, datatype, GROUP_COMMAND[name]))
        for name, kind, rule, datatype in (
            ("CommandLine", TEXT, "a command line", "string"),
            ("ContinueInstall", FLAG, "True or False", "boolean"),
            ("RestartRequired", FLAG, "True or False", "boolean"),
            ("ReturnCodeRestart", INTEGER, "a whole number", "integer"),
            ("ReturnCodeSuccess", INTEGER, "a whole number", "integer"),
        )
    ),
    Row(_CMD + "DependencyPackages/Dependency[]", TEXT, "a file the installer needs",
        "commands", "as CommandFile, characteristic `Provisioning/Assets/<package id>//"
        "ProvisioningCommands/PrimaryContext/Command/<n>/DependencyPackages/Dependency` → "
        "`<i>_<b64>\\<file>`", "derived", "docs/package-format.md, Dependency files",
        derived=DERIVED_DEPENDENCY,
        stage_form=Form(_ASSET_AT + "DependencyPackages/Dependency", "{asset}", "string",
                        GROUP_COMMAND["DependencyPackages"])),
    Row("SharedPC/AccountManagement/AccountModel", CHOICE, ", ".join(ACCOUNT_MODELS),
        "shared_pc", "`SharedPC` → `AccountModel` (integer)", "derived", _SHARED,
        derived=DERIVED_SHARED_PC, choices=ACCOUNT_MODELS,
        form=Form("SharedPC", "AccountModel", "integer",
                  values=tuple((n.casefold(), str(i)) for i, n in enumerate(ACCOUNT_MODELS))),
        added="shared use: who may sign in"),
    Row("SharedPC/AccountManagement/EnableAccountManager", FLAG, "True or False", "shared_pc",
        "`SharedPC` → `EnableAccountManager` (boolean)", "derived", _SHARED,
        derived=DERIVED_SHARED_PC, form=Form("SharedPC", "EnableAccountManager", "boolean"),
        added="shared use: accounts are managed (removed when space runs low)"),
    Row("SharedPC/EnableSharedPCMode", FLAG, "True or False", "shared_pc",
        "`SharedPC` → `EnableSharedPCMode` (boolean)", "derived", _SHARED,
        derived=DERIVED_SHARED_PC, form=Form("SharedPC", "EnableSharedPCMode", "boolean"),
        caution="needs Pro, Education or Enterprise; {derived}",
        caution_at="device.shared_pc"),
)
# fmt: on

BY_SHAPE = {row.shape: row for row in ROWS}
# Every form a package of ours may hold: the scalar settings', the stages', the reload.
FORMS = tuple(dict.fromkeys([f for r in ROWS for f in (r.form, r.stage_form) if f] + [RELOAD_FORM]))


def _pattern(text: str, placeholder: str) -> re.Pattern:
    return re.compile(re.sub(r"\\\{\w+\\\}", placeholder, re.escape(text)))


@functools.cache
def _form_patterns() -> tuple[tuple[re.Pattern, re.Pattern, Form], ...]:
    """Each form's characteristic (a placeholder: one captured segment) and parm, as patterns;
    compiled on first use, not when the catalogue is imported."""
    return tuple((_pattern(f.characteristic, "([^/]+)"), _pattern(f.parm, ".+"), f) for f in FORMS)


def form_of(characteristic: str, parm: str) -> Form | None:
    """The catalogue's form a parm of ours at this characteristic path has, or None."""
    for char_re, parm_re, form in _form_patterns():
        if char_re.fullmatch(characteristic) and parm_re.fullmatch(parm):
            return form
    return None


def shown(text: str) -> str:
    """A form's characteristic or parm as docs/settings.md writes it (placeholders in <>)."""
    return re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS[m[1]], text)


def row_of(path: SettingPath) -> Row | None:
    """The catalogue row of a setting, or None when bulk-enroll does not know it."""
    return BY_SHAPE.get(shape(path))


# Placeholders that hold a list item's key as it is; the others (an index, an escaped SSID, a
# thumbprint) do not give the setting's key back.
_KEYS = frozenset({"user"})


def _names_back(form: Form, row_: Row) -> bool:
    held = re.findall(r"\{(\w+)\}", form.characteristic)
    owners = sum(form in (r.form, r.stage_form) for r in ROWS)
    keyed = set(held) <= _KEYS and len(held) == row_.shape.count("[]")
    return owners == 1 and "{" not in form.parm and keyed


@functools.cache
def _naming_forms() -> tuple[tuple[re.Pattern, str, Row], ...]:
    """The forms that name their setting back, to name the parms of a package without
    customizations.xml: (characteristic pattern, parm, row)."""
    patterns = {form: char_re for char_re, _, form in _form_patterns()}
    return tuple(
        (patterns[f], f.parm, r)
        for r in ROWS
        for f in (r.form, r.stage_form)
        if f and _names_back(f, r)
    )


def setting_of_parm(characteristic: str, parm: str) -> SettingPath | None:
    """The setting compiled to this parm (its list keys from the characteristic), or None."""
    for char_re, name, row_ in _naming_forms():
        if name == parm and (m := char_re.fullmatch(characteristic)):
            found = iter(m.groups())
            return SettingPath(
                (n[:-2], next(found)) if n.endswith("[]") else (n, None)
                for n in row_.shape.split("/")
            )
    return None


def row(shape_: str) -> Row:
    return BY_SHAPE[shape_]


def derived_of(paths) -> list[str]:
    """The derived forms (DERIVED_ALL names, in that order) the settings at ``paths`` use."""
    found = {r.derived for p in paths if (r := row_of(p)) is not None and r.derived}
    return [d for d in DERIVED_ALL if d in found]


def cautions(paths) -> list[tuple[str, str]]:
    """(project field, warning) for each form with a caution the settings at ``paths`` use."""
    rows = {r.shape: r for p in paths if (r := row_of(p)) is not None and r.caution}
    return [(r.caution_at, r.caution.format(derived=_DOC_DERIVED) + ".") for r in rows.values()]


def policy_rows() -> tuple[Row, ...]:
    """The optional scalar policies a Project field holds (None: not in the package)."""
    return tuple(r for r in ROWS if r.field)


def markdown_table() -> str:
    """The catalogue as docs/settings.md shows it, between its "catalogue" markers
    (tests/test_catalogue.py checks it; ``python -m tui.wcd.catalogue`` prints it)."""
    lines = [
        "| customizations path | value | secret | provisioning form | evidence | source |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(ROWS, key=lambda r: r.shape):
        source = r.form.source if r.form else "RunTime"
        form = r.provisioning + ("" if source == "RunTime" else f" [{source}]")
        cells = (f"`{r.shape}`", r.rule, "yes" if r.secret else "", form, r.evidence, r.reference)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
