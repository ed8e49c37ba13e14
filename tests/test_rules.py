"""Every field's rule: what it accepts, what it refuses, and the sentence the user reads."""

from __future__ import annotations

import base64
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from tui.project.model import (
    Application,
    Certificate,
    Device,
    DomainJoin,
    EntraJoin,
    JoinKind,
    LocalUser,
    OwnerType,
    PackageConfig,
    Project,
    Wifi,
    WifiSecurity,
)
from tui.project.rules import check_field, expand_device_name, label, validate, warnings
from tui.wcd.settings import warnings as settings_warnings

TODAY = date(2026, 11, 30)
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-token-body"


def full_project(tmp_path: Path) -> Project:
    """A project with every field set and real files behind every path."""
    installer = tmp_path / "Contoso Agent.msi"
    installer.write_bytes(b"MSI payload")
    helper = tmp_path / "helper.cab"
    helper.write_bytes(b"CAB payload")
    pem = trustme.CA().cert_pem.bytes()
    cert = tmp_path / "root.cer"
    cert.write_bytes(pem)
    return Project(
        package=PackageConfig(
            name="Contoso laptops",
            id="{1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}",
            version="1.2.3.4",
            owner_type=OwnerType.IT_ADMIN,
            rank=5,
            description="Laptops for the Lyon office & friends <2026>",
        ),
        folder=str(tmp_path),
        device=full_device(),
        wifi=Wifi(ssid="Contoso Guest", key="correct horse battery", hidden=True),
        join=JoinKind.ENTRA,
        entra=EntraJoin(
            bprt=TOKEN,
            expires=TODAY + timedelta(days=90),
            package_user="package_x@contoso.com",
            token_package_id="x",
        ),
        domain=DomainJoin(
            domain="corp.contoso.com",
            account="corp\\joiner",
            password="Join-Pa55",
            ou="OU=Laptops,DC=corp,DC=contoso,DC=com",
        ),
        local_users=[LocalUser("fieldadmin", "Adm1n-Pa55")],
        applications=[
            Application(
                name="Contoso Agent",
                file=str(installer),
                command_line='msiexec /i "Contoso Agent.msi" /quiet',
                continue_install=False,
                restart_required=True,
                return_code_success=0,
                return_code_restart=3010,
                dependencies=[str(helper)],
            )
        ],
        certificates=[Certificate("Contoso Root", str(cert))],
    )


def full_device() -> Device:
    return Device(
        name="CTS-%SERIAL%",
        product_key="NPPR9-FWDCX-D2C8J-H872K-2YT43",
        shared_pc=True,
        remove_preinstalled=True,
    )


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return full_project(tmp_path)


def test_a_complete_project_has_no_problems(project):
    assert validate(project, today=TODAY) == []


def _check(project: Project, field: str) -> str | None:
    return check_field(project, field, today=TODAY)


# --- device name ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "",
        "PC-01",
        "CTS-%SERIAL%",
        "LAB-%RAND:4%",
        "ABCDEFGHIJKLMNO",
        "ABCDEFGHIJKLMN%SERIAL%",
        "X%RAND:14%",
        "Büro-1",
        "%SERIAL%",
    ],
)
def test_device_name_accepted(project, name):
    project.device.name = name
    assert _check(project, "device.name") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ABCDEFGHIJKLMNOP", "Device name: at most 15 characters (this one has 16)."),
        (
            "LAPTOP-%RAND:9%",
            "Device name: at most 15 characters once %RAND:x% is expanded (this one has 16).",
        ),
        ("ABCDEFGHIJKLMNO%SERIAL%", "leave room for %SERIAL% (this one has 15)"),
        ("PC 01", "Device name: must not contain spaces."),
        ("PC.01", 'Device name: must not contain ".".'),
        ("PC_#1!", 'must not contain "!" or "#".'),
        ("12345", "Device name: must not be only digits; add a letter or a hyphen."),
        ("%RAND:5%", "must not be only digits"),
        ("12%RAND:3%", "must not be only digits"),
        ("PC-%RAND:0%", "%RAND:x% needs x between 1 and 15 (this one has 0)."),
        ("PC-%RAND:x%", "a % may only start a macro"),
        ("PC-%SERIAL", "a % may only start a macro"),
        (
            "Büro-Lyon-Ost-1",
            "at most 15 bytes, and a letter outside ASCII takes 2 or 3 (this one takes 16).",
        ),
        ("PC-🎉", "must not contain emoji"),
    ],
)
def test_device_name_refused(project, name, expected):
    project.device.name = name
    message = _check(project, "device.name")
    assert message is not None and expected in message
    assert message.startswith("Device name: ")


