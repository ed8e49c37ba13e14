"""Building real packages for every setting of the model, checked by independent readers.

wimlib-imagex (verify, info --xml, apply) and 7-Zip (x) read what we wrote; every extracted
file is compared byte for byte with what we meant to write.
"""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from tui.errors import UserError
from tui.package import build as package
from tui.project.model import (
    Application,
    Certificate,
    JoinKind,
    LocalUser,
    OwnerType,
    Project,
    Wifi,
    WifiSecurity,
)

STAMP = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)

# Every WIM a test here leaves behind is read by wimlib and 7-Zip too (conftest.py).
pytestmark = pytest.mark.usefixtures("real_readers_check")


def full_project(tmp: Path) -> Project:
    """A project that uses every setting the model has, with real payload files."""
    installer = tmp / "setup.msi"
    installer.write_bytes(os.urandom(200_000) + b"end")
    dependency = tmp / "vc_redist.x64.exe"
    dependency.write_bytes(b"MZ" + bytes(5000))
    script = tmp / "hello.cmd"
    script.write_bytes(b"@echo hi\r\n")
    ca = trustme.CA()
    pem = tmp / "root-b64.cer"
    pem.write_bytes(ca.cert_pem.bytes())
    der = tmp / "root-der.cer"
    der.write_bytes(
        x509.load_pem_x509_certificate(trustme.CA().cert_pem.bytes()).public_bytes(Encoding.DER)
    )

    p = Project()
    p.package.name = "Contoso Lab"
    p.package.version = "1.2"
    p.package.description = "Lab PCs, building 4"
    p.package.owner_type = OwnerType.IT_ADMIN
    p.device.name = "LAB-%SERIAL%"
    p.device.product_key = "NPPR9-FWDCX-D2C8J-H872K-2YT43"
    p.device.shared_pc = True
    p.device.remove_preinstalled = True
    p.wifi = Wifi(ssid="Contoso Lab", key="correct horse battery")
    p.entra.bprt = "eyJhbGciOiJSUzI1NiJ9.bulk-token-secret"
    p.entra.expires = date(2027, 3, 1)
    p.local_users = [LocalUser("labadmin", "S3cret-pass!")]
    p.applications = [
        Application(
            name="Agent",
            file=str(installer),
            command_line='msiexec /i "setup.msi" /quiet',
            restart_required=True,
            dependencies=[str(dependency)],
        ),
        Application(
            name="Script",
            file=str(script),
            command_line='cmd /c "hello.cmd"',
            continue_install=False,
        ),
    ]
    p.certificates = [Certificate("Root B64", str(pem)), Certificate("Root DER", str(der))]
    return p


def ad_join_project(tmp: Path) -> Project:
    """The other half of the model: AD join, an open hidden Wi-Fi, two users, OEM owner."""
    script = tmp / "install.ps1"
    script.write_bytes("Write-Output 'Grüße'\r\n".encode())
    p = Project()
    p.package.name = "Branch & Co (AD)"
    p.package.owner_type = OwnerType.OEM
    p.package.rank = 3
    p.package.version = "2.0.1.7"
    p.join = JoinKind.ACTIVE_DIRECTORY
    p.domain.domain = "corp.example.com"
    p.domain.account = "corp\\joiner"
    p.domain.password = 'p"w<&>'
    p.domain.ou = "OU=PCs,DC=corp,DC=example,DC=com"
    p.device.name = "BR-%RAND:5%"
    p.wifi = Wifi(ssid="Guest Wi-Fi", security=WifiSecurity.OPEN, hidden=True, auto_connect=False)
    p.local_users = [
        LocalUser("support", "Xy12!abc"),
        LocalUser("kiosk", "Kk34!xyz", "Standard Users"),
    ]
    p.applications = [
        Application(name="Script", file=str(script), command_line="powershell -File install.ps1")
    ]
    p.hide_oobe = False
    p.allow_all_trusted_apps = False
    return p


PROJECTS = {"entra-full": full_project, "ad-join": ad_join_project}


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], check=True, capture_output=True)


