"""customizations.xml as WCD writes it, and imports of real WCD/ICD projects."""

from __future__ import annotations

import copy
import stat
import subprocess

import pytest
from conftest import SAMPLES
from lxml import etree
from test_rules import TOKEN, full_project

from tui.errors import UserError
from tui.project.model import Application, JoinKind, LocalUser, PackageConfig, Project, WifiSecurity
from tui.wcd.customizations import (
    PACKAGE_NS,
    SETTINGS_NS,
    answer_file_xml,
    customizations_document,
    export_wcd,
    flatten_settings,
    icdproj_xml,
    read_customizations,
    to_customizations_xml,
)
from tui.wcd.paths import path
from tui.wcd.settings import MASK, Setting, is_secret, mask, project_settings, wcd_order

WIFI = "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig[Contoso Guest]/WLANXmlSettings"
APP = "ProvisioningCommands/PrimaryContext/Command/CommandConfig[Contoso Agent]"
SAMPLE_NAMES = ["mosd", "iot-adk-enroll", "iot-adk-prosku", "iot-adk-sampleb-x86"]


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """customizations.xml and AnswerFile.xml of each real package, extracted by wimlib."""
    out = {}
    for name in SAMPLE_NAMES:
        dest = tmp_path_factory.mktemp(name)
        subprocess.run(
            ["wimlib-imagex", "apply", str(SAMPLES / f"{name}.ppkg"), "1", str(dest)],
            check=True,
            capture_output=True,
        )
        out[name] = {
            "customizations": (dest / "Multivariant/0/customizations.xml").read_bytes(),
            "answer": (dest / "CommonSettings/1/AnswerFile.xml").read_bytes(),
        }
    return out


def _importable(project: Project) -> Project:
    """What customizations.xml carries of a project: no local bookkeeping, only the join used."""
    expected = copy.deepcopy(project)
    expected.folder = ""
    expected.entra.expires = None
    expected.entra.package_user = ""
    expected.entra.token_package_id = ""
    if project.join != JoinKind.ACTIVE_DIRECTORY:
        expected.domain = type(project.domain)()
    if project.join != JoinKind.ENTRA:
        expected.entra = type(project.entra)()
    return expected


# --- writing -------------------------------------------------------------------------------


def test_byte_format_is_wcds(tmp_path):
    data = to_customizations_xml(full_project(tmp_path))
    assert data.startswith(
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n<WindowsCustomizations>\r\n'
    )
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert data.endswith(b"</WindowsCustomizations>")  # no final newline
    assert b"\t" not in data
    body = data[3:].decode("utf-8").split("\r\n")
    assert all((len(line) - len(line.lstrip(" "))) % 2 == 0 for line in body)
    assert (
        '  <PackageConfig xmlns="urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0">'
        in body
    )
    assert '  <Settings xmlns="urn:schemas-microsoft-com:windows-provisioning">' in body
    assert "    <Notes>Laptops for the Lyon office &amp; friends &lt;2026&gt;</Notes>" in body


def test_writes_what_mosd_shows_byte_for_byte(samples):
    """Rebuilt from its own settings, WCD's mosd project comes out identical, in both forms."""
    original = samples["mosd"]["customizations"]
    result = read_customizations(original, source="mosd")
    settings = flatten_settings(original, source="mosd")
    assert customizations_document(result.project.package, wcd_order(settings)) == original
    answer = customizations_document(result.project.package, settings, answer_file=True)
    assert answer == samples["mosd"]["answer"]


@pytest.mark.parametrize("name", ["iot-adk-prosku", "iot-adk-sampleb-x86"])
def test_answer_files_of_2016_packages_byte_for_byte(samples, name):
    settings = flatten_settings(samples[name]["customizations"], source=name)
    assert (
        customizations_document(PackageConfig(), settings, answer_file=True)
        == (samples[name]["answer"])
    )