def test_expand_device_name_cuts_the_serial_from_the_front():
    assert expand_device_name("CTS-%SERIAL%") == "CTS-56789ABCDEF"
    assert expand_device_name("CTS-%SERIAL%", serial="PF3X9") == "CTS-PF3X9"
    assert len(expand_device_name("ABCDEFGHIJKLMN%SERIAL%")) == 15
    assert expand_device_name("LAB-%RAND:4%", rand=lambda n: "7" * n) == "LAB-7777"
    assert expand_device_name("PC-01") == "PC-01"
    random_name = expand_device_name("LAB-%RAND:6%")
    assert random_name.startswith("LAB-") and random_name[4:].isdigit() and len(random_name) == 10


def test_active_directory_without_a_macro_is_a_warning_not_an_error(project):
    project.join = JoinKind.ACTIVE_DIRECTORY
    project.device.name = "FIXED-NAME"
    assert validate(project, today=TODAY) == []
    fields = {w.field: w.message for w in warnings(project, today=TODAY)}
    assert "add %SERIAL% or %RAND:x%" in fields["device.name"]
    project.device.name = "AD-%RAND:5%"
    assert "device.name" not in {w.field for w in warnings(project, today=TODAY)}


def test_active_directory_join_is_flagged_experimental(project):
    project.join = JoinKind.ACTIVE_DIRECTORY
    project.device.name = "AD-%RAND:5%"
    fields = {w.field: w.message for w in settings_warnings(project, today=TODAY)}
    assert "is experimental" in fields["domain.domain"]
    assert fields["domain.domain"].startswith(label("domain.domain") + ": ")
    project.join = JoinKind.ENTRA
    assert "domain.domain" not in {w.field for w in settings_warnings(project, today=TODAY)}


# --- package -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "", "Package name: must not be empty; it names the package file (<name>.ppkg)."),
        ("name", "   ", "Package name: must not be empty"),
        (
            "name",
            "Lab/Wing",
            'Package name: must be usable as a file name, so must not contain "/".',
        ),
        ("name", "a:b*c", 'must not contain "*" or ":"'),
        ("name", "Laptops.", "nor end with a dot"),
        ("name", " Laptops", "must not start or end with a space"),
        ("name", "CON", "CON is a name Windows reserves for devices"),
        ("name", "x" * 101, "at most 100 characters (this one has 101)"),
        ("version", "1", "Package version: use the form N.N or N.N.N.N, e.g. 1.0 (not '1')."),
        ("version", "1.2.3", "use the form N.N or N.N.N.N"),
        ("version", "1.x", "use the form N.N or N.N.N.N"),
        ("version", "1.70000", "Package version: each part must be between 0 and 65535."),
        ("rank", 100, "Rank: must be a whole number from 0 to 99."),
        ("rank", -1, "Rank: must be a whole number from 0 to 99."),
        ("id", "1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160", "Package ID: must be a GUID in braces"),
        ("description", "bell\x07", "Description: contains a control character"),
    ],
)
def test_package_refused(project, field, value, expected):
    setattr(project.package, field, value)
    message = _check(project, f"package.{field}")
    assert message is not None and expected in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", "1.0"),
        ("version", "1.00"),
        ("version", "65535.0.0.65535"),
        ("rank", 0),
        ("rank", 99),
        ("name", "Contoso (Lyon) 2026"),
        ("description", "two\r\nlines\tand tab"),
    ],
)
def test_package_accepted(project, field, value):
    setattr(project.package, field, value)
    assert _check(project, f"package.{field}") is None


# --- product key, Wi-Fi --------------------------------------------------------------------


def test_product_key(project):
    project.device.product_key = "NPPR9-FWDCX-D2C8J-H872K"
    assert _check(project, "device.product_key") == (
        "Product key: use five groups of five letters or digits, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX."
    )
    project.device.product_key = "nppr9-fwdcx-d2c8j-h872k-2yt43"
    assert _check(project, "device.product_key") is None
    project.device.product_key = ""
    assert _check(project, "device.product_key") is None