def expected_bytes(tree) -> dict[str, bytes]:
    return {
        path: source.read_bytes() if isinstance(source, Path) else source for path, source in tree
    }


def files_under(root: Path) -> dict[str, bytes]:
    return {f.relative_to(root).as_posix(): f.read_bytes() for f in root.rglob("*") if f.is_file()}


@pytest.fixture(params=sorted(PROJECTS))
def built(tmp_path, request):
    project = PROJECTS[request.param](tmp_path)
    out = tmp_path / "out" / "lab.ppkg"
    out.parent.mkdir()
    result = package.build_package(project, out, timestamp=STAMP)
    tree = package.package_tree(
        project, package.collect_assets(project), package.read_certificates(project)
    )
    return project, out, result, expected_bytes(tree)


def test_wimlib_verifies_the_package(built):
    _, out, _, _ = built
    verify = run("wimlib-imagex", "verify", out)
    assert b"successfully verified" in verify.stdout


def test_image_properties_as_wimlib_reads_them(built):
    project, out, _, _ = built
    xml = run("wimlib-imagex", "info", "--xml", out).stdout
    image = etree.fromstring(xml.decode("utf-16")).find("IMAGE")
    pid = project.package.id
    assert image.findtext("NAME") == project.package.name
    assert image.findtext("DESCRIPTION") == project.package.description
    assert image.findtext("VERSION") == project.package.version
    assert image.findtext("ALTITUDE") == str(project.package.owner_type.altitude)
    assert image.findtext("RESETCLEAR") == "0"
    assert image.findtext("PACKAGEID") == pid
    assert image.findtext("NOTES") == (
        "VERSION=10.0.26100.1;Source=Classic;;TargetSkus=WindowsCommon,Desktop;"
        f"EncryptPackage=False;SignPackage=False;PackageID={pid.strip('{}')};"
    )
    assert [el.tag for el in image][:8] == [
        "NAME", "DESCRIPTION", "NOTES", "AUTHOR", "VERSION", "ALTITUDE", "RESETCLEAR", "PACKAGEID"
    ]  # fmt: skip


@pytest.mark.parametrize("extractor", ["wimlib", "7zz"])
def test_every_extracted_file_is_what_we_meant(built, tmp_path, extractor):
    _, out, result, expected = built
    dest = tmp_path / f"x-{extractor}"
    if extractor == "wimlib":
        run("wimlib-imagex", "apply", out, "1", dest)
    else:
        run("7zz", "x", out, f"-o{dest}", "-y")
    got = files_under(dest)
    assert sorted(got) == sorted(expected) == sorted(result.files)
    for path, data in expected.items():
        assert got[path] == data, path


def test_ad_join_package_carries_its_settings(tmp_path):
    project = ad_join_project(tmp_path)
    result = package.build_package(project, tmp_path / "ad.ppkg", timestamp=STAMP)
    stems = [p.rsplit("__", 1)[1] for p in result.files if p.endswith(".provxml")]
    assert stems[:4] == [
        "ConnectivityProfiles_WLAN_WLANSetting_0.provxml",
        "Accounts_ComputerAccount.provxml",
        "Accounts_Users_support.provxml",
        "Accounts_Users_kiosk.provxml",
    ]
    tree = dict(package.package_tree(project, package.collect_assets(project)))
    domain = next(v for k, v in tree.items() if k.endswith("Accounts_ComputerAccount.provxml"))
    assert b'name="Password" value="p&quot;w&lt;&amp;&gt;"' in domain
    assert b'name="AccountOU" value="OU=PCs,DC=corp,DC=example,DC=com"' in domain
    wifi = next(v for k, v in tree.items() if "WLANSetting" in k).decode("utf-8-sig")
    assert "&lt;authentication&gt;open&lt;/authentication&gt;" in wifi
    assert "&lt;nonBroadcast&gt;true&lt;/nonBroadcast&gt;" in wifi
    kiosk = next(v for k, v in tree.items() if k.endswith("Accounts_Users_kiosk.provxml"))
    assert b'name="LocalUserGroup" value="1" datatype="integer"' in kiosk
    assert result.derived == [
        "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig/WLANXmlSettings",
        "Accounts/ComputerAccount/DomainName",
    ]