def test_settings_follow_wcds_order_and_spellings(tmp_path):
    project = full_project(tmp_path)
    tree = etree.fromstring(to_customizations_xml(project))
    common = tree.find(
        f"{{{SETTINGS_NS}}}Settings/{{{SETTINGS_NS}}}Customizations/{{{SETTINGS_NS}}}Common"
    )
    assert [etree.QName(e).localname for e in common] == [
        "Accounts",
        "Certificates",
        "CleanPC",
        "ConnectivityProfiles",
        "EditionUpgrade",
        "OOBE",
        "Policies",
        "ProvisioningCommands",
        "SharedPC",
    ]
    values = {str(s.path): s.value for s in project_settings(project)}
    assert values == {
        "Accounts/Azure/Authority": "https://login.microsoftonline.com/common",
        "Accounts/Azure/BPRT": TOKEN,
        "Accounts/ComputerAccount/ComputerName": "CTS-%SERIAL%",
        "Accounts/Users/User[fieldadmin]/Password": "Adm1n-Pa55",
        "Accounts/Users/User[fieldadmin]/UserGroup": "Administrators",
        "Certificates/RootCertificates/RootCertificate[Contoso Root]/CertificatePath": (
            project.certificates[0].path
        ),
        "CleanPC/CleanPCWithoutRetainingUserData": "True",
        f"{WIFI}/AutoConnect": "True",
        f"{WIFI}/HiddenNetwork": "True",
        f"{WIFI}/SecurityKey": ("correct horse battery"),
        f"{WIFI}/SecurityType": ("WPA2-Personal"),
        "EditionUpgrade/UpgradeEditionWithProductKey": "NPPR9-FWDCX-D2C8J-H872K-2YT43",
        "OOBE/Desktop/HideOobe": "True",
        "Policies/ApplicationManagement/AllowAllTrustedApps": "Yes",
        f"{APP}/CommandFile": (project.applications[0].file),
        f"{APP}/CommandLine": ('msiexec /i "Contoso Agent.msi" /quiet'),
        f"{APP}/ContinueInstall": "False",
        f"{APP}/DependencyPackages/Dependency[helper.cab]": (
            project.applications[0].dependencies[0]
        ),
        f"{APP}/RestartRequired": "True",
        f"{APP}/ReturnCodeRestart": "3010",
        f"{APP}/ReturnCodeSuccess": "0",
        "SharedPC/AccountManagement/AccountModel": "Domain-joined only",
        "SharedPC/AccountManagement/EnableAccountManager": "True",
        "SharedPC/EnableSharedPCMode": "True",
    }
    # list items are keyed as WCD 2025 writes them: the key attribute only, no Name copy
    users = tree.findall(f".//{{{SETTINGS_NS}}}User")
    assert [dict(u.attrib) for u in users] == [{"UserName": "fieldadmin"}]
    wlan = tree.find(f".//{{{SETTINGS_NS}}}WLANConfig")
    assert dict(wlan.attrib) == {"SSID": "Contoso Guest"}
    assert tree.find(f"{{{PACKAGE_NS}}}PackageConfig/{{{PACKAGE_NS}}}Rank").text == "5"


def test_list_items_keep_their_order_and_stay_apart(tmp_path):
    project = full_project(tmp_path)
    project.local_users = [LocalUser("zed", "1"), LocalUser("amy", "2")]
    project.applications.append(Application(name="Another", file="b.exe", command_line="b.exe /S"))
    paths = [str(s.path) for s in project_settings(project)]
    assert paths.index("Accounts/Users/User[zed]/Password") < paths.index(
        "Accounts/Users/User[amy]/Password"
    )
    answer = answer_file_xml(project).decode("utf-8-sig")
    assert answer.count("<CommandConfig>") == 2  # Name attributes dropped, items not merged
    assert '<User UserName="zed">' in answer


def test_answer_file_is_the_settings_part_without_name_attributes(tmp_path):
    project = full_project(tmp_path)
    answer = answer_file_xml(project)
    assert answer.startswith(
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\r\n<Settings xmlns='
    )
    assert b"Name=" not in answer.replace(b"UserName=", b"").replace(b"CertificateName=", b"")
    full = to_customizations_xml(project).decode("utf-8-sig")
    settings_part = full[full.index("  <Settings") : full.index("</Settings>") + len("</Settings>")]
    stripped = "\r\n".join(line[2:] for line in settings_part.split("\r\n"))
    stripped = stripped.replace(' Name="Contoso Agent"', "").replace(' Name="helper.cab"', "")
    assert answer.decode("utf-8-sig").split("\r\n", 1)[1] == stripped