@pytest.mark.parametrize(
    ("ssid", "ok"),
    [
        ("a", True),
        ("x" * 32, True),
        ("é" * 16, True),
        ("", False),
        ("x" * 33, False),
        ("é" * 17, False),
    ],
)
def test_ssid_is_1_to_32_utf8_bytes(project, ssid, ok):
    project.wifi.ssid = ssid
    message = _check(project, "wifi.ssid")
    if ok:
        assert message is None
    else:
        assert message.startswith("Wi-Fi network name (SSID): must be 1 to 32 bytes long in UTF-8")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("12345678", None),
        ("x" * 63, None),
        ("0123456789abcdef" * 4, None),
        ("1234567", "a WPA2 key has 8 to 63 characters, or 64 hex digits (this one has 7)."),
        ("x" * 64, "(this one has 64)"),
        ("clé-secrète", "only printable ASCII characters"),
    ],
)
def test_wpa2_key(project, key, expected):
    project.wifi.key = key
    message = _check(project, "wifi.key")
    if expected is None:
        assert message is None
    else:
        assert expected in message and message.startswith("Wi-Fi key: ")
        assert key not in message  # the key is a secret


def test_open_network_takes_no_key(project):
    project.wifi.security = WifiSecurity.OPEN
    project.wifi.key = "leftover-key"
    assert _check(project, "wifi.key") == (
        "Wi-Fi key: an open network has no key: leave it empty or choose WPA2-Personal."
    )
    project.wifi.key = ""
    assert _check(project, "wifi.key") is None


def test_no_wifi_means_no_wifi_rules_and_a_cable_warning(project):
    project.wifi = None
    assert _check(project, "wifi.ssid") is None
    assert any("network cable" in w.message for w in warnings(project, today=TODAY))


# --- Entra -------------------------------------------------------------------------------


def test_expiry_must_be_in_the_future_and_at_most_180_days(project):
    project.entra.expires = TODAY
    assert _check(project, "entra.expires") == (
        "Bulk token expiry: 2026-11-30 is not in the future: get a new bulk token."
    )
    project.entra.expires = TODAY + timedelta(days=181)
    assert _check(project, "entra.expires") == (
        "Bulk token expiry: at most 180 days ahead (by 2027-05-29 at the latest)."
    )
    project.entra.expires = TODAY + timedelta(days=180)
    assert _check(project, "entra.expires") is None


def test_token_required_only_for_build(project):
    project.entra.bprt = ""
    assert validate(project, today=TODAY, for_build=False) == []
    problems = validate(project, today=TODAY)
    assert [p.field for p in problems] == ["entra.bprt"]
    assert problems[0].message == 'Bulk token: is missing: choose "Get bulk token" and sign in.'


def test_authority_must_be_https(project):
    project.entra.authority = "http://login.microsoftonline.com/common"
    assert "must be an https:// address" in _check(project, "entra.authority")


def test_entra_rules_do_not_apply_when_not_joining_entra(project):
    project.join = JoinKind.NONE
    project.entra.bprt = ""
    project.entra.expires = TODAY - timedelta(days=3)
    assert validate(project, today=TODAY) == []


def test_token_warnings(project):
    project.entra.expires = TODAY + timedelta(days=10)
    expiring = [w for w in warnings(project, today=TODAY) if w.field == "entra.expires"]
    assert [w.message for w in expiring] == [
        "Bulk token expiry: the bulk token expires in 10 days."
    ]
    project.entra.expires = TODAY - timedelta(days=1)
    expired = [w for w in warnings(project, today=TODAY) if w.field == "entra.expires"]
    assert "has expired" in expired[0].message


# --- Active Directory ----------------------------------------------------------------------


@pytest.fixture
def ad_project(project):
    project.join = JoinKind.ACTIVE_DIRECTORY
    return project


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("domain", "", "Domain: must not be empty; enter the Active Directory domain"),
        ("domain", "corp contoso", "Domain: use a DNS domain name"),
        ("account", "", "Domain join account: must not be empty"),
        ("password", "", "Domain join password: must not be empty"),
        ("ou", "Laptops", "Organizational unit: use a distinguished name like OU=Laptops,DC=corp"),
        ("ou", "OU=Laptops", "use a distinguished name"),
        ("ou", "DC=corp,OU=Laptops", "use a distinguished name"),
    ],
)
def test_domain_refused(ad_project, field, value, expected):
    setattr(ad_project.domain, field, value)
    message = _check(ad_project, f"domain.{field}")
    assert message is not None and expected in message


