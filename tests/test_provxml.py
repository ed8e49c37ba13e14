"""provxml documents: byte parity with real WCD/ICD output, naming, counters, derived forms."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import SAMPLES
from lxml import etree

from tui.errors import UserError
from tui.package import compiler as px
from tui.project.model import (
    Application,
    Certificate,
    JoinKind,
    LocalUser,
    Project,
    Wifi,
    WifiSecurity,
)
from tui.wcd import catalogue


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    """Every sample package extracted by wimlib (an independent reader)."""
    out = {}
    for pkg in sorted(SAMPLES.glob("*.ppkg")):
        dest = tmp_path_factory.mktemp(pkg.stem)
        subprocess.run(
            ["wimlib-imagex", "apply", str(pkg), "1", str(dest)], check=True, capture_output=True
        )
        out[pkg.stem] = dest
    return out


def bare_project() -> Project:
    p = Project()
    p.join = JoinKind.NONE
    p.hide_oobe = False
    p.allow_all_trusted_apps = False
    return p


def test_every_sample_provxml_re_renders_byte_for_byte(samples):
    provxmls = [f for d in samples.values() for f in d.rglob("*.provxml")]
    assert len(provxmls) == 9
    for f in provxmls:
        data = f.read_bytes()
        doc = px.ProvDoc("x", "g", px.parse(data))
        assert px.render(doc) == data, f


def test_mosd_computer_name_and_command_are_identical_to_wcd(samples):
    p = bare_project()
    p.device.name = "Z-%SERIAL%"
    p.applications = [
        Application(
            name="SetExecutionPolicy",
            command_line="powershell.exe -command set-executionpolicy bypass -force",
        )
    ]
    placed = {pl.file_name: pl for pl in px.place(px.project_documents(p))}
    runtime = samples["mosd"] / "Multivariant/0/Prov/RunTime"
    # mosd has RequireProvisioningPackageSignature as its file 1; we do not model it.
    expected = {
        "0__Accounts.provxml": "0__Accounts.provxml",
        "1__ProvisioningCommands_PrimaryContext_Command_0_CommandLine.provxml": (
            "2__ProvisioningCommands_PrimaryContext_Command_0_CommandLine.provxml"
        ),
        "2__ProvisioningCommands_PrimaryContext_Command_0_ContinueInstall.provxml": (
            "3__ProvisioningCommands_PrimaryContext_Command_0_ContinueInstall.provxml"
        ),
    }
    real_groups = dict(
        (el.get("Data").rsplit("\\", 1)[1], el.get("SettingsGroup"))
        for el in etree.parse(str(samples["mosd"] / "Multivariant/0/Prov/RunTime.xml")).getroot()
    )
    for ours, theirs in expected.items():
        assert px.render(placed[ours].doc, settings_path=False) == (runtime / theirs).read_bytes()
        assert placed[ours].settings_group == real_groups[theirs]


def test_index_documents_are_identical_to_wcd(samples):
    mosd = samples["mosd"]
    assert (
        px.master_datastore(["RunTime", "User_RunTime"])
        == (mosd / "Multivariant/0/MasterDatastore.xml").read_bytes()
    )
    assert (
        px.master_datastore(["Uicc_RunOnce", "RunTime"])
        == (samples["iot-adk-prosku"] / "Multivariant/0/MasterDatastore.xml").read_bytes()
    )
    assert (
        px.elements_index("Multivariant", 0)
        == (mosd / "Multivariant/Multivariant.xml").read_bytes()
    )
    assert (
        px.elements_index("CommonSettings", 1)
        == (mosd / "CommonSettings/CommonSettings.xml").read_bytes()
    )


def test_runtime_xml_shape_matches_wcd(samples):
    # Re-place the mosd documents as they are and render the index: same bytes as WCD's.
    runtime = samples["mosd"] / "Multivariant/0/Prov/RunTime.xml"
    sets = etree.parse(str(runtime)).getroot()
    placed = [
        px.Placed(
            px.ProvDoc("x", "g", ()), el.get("Data").rsplit("\\", 1)[1], el.get("SettingsGroup")
        )
        for el in sets
    ]
    assert px.configuration_source("RunTime", placed) == runtime.read_bytes()


def test_entra_wizard_project_gives_the_reference_tree():
    p = Project()
    p.entra.bprt = "eyJ0eXAi.secret"
    placed = px.place(px.project_documents(p))
    assert [(pl.file_name, pl.settings_group) for pl in placed] == [
        ("0__Accounts_Azure.provxml", catalogue.GROUP_AZURE),
        (
            "1__Policies_ApplicationManagement_AllowAllTrustedApps.provxml",
            catalogue.row("Policies/ApplicationManagement/AllowAllTrustedApps").form.group,
        ),
        ("2__OOBE_Desktop_HideOobe.provxml", catalogue.row("OOBE/Desktop/HideOobe").form.group),
    ]
    text = px.render(placed[0].doc).decode("utf-8-sig")
    assert (
        '<parm SettingsPath="Accounts/Azure/BPRT" name="BPRT" value="eyJ0eXAi.secret" '
        'datatype="string" />' in text
    )
    hide = px.render(placed[2].doc).decode("utf-8-sig")
    assert '<characteristic type="MCSF">' in hide and 'value="true" datatype="boolean"' in hide
    assert px.derived_settings(p) == []


def test_repeated_settings_groups_get_instance_suffixes():
    p = bare_project()
    p.local_users = [LocalUser("admin", "pw1"), LocalUser("helpdesk", "pw2", "Users")]
    # Settings are keyed by name (validation refuses two applications of the same name).
    p.applications = [
        Application(name="a", command_line="a.exe"),
        Application(name="b", command_line="b.exe"),
    ]
    placed = px.place(px.project_documents(p))
    users = [pl for pl in placed if pl.doc.group == catalogue.GROUP_USER]
    assert [pl.settings_group for pl in users] == [
        catalogue.GROUP_USER,
        catalogue.GROUP_USER + "_0",
    ]
    assert [pl.file_name for pl in users] == [
        "0__Accounts_Users_admin.provxml",
        "1__Accounts_Users_helpdesk.provxml",
    ]
    lines = [pl for pl in placed if pl.doc.stem.endswith("_CommandLine")]
    assert [pl.settings_group for pl in lines] == [
        catalogue.GROUP_COMMAND["CommandLine"],
        catalogue.GROUP_COMMAND["CommandLine"] + "_0",
    ]
    assert [int(pl.file_name.split("__")[0]) for pl in placed] == list(range(len(placed)))
    admin = px.walk(users[0].doc.roots)
    assert admin[1][0] == "Accounts/Users/admin"
    assert (admin[1][1].name, admin[1][1].value) == ("LocalUserGroup", "2")


def test_unknown_local_user_group_is_a_user_error():
    p = bare_project()
    p.local_users = [LocalUser("x", "pw", "Wizards")]
    with pytest.raises(UserError, match="Wizards"):
        px.project_documents(p)


def test_attribute_escaping_follows_icd():
    assert px.escape_attr("a&b<c>\"d'\r\n\t") == "a&amp;b&lt;c&gt;&quot;d'&#xD;&#xA;&#x9;"


def test_wlan_profile_is_well_formed_and_follows_the_schema():
    wpa = Wifi(ssid="Büro <5G>", key="correct horse", hidden=True)
    root = etree.fromstring(px.wlan_profile_xml(wpa).encode())
    ns = {"w": px.WLAN_NAMESPACE}
    assert root.findtext("w:name", namespaces=ns) == "Büro <5G>"
    assert (
        root.findtext("w:SSIDConfig/w:SSID/w:hex", namespaces=ns)
        == "Büro <5G>".encode().hex().upper()
    )
    assert root.findtext("w:SSIDConfig/w:nonBroadcast", namespaces=ns) == "true"
    assert root.findtext(".//w:authentication", namespaces=ns) == "WPA2PSK"
    assert root.findtext(".//w:keyType", namespaces=ns) == "passPhrase"
    assert root.findtext(".//w:keyMaterial", namespaces=ns) == "correct horse"
    hex_key = Wifi(ssid="x", key="ab" * 32, auto_connect=False)
    root = etree.fromstring(px.wlan_profile_xml(hex_key).encode())
    assert root.findtext(".//w:keyType", namespaces=ns) == "networkKey"
    assert root.findtext("w:connectionMode", namespaces=ns) == "manual"
    open_net = etree.fromstring(
        px.wlan_profile_xml(Wifi(ssid="x", security=WifiSecurity.OPEN)).encode()
    )
    assert open_net.find(".//w:sharedKey", namespaces=ns) is None
    assert open_net.findtext(".//w:encryption", namespaces=ns) == "none"


def test_asset_folder_keeps_padding_and_avoids_slashes():
    digest = bytes.fromhex("ff" * 32)  # base64 of this is full of "/"
    folder = px.asset_folder(3, digest)
    assert folder.startswith("3_") and folder.endswith("=") and "/" not in folder
    assert folder == "3_" + "." * 42 + "8="


def test_every_derived_setting_is_flagged_and_listed():
    p = Project()
    p.join = JoinKind.ACTIVE_DIRECTORY
    p.device.name = "PC-%RAND:4%"
    p.domain.domain, p.domain.account, p.domain.password = "corp.example", "join", "pw"
    p.device.product_key = "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE"
    p.device.shared_pc = True
    p.device.remove_preinstalled = True
    p.wifi = Wifi(ssid="corp", key="12345678")
    p.certificates = [Certificate("root", "/x.cer")]
    p.applications = [Application(file="/a.msi", command_line="msiexec", dependencies=["/d.dll"])]
    inputs = px.Inputs(
        asset_keys={(0, None): "0_abc=\\a.msi", (0, 0): "1_def=\\d.dll"},
        certificates=[px.CertificateData("root", b"\x30\x03\x02\x01\x01")],
    )
    docs = px.project_documents(p, inputs)
    flagged = {d.derived for d in docs if d.derived}
    assert flagged == set(px.derived_settings(p))
    assert len(flagged) == 7
    # Derived GUIDs are stable name-based UUIDs in our own namespace.
    shared = [d for d in docs if d.derived == px.DERIVED_SHARED_PC]
    assert shared[-1].group == px.derived_group("SharedPC/EnableSharedPCMode")
    # The SharedPC CSP wants the account settings before EnableSharedPCMode.
    assert [d.stem for d in shared] == [
        "SharedPC_AccountManagement_AccountModel",
        "SharedPC_AccountManagement_EnableAccountManager",
        "SharedPC_EnableSharedPCMode",
    ]
    assert [
        (path, parm.name, parm.value, parm.datatype)
        for d in shared
        for path, parm in px.walk(d.roots)
    ] == [
        ("SharedPC", "AccountModel", "1", "integer"),  # domain-joined accounts: it joins AD
        ("SharedPC", "EnableAccountManager", "true", "boolean"),
        ("SharedPC", "EnableSharedPCMode", "true", "boolean"),
    ]
    # The order: network first, reset last.
    assert (
        docs[0].stem.startswith("ConnectivityProfiles")
        and docs[-1].stem == "CleanPC_CleanPCWithoutRetainingUserData"
    )
    key_parm = next(px.walk(d.roots) for d in docs if d.derived == px.DERIVED_PRODUCT_KEY)[0]
    assert key_parm == ("WindowsLicensing", key_parm[1]) and key_parm[1].exec
    # The stage the one real EditionUpgrade package (iot-adk-prosku) uses.
    assert next(d for d in docs if d.derived == px.DERIVED_PRODUCT_KEY).source == "Uicc_RunOnce"
    cert = next(px.walk(d.roots) for d in docs if d.derived == px.DERIVED_CERTIFICATE)[0]
    assert cert[0] == "RootCATrustedCertificates/Root/" + inputs.certificates[0].thumbprint
    assert cert[1].value == "MAMCAQE="
    assert cert[1].datatype == ""  # the b64 node written without datatype, as [MS-MDE2] does
    cert_doc = next(d for d in docs if d.derived == px.DERIVED_CERTIFICATE)
    assert (
        b'<parm SettingsPath="Certificates/RootCertificates/RootCertificate/CertificatePath" '
        b'name="EncodedCertificate" value="MAMCAQE=" />' in px.render(cert_doc)
    )
    asset = next(d for d in docs if d.stem.endswith("_CommandFile"))
    path, parm = px.walk(asset.roots)[0]
    setting = "/ProvisioningCommands/PrimaryContext/Command/0/CommandFile"
    assert path == f"Provisioning/Assets/{p.package.id}/{setting}"
    assert (parm.name, parm.value) == ("0_abc=\\a.msi", "a.msi")
    domain = next(d for d in docs if d.derived == px.DERIVED_DOMAIN_JOIN)
    assert [parm.name for _, parm in px.walk(domain.roots)] == [
        "Account",
        "ComputerName",
        "DomainName",
        "Password",
        "ComputerName",
    ]


def test_parse_rejects_other_documents():
    with pytest.raises(ValueError, match="root element"):
        px.parse(b"<other/>")
    with pytest.raises(ValueError, match="well-formed"):
        px.parse(b"<wap-provisioningdoc>")


def test_repr_of_the_documents_shows_no_secret():
    p = bare_project()
    p.join = JoinKind.ENTRA
    p.entra.bprt = "eyJ0eXAi.secret-bulk-token"
    p.wifi = Wifi(ssid="Contoso", key="correct horse battery")
    p.local_users = [LocalUser("fieldadmin", "Adm1n-Pa55")]
    text = repr(px.project_documents(p))
    assert "BPRT" in text and "fieldadmin" in text  # the rest is still shown
    for secret in ("secret-bulk-token", "correct horse battery", "Adm1n-Pa55"):
        assert secret not in text


def test_shared_pc_without_a_join_allows_guests_only():
    p = bare_project()
    p.device.shared_pc = True
    model = next(d for d in px.project_documents(p) if d.stem.endswith("AccountModel"))
    assert px.walk(model.roots)[0][1].value == "0"


@pytest.mark.parametrize(
    ("ssid", "segment"),
    [
        ("Contoso Lab", "Contoso%20Lab"),
        ("Büro", "B%C3%BCro"),  # non-ASCII: its UTF-8 bytes, escaped
        ("Lab/5G", "Lab%2F5G"),  # a slash must not split the node path
        ("100%", "100%25"),
        ("plain-Net_1.x", "plain-Net_1.x"),
    ],
)
def test_wifi_node_escapes_the_ssid_but_the_profile_keeps_it(ssid, segment):
    p = bare_project()
    p.wifi = Wifi(ssid=ssid, key="correct horse")
    (doc,) = px.project_documents(p)
    ((path, parm),) = px.walk(doc.roots)
    assert path == f"WiFi/Profile/{segment}"
    assert len(doc.roots[0].children[0].children) == 1  # one Profile child: not split
    profile = etree.fromstring(parm.value.encode())
    ns = {"w": px.WLAN_NAMESPACE}
    assert profile.findtext("w:name", namespaces=ns) == ssid
    assert profile.findtext("w:SSIDConfig/w:SSID/w:name", namespaces=ns) == ssid
    assert f'<characteristic type="{segment}">' in px.render(doc).decode("utf-8-sig")


@pytest.mark.parametrize(
    ("name", "part"),
    [
        ("fieldadmin", "fieldadmin"),  # as a WCD-built package names it
        ("Jürgen", "Jürgen"),
        ("lab admin", "lab_admin"),
        ("50%off", "50_off"),
        ("$(x)", "__x_"),
        ("end.", "end"),
    ],
)
def test_local_user_file_is_named_after_the_user(name, part):
    p = bare_project()
    p.local_users = [LocalUser(name, "pw")]
    (placed,) = px.place(px.project_documents(p))
    assert placed.file_name == f"0__Accounts_Users_{part}.provxml"
    assert px.walk(placed.doc.roots)[0][0] == f"Accounts/Users/{name}"  # the real name in the CSP


def test_two_users_with_the_same_file_part_still_get_distinct_files():
    p = bare_project()
    p.local_users = [LocalUser("a b", "pw"), LocalUser("a_b", "pw")]
    names = [pl.file_name for pl in px.place(px.project_documents(p))]
    assert names == ["0__Accounts_Users_a_b.provxml", "1__Accounts_Users_a_b.provxml"]