def test_package_tree_carries_every_setting(tmp_path):
    project = full_project(tmp_path)
    out = tmp_path / "full.ppkg"
    result = package.build_package(project, out, timestamp=STAMP)
    expected = expected_bytes(
        package.package_tree(
            project, package.collect_assets(project), package.read_certificates(project)
        )
    )
    names = [p.rsplit("/", 1)[-1] for p in result.files if p.endswith(".provxml")]
    stems = [n.split("__", 1)[1].removesuffix(".provxml") for n in names]
    assert stems == [
        # Uicc_RunOnce comes first in MasterDatastore, as in the real prosku package.
        "EditionUpgrade_UpgradeEditionWithProductKey",
        "ConnectivityProfiles_WLAN_WLANSetting_0",
        "Certificates_RootCertificates_0",
        "Certificates_RootCertificates_1",
        "Accounts_Azure",
        "Accounts",
        "Accounts_Users_labadmin",
        "Policies_ApplicationManagement_AllowAllTrustedApps",
        "OOBE_Desktop_HideOobe",
        "SharedPC_AccountManagement_AccountModel",
        "SharedPC_AccountManagement_EnableAccountManager",
        "SharedPC_EnableSharedPCMode",
        "ProvisioningCommands_PrimaryContext_Command_0_CommandFile",
        "ProvisioningCommands_PrimaryContext_Command_0_CommandLine",
        "ProvisioningCommands_PrimaryContext_Command_0_ContinueInstall",
        "ProvisioningCommands_PrimaryContext_Command_0_DependencyPackages_0",
        "ProvisioningCommands_PrimaryContext_Command_0_RestartRequired",
        "ProvisioningCommands_PrimaryContext_Command_0_ReturnCodeRestart",
        "ProvisioningCommands_PrimaryContext_Command_0_ReturnCodeSuccess",
        "ProvisioningCommands_PrimaryContext_Command_1_CommandFile",
        "ProvisioningCommands_PrimaryContext_Command_1_CommandLine",
        "ProvisioningCommands_PrimaryContext_Command_1_ContinueInstall",
        "ProvisioningCommands_PrimaryContext_Command_1_RestartRequired",
        "ProvisioningCommands_PrimaryContext_Command_1_ReturnCodeRestart",
        "ProvisioningCommands_PrimaryContext_Command_1_ReturnCodeSuccess",
        "CleanPC_CleanPCWithoutRetainingUserData",
    ]
    assert (
        "Multivariant/0/Prov/Uicc_RunOnce/0__EditionUpgrade_UpgradeEditionWithProductKey.provxml"
        in (result.files)
    )
    assert b'Name="Uicc_RunOnce"' in expected["Multivariant/0/MasterDatastore.xml"]
    assert len(result.derived) == 6
    # Installer and dependency are carried under DataAsset/2/<i>_<b64 sha256>/<name>.
    payloads = [p for p in result.files if p.startswith("DataAsset/2/")]
    assert [p.rsplit("/", 1)[1] for p in payloads] == [
        "setup.msi",
        "vc_redist.x64.exe",
        "hello.cmd",
    ]
    assert expected[payloads[0]] == Path(project.applications[0].file).read_bytes()
    data_asset = expected["DataAsset/DataAsset.xml"].decode()
    assert payloads[0].split("/")[2] + "\\setup.msi" in data_asset
    # Both certificate encodings end up as the same DER, base64-inlined.
    for i, cert in enumerate(project.certificates):
        doc = next(v for k, v in expected.items() if k.endswith(f"RootCertificates_{i}.provxml"))
        raw = Path(cert.path).read_bytes()
        der = package.certificate_der(raw, cert.path)
        import base64

        assert base64.b64encode(der) in doc