def test_domain_accepted(ad_project):
    ad_project.domain.ou = ""
    assert validate(ad_project, today=TODAY) == []
    ad_project.domain.ou = "OU=Kiosks, OU=Lyon, DC=corp, DC=contoso, DC=com"
    assert validate(ad_project, today=TODAY) == []


# --- local users -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "Local user 1 name: must not be empty."),
        ("a" * 21, "Local user 1 name: at most 20 characters (this one has 21)."),
        ("field@admin", 'Local user 1 name: must not contain "@".'),
        ("a/b\\c", 'must not contain "/" or "\\"'),
        ("...", "must not consist only of dots and spaces"),
    ],
)
def test_local_user_name_refused(project, name, expected):
    project.local_users[0].name = name
    message = _check(project, "local_users[0].name")
    assert message is not None and expected in message


def test_local_user_password_and_duplicates(project):
    project.local_users[0].password = ""
    assert _check(project, "local_users[0].password") == (
        "Local user 1 password: must not be empty; enter a password."
    )
    project.local_users.append(LocalUser("FieldAdmin", "x"))
    assert _check(project, "local_users[1].name") == (
        "Local user 2 name: 'fieldadmin' is already used by local user 1; names must differ."
    )


def test_no_local_admin_is_a_warning(project):
    project.local_users = []
    assert validate(project, today=TODAY) == []
    assert any(w.field == "local_users" for w in warnings(project, today=TODAY))


# --- applications, certificates ----------------------------------------------------------


def test_application_files_must_exist_for_build_only(project, tmp_path):
    project.applications[0].file = str(tmp_path / "missing.msi")
    assert validate(project, today=TODAY, for_build=False) == []
    [problem] = validate(project, today=TODAY)
    assert problem.field == "applications[0].file"
    assert problem.message == (
        f"Application 1 installer file: {tmp_path / 'missing.msi'} does not exist; "
        "choose the installer file."
    )


def test_installer_that_is_a_folder(project, tmp_path):
    project.applications[0].file = str(tmp_path)
    assert "is not a regular file" in _check(project, "applications[0].file")


def test_application_fields(project, tmp_path):
    app = project.applications[0]
    app.command_line = " "
    assert _check(project, "applications[0].command_line").startswith(
        "Application 1 command line: must not be empty; enter a silent install command"
    )
    app.return_code_success = "0"  # type: ignore[assignment]  (a hand-edited file)
    assert _check(project, "applications[0].return_code_success") == (
        "Application 1 success return code: must be a whole number "
        "(an installer exit code such as 0 or 3010)."
    )
    app.dependencies = [str(tmp_path / "gone.cab")]
    assert "gone.cab does not exist" in _check(project, "applications[0].dependencies")
    app.dependencies = [str(tmp_path / "other" / "Contoso Agent.msi")]
    assert _check(project, "applications[0].dependencies") == (
        "Application 1 dependency files: two files are called Contoso Agent.msi; "
        "the files of one application need different names."
    )
    project.applications.append(Application(name="Contoso Agent", file=app.file, command_line="x"))
    assert "already used by application 1" in _check(project, "applications[1].name")


def _write_cert(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_certificates_in_der_and_base64_are_accepted(project, tmp_path):
    pem = trustme.CA().cert_pem.bytes()
    body = b"".join(pem.split(b"\n")[1:-2])
    der = base64.b64decode(body)
    for name, data in (("der.cer", der), ("b64.CER", pem)):
        project.certificates[0].path = _write_cert(tmp_path, name, data)
        assert _check(project, "certificates[0].path") is None


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("root.pem", b"", "root.pem is not a .cer file"),
        ("fake.cer", b"hello, not a certificate", "fake.cer does not hold an X.509 certificate"),
        ("trunc.cer", b"0\x82\x05\x00\x30", "does not hold an X.509 certificate"),
        (
            "bad.cer",
            b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
            "does not hold an X.509 certificate",
        ),
    ],
)
def test_certificates_refused(project, tmp_path, name, data, expected):
    project.certificates[0].path = _write_cert(tmp_path, name, data)
    message = _check(project, "certificates[0].path")
    assert (
        message is not None and message.startswith("Certificate 1 file: ") and expected in message
    )