def test_icdproj(tmp_path):
    data = icdproj_xml(full_project(tmp_path))
    root = etree.fromstring(data)
    assert data.startswith(b"\xef\xbb\xbf<?xml")
    assert root.tag == "ICDProject"
    assert root.attrib["TemplateType"] == "ProvisioningPackage"
    assert root.attrib["Name"] == "Contoso laptops"
    assert root.attrib["Id"] == "{1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}"
    assert root.findtext("CustomizationFile") == "customizations.xml"


def test_export_wcd_writes_the_folder_owner_only(tmp_path):
    project = full_project(tmp_path)
    out = tmp_path / "wcd" / "Contoso"
    written = export_wcd(project, out)
    assert written == [out / "customizations.xml", out / "Contoso laptops.icdproj.xml"]
    assert written[0].read_bytes() == to_customizations_xml(project)
    assert written[1].read_bytes() == icdproj_xml(project)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    assert sorted(p.name for p in out.iterdir()) == [
        "Contoso laptops.icdproj.xml",
        "customizations.xml",
    ]


def test_export_wcd_refuses_names_and_text_it_cannot_write(tmp_path):
    project = full_project(tmp_path)
    project.package.name = "../escape"
    with pytest.raises(UserError, match=r'^Package name: .*must not contain "/"'):
        export_wcd(project, tmp_path / "out")
    project.package.name = "Fine"
    project.package.description = "lone \ud800 surrogate"
    with pytest.raises(UserError, match="not valid text"):
        export_wcd(project, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.icdproj.xml").exists()


def test_export_wcd_into_a_file_is_one_sentence(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(UserError, match=r"^Cannot write the WCD project to .*blocker"):
        export_wcd(full_project(tmp_path), blocker)


# --- round trip ----------------------------------------------------------------------------


def test_round_trip_entra_project_with_every_field(tmp_path):
    project = full_project(tmp_path)
    result = read_customizations(to_customizations_xml(project), source="x")
    assert result.unknown == []
    assert result.project == _importable(project)


def test_round_trip_active_directory_open_wifi(tmp_path):
    project = full_project(tmp_path)
    project.join = JoinKind.ACTIVE_DIRECTORY
    project.wifi.security = WifiSecurity.OPEN
    project.wifi.key = ""
    project.wifi.auto_connect = False
    project.hide_oobe = False
    project.allow_all_trusted_apps = False
    project.package.description = ' tricky & <values> "quoted"\r\nsecond line\n'
    project.local_users[0].password = "  spaces kept  "
    result = read_customizations(to_customizations_xml(project), source="x")
    assert result.unknown == []
    assert result.project == _importable(project)


def test_round_trip_bare_project():
    project = Project(package=PackageConfig(name="Bare"), join=JoinKind.NONE)
    project.hide_oobe = project.allow_all_trusted_apps = False
    result = read_customizations(to_customizations_xml(project), source="x")
    assert result.project == _importable(project)


# --- reading real projects -----------------------------------------------------------------


def test_import_mosd(samples):
    result = read_customizations(samples["mosd"]["customizations"], source="mosd.xml")
    project = result.project
    assert result.unknown == [] and result.extra == []
    # The two policies the catalogue knows and the project models (tui.wcd.catalogue).
    assert project.allow_windows_consumer_features is False
    assert project.require_provisioning_package_signature is True
    assert project.package.name == "mOSD" and project.package.version == "1.00"
    assert project.package.owner_type.value == "SystemIntegrator"
    assert project.package.id == "{1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}"
    assert project.device.name == "Z-%SERIAL%"
    assert project.join == JoinKind.NONE
    assert project.hide_oobe is False and project.allow_all_trusted_apps is False
    [app] = project.applications
    assert app.name == "SetExecutionPolicy"
    assert app.command_line == "powershell.exe -command set-executionpolicy bypass -force"
    assert app.continue_install is True and app.file == ""


@pytest.mark.parametrize(
    ("name", "unknown"),
    [
        (
            "iot-adk-enroll",
            [
                f"Workplace/Enrollments/UPN[alias@fabrikam.sfone.net]/{leaf}"
                for leaf in (
                    "AuthPolicy",
                    "DiscoveryServiceFullUrl",
                    "EnrollmentServiceFullUrl",
                    "PolicyServiceFullUrl",
                    "Secret",
                )
            ],
        ),
        (
            "iot-adk-prosku",
            ["EditionUpgrade/UpgradeEditionWithLicense"]
            + [
                f"Policies/Update/{leaf}"
                for leaf in (
                    "AllowAutoUpdate",
                    "AllowNonMicrosoftSignedUpdate",
                    "AllowUpdateService",
                    "RequireDeferUpgrade",
                    "ScheduledInstallDay",
                    "ScheduledInstallTime",
                    "UpdateServiceUrl",
                )
            ],
        ),
        # The catalogue knows sampleb's three policies: kept as extra settings, not unknown.
        ("iot-adk-sampleb-x86", []),
    ],
)
def test_import_reports_every_unknown_setting(samples, name, unknown):
    result = read_customizations(samples[name]["customizations"], source=name)
    assert result.unknown == unknown
    assert result.project.package.name in {"Enroll", "ProSKU", "ProvTest"}


def test_flatten_settings_reads_any_setting(samples):
    settings = flatten_settings(samples["iot-adk-sampleb-x86"]["customizations"], source="s")
    assert settings == [
        Setting(path("Policies/Connectivity/AllowBluetooth"), "Yes"),
        Setting(path("Policies/Connectivity/AllowNFC"), "Yes"),
        Setting(path("Policies/Connectivity/AllowUSBConnection"), "Yes"),
    ]
    enroll = flatten_settings(samples["iot-adk-enroll"]["answer"], source="AnswerFile.xml")
    secret = [s for s in enroll if s.path[-1][0] == "Secret"]
    assert secret and is_secret(secret[0].path) and mask(secret[0]).value == MASK


def test_both_root_spellings(samples):
    good = samples["mosd"]["customizations"]
    misspelled = good.replace(b"WindowsCustomizations>", b"WindowsCustomizatons>")
    assert misspelled != good
    assert read_customizations(misspelled, source="x") == read_customizations(good, source="x")


USERS_XML = """<?xml version="1.0" encoding="utf-8"?>
<WindowsCustomizatons>
  <PackageConfig xmlns="urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0">
    <ID>{{6d25ff81-23ed-4d35-968f-3fc2408ceac7}}</ID><Name>Users</Name>
  </PackageConfig>
  <Settings xmlns="urn:schemas-microsoft-com:windows-provisioning"><Customizations><Common>
    <Accounts><Users>{users}</Users></Accounts>
    <ConnectivityProfiles><WLAN><WLANSetting>
      <WLANConfig {wlan}><WLANXmlSettings><SecurityType>WPA2-Personal</SecurityType>
        <SecurityKey>k3y-k3y-k3y</SecurityKey></WLANXmlSettings></WLANConfig>
    </WLANSetting></WLAN></ConnectivityProfiles>
  </Common></Customizations></Settings>
</WindowsCustomizatons>"""


@pytest.mark.parametrize(
    ("user_attrs", "wlan_attrs"),
    [
        ('UserName="admin"', 'SSID="Lab"'),
        ('UserName="admin" Name="admin"', 'SSID="Lab" Name="Lab"'),
        ('Name="admin"', 'Name="Lab"'),
    ],
)
def test_name_attribute_forms(user_attrs, wlan_attrs):
    users = (
        f"<User {user_attrs}><Password>pw</Password><UserGroup>Administrators</UserGroup></User>"
    )
    data = USERS_XML.format(users=users, wlan=wlan_attrs).encode()
    result = read_customizations(data, source="users.xml")
    assert result.unknown == []
    assert result.project.local_users == [LocalUser("admin", "pw", "Administrators")]
    assert result.project.wifi.ssid == "Lab" and result.project.wifi.key == "k3y-k3y-k3y"


def test_a_second_wifi_network_is_reported_not_dropped():
    wlan = (
        'SSID="Lab"><WLANXmlSettings><SecurityType>Open</SecurityType></WLANXmlSettings>'
        '</WLANConfig><WLANConfig SSID="Other"'
    )
    data = USERS_XML.format(users="", wlan=wlan).encode()
    result = read_customizations(data, source="x")
    assert result.project.wifi.ssid == "Lab"
    assert (
        "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig[Other]/WLANXmlSettings/SecurityKey"
        in result.unknown
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<WindowsCustomizations><Settings>", r"^bad\.xml: line 1: not well-formed XML"),
        (b"", r"^bad\.xml: "),
        (
            b"<html><body/></html>",
            r"^bad\.xml is not a customizations\.xml: its root element is <html>",
        ),
        (
            b"<WindowsCustomizations><PackageConfig><OwnerType>Boss</OwnerType></PackageConfig></WindowsCustomizations>",
            r"^bad\.xml: OwnerType 'Boss' is not one of Microsoft",
        ),
        (
            b"<WindowsCustomizations><PackageConfig><Rank>high</Rank></PackageConfig></WindowsCustomizations>",
            r"^bad\.xml: Rank must be a whole number",
        ),
    ],
)
def test_malformed_input_is_one_sentence_naming_the_source(data, expected):
    with pytest.raises(UserError, match=expected):
        read_customizations(data, source="bad.xml")


def test_bad_values_name_the_setting():
    body = (
        "<WindowsCustomizations><Settings><Customizations><Common><ProvisioningCommands>"
        "<PrimaryContext><Command><CommandConfig Name='a'>"
        "<ReturnCodeSuccess>{rc}</ReturnCodeSuccess>"
        "<ContinueInstall>{ci}</ContinueInstall></CommandConfig></Command></PrimaryContext>"
        "</ProvisioningCommands></Common></Customizations></Settings></WindowsCustomizations>"
    )
    with pytest.raises(
        UserError, match=r"CommandConfig\[a\]/ReturnCodeSuccess must be a whole number"
    ):
        read_customizations(body.format(rc="zero", ci="True").encode(), source="b.xml")
    with pytest.raises(
        UserError, match=r"CommandConfig\[a\]/ContinueInstall must be True or False"
    ):
        read_customizations(body.format(rc="0", ci="maybe").encode(), source="b.xml")


def test_entities_are_never_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do-not-read")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<WindowsCustomizations><PackageConfig><Name>&x;</Name></PackageConfig></WindowsCustomizations>"
    ).encode()
    try:
        result = read_customizations(xxe, source="xxe.xml")
    except UserError:
        return
    assert "do-not-read" not in result.project.package.name
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        )
        + "]><WindowsCustomizations><PackageConfig><Name>&h;</Name></PackageConfig>"
        + "</WindowsCustomizations>"
    ).encode()
    try:
        result = read_customizations(laughs, source="laughs.xml")
    except UserError:
        return
    assert len(result.project.package.name) < 1000