def test_xml_encodings_follow_icd(built):
    _, _, _, expected = built
    no_bom = {
        "Multivariant/Multivariant.xml",
        "CommonSettings/CommonSettings.xml",
        "DataAsset/DataAsset.xml",
    }
    for path, data in expected.items():
        if not (path.endswith(".xml") or path.endswith(".provxml")):
            continue
        if path in no_bom:
            assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\r\n'), path
        else:
            assert data.startswith(b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"'), path
        body = data.replace(b"\r\n", b"")
        assert b"\n" not in body and b"\r" not in body, path
        assert not data.endswith(b"\n"), path
        assert b"/>" not in data.replace(b" />", b""), path


def test_same_project_and_time_stamp_give_identical_bytes(tmp_path):
    project = full_project(tmp_path)
    a, b, c = tmp_path / "a.ppkg", tmp_path / "b.ppkg", tmp_path / "c.ppkg"
    package.build_package(project, a, timestamp=STAMP)
    package.build_package(project, b, timestamp=STAMP)
    package.build_package(project, c, timestamp=datetime(2026, 12, 1, tzinfo=UTC))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_package_is_owner_only(built):
    _, out, _, _ = built
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_invalid_project_leaves_no_output_and_keeps_an_old_one(tmp_path):
    project = full_project(tmp_path)
    project.device.name = "way-too-long-device-name"
    out = tmp_path / "out.ppkg"
    with pytest.raises(UserError, match="Device name"):
        package.build_package(project, out, timestamp=STAMP)
    assert not out.exists()
    out.write_bytes(b"previous package")
    with pytest.raises(UserError):
        package.build_package(project, out, timestamp=STAMP)
    assert out.read_bytes() == b"previous package"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_failure_while_writing_leaves_nothing(tmp_path):
    project = full_project(tmp_path)
    out = tmp_path / "out.ppkg"

    class Stop(Exception):
        pass

    def progress(done: int, total: int) -> None:
        if done > 1000:
            raise Stop

    with pytest.raises(Stop):
        package.build_package(project, out, timestamp=STAMP, progress=progress)
    assert not out.exists()
    assert [p for p in tmp_path.iterdir() if p.suffix == ".part"] == []


def test_output_in_a_missing_folder_is_a_user_error(tmp_path):
    project = full_project(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        package.build_package(project, tmp_path / "nope" / "x.ppkg", timestamp=STAMP)
    with pytest.raises(UserError, match="is a folder"):
        package.build_package(project, tmp_path, timestamp=STAMP)


def test_progress_reaches_the_total(tmp_path):
    project = full_project(tmp_path)
    seen: list[tuple[int, int]] = []
    package.build_package(
        project, tmp_path / "p.ppkg", timestamp=STAMP, progress=lambda d, t: seen.append((d, t))
    )
    assert seen and seen[-1][0] == seen[-1][1] > 200_000
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_no_join_project_builds_without_token(tmp_path):
    p = Project()
    p.package.name = "Wired only"
    p.join = JoinKind.NONE
    out = tmp_path / "n.ppkg"
    result = package.build_package(p, out, timestamp=STAMP)
    assert [f for f in result.files if f.endswith(".provxml")] == [
        "Multivariant/0/Prov/RunTime/0__Policies_ApplicationManagement_AllowAllTrustedApps.provxml",
        "Multivariant/0/Prov/RunTime/1__OOBE_Desktop_HideOobe.provxml",
    ]
    run("wimlib-imagex", "verify", out)


def test_payload_is_streamed_not_held_in_memory(tmp_path):
    """Peak Python allocation must not grow with the installer's size (sparse files)."""
    import tracemalloc

    def peak_for(size: int) -> int:
        installer = tmp_path / f"big-{size}.msi"
        with open(installer, "wb") as f:
            f.truncate(size)
        p = Project()
        p.package.name = "Big"
        p.entra.bprt = "token"
        p.applications = [Application(name="Big", file=str(installer), command_line="msiexec")]
        tracemalloc.start()
        try:
            package.build_package(p, tmp_path / f"big-{size}.ppkg", timestamp=STAMP)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak_for(4 << 20), peak_for(96 << 20)
    assert large - small < 2 << 20, (small, large)
    assert (tmp_path / f"big-{96 << 20}.ppkg").stat().st_size > 96 << 20