def test_a_huge_cer_file_is_not_read(project, tmp_path):
    huge = tmp_path / "huge.cer"
    with huge.open("wb") as f:
        f.truncate(2 << 20)  # sparse: nothing is written
    project.certificates[0].path = str(huge)
    assert _check(project, "certificates[0].path") == (
        "Certificate 1 file: huge.cer is too large to be a certificate."
    )


def test_folder_must_be_a_folder_when_building(project, tmp_path):
    project.folder = project.applications[0].file
    assert validate(project, today=TODAY, for_build=False) == []
    assert (
        _check(project, "folder") == f"Project folder: {project.folder} exists but is not a folder."
    )


def test_der_shape_check_without_cryptography(tmp_path):
    from tui.project.certfile import _der_sequence_shape

    pem = trustme.CA().cert_pem.bytes()
    der = base64.b64decode(b"".join(pem.split(b"\n")[1:-2]))
    assert _der_sequence_shape(der)
    assert not _der_sequence_shape(der[:-1])
    assert not _der_sequence_shape(b"\x30\x03abc")


# --- messages ------------------------------------------------------------------------------


def test_no_message_ever_contains_a_secret(project, tmp_path):
    project.wifi.key = "short"
    project.entra.bprt = "bad\x01" + TOKEN
    project.local_users[0].password = ""
    project.join = JoinKind.ENTRA
    messages = [p.message for p in validate(project, today=TODAY)]
    messages += [w.message for w in warnings(project, today=TODAY)]
    messages += [w.message for w in settings_warnings(project, today=TODAY)]
    assert messages
    for message in messages:
        assert "short" not in message and TOKEN not in message


def test_every_problem_is_one_sentence_naming_its_field(tmp_path):
    broken = Project(
        package=PackageConfig(name="", version="x", rank=200),
        device=full_device(),
        wifi=Wifi(ssid="", key="1"),
        local_users=[LocalUser("", "")],
        applications=[Application(file="", command_line="")],
        certificates=[Certificate("", "x.txt")],
    )
    broken.device.name = "A B"
    problems = validate(broken, today=TODAY)
    assert len(problems) >= 12
    for problem in problems:
        assert problem.message.startswith(label(problem.field) + ": ")
        assert problem.message.endswith(".")
        assert "\n" not in problem.message


def test_check_field_for_a_field_that_does_not_apply(project):
    project.wifi = None
    assert _check(project, "wifi.key") is None
    assert _check(project, "applications[5].file") is None


def test_derived_settings_are_warned_about(project):
    from tui.wcd.settings import warnings as build_warnings

    fields = {w.field for w in build_warnings(project, today=TODAY)}
    assert {
        "device.product_key",
        "device.shared_pc",
        "device.remove_preinstalled",
        "wifi",
        "certificates",
    } <= fields


def test_a_product_key_typed_without_dashes_is_put_in_groups():
    from tui.project.rules import format_product_key

    assert format_product_key("nppr9fwdcxd2c8jh872k2yt43") == "NPPR9-FWDCX-D2C8J-H872K-2YT43"
    assert format_product_key("NPPR9 FWDCX D2C8J H872K 2YT43") == "NPPR9-FWDCX-D2C8J-H872K-2YT43"
    assert format_product_key("nppr9-fwdcx") == "NPPR9-FWDCX"  # incomplete: as typed
    assert format_product_key("NPPR9FWDCXD2C8JH872K2YT4") == "NPPR9FWDCXD2C8JH872K2YT4"


def test_date_text_that_is_no_date_says_why():
    from tui.project.rules import date_text_problem

    example = date(2027, 5, 28)

    def why(text):
        return date_text_problem("entra.expires", text, example=example)

    assert why("2027-02-30") == (
        "Bulk token expiry: 2027-02-30 is not a date (February has 28 days in 2027)."
    )
    assert why("2028-02-30") == (
        "Bulk token expiry: 2028-02-30 is not a date (February has 29 days in 2028)."
    )
    assert "there is no month 13" in why("2027-13-01")
    assert "days start at 1" in why("2027-01-00")
    assert why("soon") == "Bulk token expiry: type the date as YYYY-MM-DD, e.g. 2027-05-28."
    assert why("2027-05-28") is None and why("") is None