# --- secrets -------------------------------------------------------------------------------


def test_secret_paths_and_masking(tmp_path):
    project = full_project(tmp_path)
    secrets = {str(s.path) for s in project_settings(project) if is_secret(s.path)}
    assert secrets == {
        "Accounts/Azure/BPRT",
        "Accounts/Users/User[fieldadmin]/Password",
        f"{WIFI}/SecurityKey",
    }
    project.join = JoinKind.ACTIVE_DIRECTORY
    assert is_secret(path("Accounts/ComputerAccount/Password"))
    assert not is_secret(path("EditionUpgrade/UpgradeEditionWithProductKey"))
    bprt = Setting(path("Accounts/Azure/BPRT"), TOKEN)
    assert mask(bprt) == Setting(path("Accounts/Azure/BPRT"), MASK)
    assert TOKEN not in repr(bprt) and MASK in repr(bprt)
    plain = Setting(path("OOBE/Desktop/HideOobe"), "True")
    assert mask(plain) is plain and "True" in repr(plain)


def test_device_name_in_the_newer_devdetail_form_is_imported():
    data = (
        b"<WindowsCustomizations><Settings><Customizations><Common><DevDetail>"
        b"<DNSComputerName>LAB-%RAND:4%</DNSComputerName></DevDetail>"
        b"</Common></Customizations></Settings></WindowsCustomizations>"
    )
    result = read_customizations(data, source="x")
    assert result.unknown == [] and result.project.device.name == "LAB-%RAND:4%"
    assert b"<ComputerName>LAB-%RAND:4%</ComputerName>" in to_customizations_xml(result.project)