# --- one home per rule: every place that applies it gives the same answer ---------------------


def _package_name_refused(name: str) -> bool:
    project = Project(package=PackageConfig(name=name))
    return check_field(project, "package.name", today=TODAY) is not None


def _wim_refuses(name: str) -> bool:
    from tui.errors import UserError
    from tui.package.wim.imagexml import ImageInfo
    from tui.package.wim.writer import write_wim

    info = ImageInfo("x", timestamp=datetime(2026, 11, 30, tzinfo=UTC))
    try:
        write_wim(io.BytesIO(), [(f"Folder/{name}", b"x")], info)
    except UserError:
        return True
    return False


def test_a_character_windows_refuses_in_file_names_is_refused_wherever_a_file_is_named():
    from tui.package.compiler import file_part
    from tui.project.names import CONTROL_CHARACTERS, FILE_NAME_FORBIDDEN
    from tui.usb.checks import name_problem

    for char in sorted(FILE_NAME_FORBIDDEN | CONTROL_CHARACTERS):
        name = f"a{char}b"
        assert _package_name_refused(name), repr(char)
        assert name_problem(f"{name}.ppkg") is not None, repr(char)
        assert file_part(name) == "a_b", repr(char)
        if char != "/":  # the WIM writer reads "/" as the folder separator
            assert _wim_refuses(name), repr(char)
    assert not _package_name_refused("Contoso laptops")
    assert name_problem("Contoso laptops.ppkg") is None
    assert not _wim_refuses("Contoso laptops.ppkg")


def test_a_name_windows_reserves_for_devices_is_refused_by_the_rules_and_the_usb_writer():
    from tui.usb.checks import name_problem

    for name in ("CON", "prn", "Aux.backup", "nul", "COM1", "lpt9"):
        assert _package_name_refused(name), name
        assert name_problem(f"{name}.ppkg") is not None, name
    for name in ("CONSOLE", "COM10", "LPT0", "nullify", "AUXILIARY"):
        assert not _package_name_refused(name), name
        assert name_problem(f"{name}.ppkg") is None, name


def test_every_group_the_rules_accept_is_offered_by_the_step_and_compiled_to_its_csp_value():
    from tui.package import compiler as px
    from tui.project.localusers import LOCAL_USER_GROUPS
    from tui.screens.localusers import GROUP_CHOICES
    from tui.wcd import catalogue

    assert [value for value, _ in GROUP_CHOICES] == list(LOCAL_USER_GROUPS)
    assert LocalUser().group in LOCAL_USER_GROUPS
    csp_values = {}
    for group in LOCAL_USER_GROUPS:
        project = Project(join=JoinKind.NONE, local_users=[LocalUser("helpdesk", "pw", group)])
        assert check_field(project, "local_users[0].group", today=TODAY) is None
        doc = next(d for d in px.project_documents(project) if d.group == catalogue.GROUP_USER)
        parms = {p.name: p.value for _, p in px.walk(doc.roots)}
        csp_values[group] = parms["LocalUserGroup"]
    assert csp_values == {"Administrators": "2", "Standard Users": "1"}
    project = Project(local_users=[LocalUser("helpdesk", "pw", "Power Users")])
    assert check_field(project, "local_users[0].group", today=TODAY) == (
        "Local user 1 group: must be Administrators or Standard Users."
    )


def test_the_build_reads_the_certificate_the_rule_accepted(tmp_path):
    from tui.errors import UserError
    from tui.package.build import certificate_der

    ca = trustme.CA()
    der = base64.b64decode("".join(ca.cert_pem.bytes().decode().splitlines()[1:-1]))
    for name, data in (("pem.cer", ca.cert_pem.bytes()), ("der.cer", der)):
        path = tmp_path / name
        path.write_bytes(data)
        project = Project(certificates=[Certificate("Root", str(path))])
        assert check_field(project, "certificates[0].path", today=TODAY) is None, name
        assert certificate_der(data, name) == der, name
    text = tmp_path / "note.cer"
    text.write_bytes(b"not a certificate")
    project = Project(certificates=[Certificate("Root", str(text))])
    assert "does not hold an X.509 certificate" in check_field(
        project, "certificates[0].path", today=TODAY
    )
    with pytest.raises(UserError, match="holds no DER or Base-64 X.509 certificate"):
        certificate_der(text.read_bytes(), str(text))
