"""Reading packages back: every real sample, our own packages round trip, damaged files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conftest import SAMPLES
from test_package_build import PROJECTS, full_project

from tui.errors import UserError
from tui.package import build as package
from tui.package.inspect import describe, read_package, to_json
from tui.wcd.paths import path
from tui.wcd.settings import MASK, Setting, project_settings

STAMP = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_mosd_2018_naming_and_two_sources():
    info = read_package(SAMPLES / "mosd.ppkg", show_secrets=True)
    assert (info.name, info.version, info.owner_type, info.rank, info.altitude) == (
        "mOSD", "1.00", "SystemIntegrator", 0, 3000
    )  # fmt: skip
    assert info.package_id == "{1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}"
    assert info.sources == ["RunTime", "User_RunTime"]
    assert info.sets[0].settings_group == "9de9b0e5-6d03-5ff6-a648-12a9d1c34bba"
    assert info.sets[-1].file.endswith(
        "User_RunTime/4__Policies_Experience_AllowWindowsConsumerFeatures.provxml"
    )
    assert info.settings_from == "customizations.xml"
    assert Setting(path("Accounts/ComputerAccount/ComputerName"), "Z-%SERIAL%") in info.settings
    assert (
        Setting(
            path(
                "ProvisioningCommands/PrimaryContext/Command",
                ("CommandConfig", "SetExecutionPolicy"),
                "ContinueInstall",
            ),
            "True",
        )
        in info.settings
    )
    parms = [(p.characteristic, p.name, p.value) for d in info.documents for p in d.parms]
    assert ("Provisioning/ForceSettingReload", "ComputerName", "1") in parms
    assert ("Policy/Config/Experience", "AllowWindowsConsumerFeatures", "0") in parms


def test_2016_group_naming_and_inlined_licence():
    info = read_package(SAMPLES / "iot-adk-prosku.ppkg")
    assert info.sources == ["Uicc_RunOnce", "RunTime"]
    assert [(s.settings_group, s.file.rsplit("/", 1)[1]) for s in info.sets] == [
        ("EditionUpgrade", "EditionUpgrade_0.provxml"),
        ("Policies", "Policies_1.provxml"),
    ]
    licence = info.documents[0].parms[0]
    assert (licence.characteristic, licence.name) == (
        "WindowsLicensing",
        "UpgradeEditionWithLicense",
    )
    assert licence.value.startswith(
        '<Macros xmlns="urn:Microsoft.WindowsPhone/PackageSchema.v8.00">'
    )
    assert len(licence.value) == 19977 and licence.value.endswith("</Macros>")
    assert len(info.documents[1].parms) == 7
    assert Setting(path("Policies/Update/ScheduledInstallDay"), "Sunday") in info.settings


def test_enroll_sample_masks_its_secret_unless_asked():
    masked = read_package(SAMPLES / "iot-adk-enroll.ppkg")
    key = path("Workplace/Enrollments", ("UPN", "alias@fabrikam.sfone.net"), "Secret")
    assert Setting(key, MASK) in masked.settings
    assert "Yukon009" not in str(to_json(masked)) and "Yukon009" not in describe(masked)
    shown = read_package(SAMPLES / "iot-adk-enroll.ppkg", show_secrets=True)
    assert Setting(key, "Yukon009") in shown.settings
    assert masked.owner_type == "OEM" and masked.altitude == 2000


def test_sampleb_microsoft_owner():
    info = read_package(SAMPLES / "iot-adk-sampleb-x86.ppkg")
    assert (info.name, info.owner_type, info.altitude) == ("ProvTest", "Microsoft", 0)
    assert [str(s.path) for s in info.settings] == [
        "Policies/Connectivity/AllowBluetooth",
        "Policies/Connectivity/AllowNFC",
        "Policies/Connectivity/AllowUSBConnection",
    ]


@pytest.mark.parametrize("kind", sorted(PROJECTS))
def test_round_trip_gives_back_every_setting(tmp_path, kind):
    project = PROJECTS[kind](tmp_path)
    out = tmp_path / "rt.ppkg"
    package.build_package(project, out, timestamp=STAMP)
    info = read_package(out, show_secrets=True)
    assert info.settings == project_settings(project)
    pkg = project.package
    assert (info.name, info.package_id, info.version, info.owner_type, info.rank) == (
        pkg.name, pkg.id, pkg.version, pkg.owner_type.value, pkg.rank
    )  # fmt: skip
    assert info.derived == package.px.derived_settings(project)


def test_secrets_are_masked_everywhere(tmp_path):
    project = full_project(tmp_path)
    out = tmp_path / "rt.ppkg"
    package.build_package(project, out, timestamp=STAMP)
    masked = read_package(out)
    text = describe(masked) + str(to_json(masked))
    for secret in ("bulk-token-secret", "S3cret-pass!", "correct horse battery"):
        assert secret not in text
    assert sum(s.value == MASK for s in masked.settings) == 3


def test_package_without_customizations_falls_back_to_provxml(tmp_path):
    project = full_project(tmp_path)
    project.allow_windows_consumer_features = False
    tree = [
        (p, s)
        for p, s in package.package_tree(
            project, package.collect_assets(project), package.read_certificates(project)
        )
        if not p.endswith("customizations.xml")
    ]
    from tui.package.wim.writer import write_wim

    out = tmp_path / "bare.ppkg"
    with open(out, "wb") as f:
        write_wim(f, tree, package.image_info(project, STAMP))
    info = read_package(out)
    assert info.settings_from == "provxml"
    # The stages' forms name their settings too: the bulk token (a secret, masked), the local
    # user's password and group (the key from the characteristic, as compiled).
    assert Setting(path("Accounts/Azure/BPRT"), MASK) in info.settings
    assert not any(s.path == path("AADJ/BPRT") for s in info.settings)
    authority = Setting(path("Accounts/Azure/Authority"), project.entra.authority)
    assert authority in info.settings
    user = path("Accounts/Users", ("User", "labadmin"))
    assert Setting(user + path("Password"), MASK) in info.settings
    assert Setting(user + path("UserGroup"), "2") in info.settings
    # Wi-Fi's one parm holds four settings: it keeps its characteristic's name, masked.
    wlan = path("WiFi/Profile", project.wifi.ssid.replace(" ", "%20"), "WlanXml")
    assert Setting(wlan, MASK) in info.settings
    # A parm whose form the catalogue knows is named by its WCD setting, value as compiled.
    assert Setting(path("OOBE", "Desktop", "HideOobe"), "true") in info.settings
    policy = path("Policies", "Experience", "AllowWindowsConsumerFeatures")
    assert Setting(policy, "0") in info.settings  # Policy/Config/Experience, user scope
    assert "SharedPC/EnableSharedPCMode" in info.derived
    shown = read_package(out, show_secrets=True)
    assert Setting(path("Accounts/Azure/BPRT"), project.entra.bprt) in shown.settings
    assert Setting(user + path("Password"), "S3cret-pass!") in shown.settings
    assert shown.owner_type == "ITAdmin" and shown.rank is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[:100],
        lambda d: d[: len(d) // 2],
        lambda d: b"MSWIM\0\0\0" + b"\xff" * (len(d) - 8),
        lambda d: d[:208] + bytes(len(d) - 208),
        lambda d: b"not a package at all",
    ],
)
def test_damaged_package_is_one_clear_error(tmp_path, damage):
    bad = tmp_path / "bad.ppkg"
    bad.write_bytes(damage((SAMPLES / "mosd.ppkg").read_bytes()))
    with pytest.raises(UserError, match="bad.ppkg"):
        read_package(bad)


def test_wim_that_is_not_a_provisioning_package(tmp_path):
    from tui.package.wim.imagexml import ImageInfo
    from tui.package.wim.writer import write_wim

    out = tmp_path / "plain.wim"
    with open(out, "wb") as f:
        write_wim(f, [("hello.txt", b"hi")], ImageInfo("x", timestamp=STAMP))
    with pytest.raises(UserError, match="not a provisioning package"):
        read_package(out)


def test_a_file_that_is_not_a_wim_says_so(tmp_path):
    other = tmp_path / "protected.ppkg"
    other.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UserError, match="not a WIM image.*password-protected"):
        read_package(other)


def test_missing_package_file(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_package(tmp_path / "nope.ppkg")


def test_broken_provxml_inside_a_package(tmp_path):
    from tui.package.wim.imagexml import ImageInfo
    from tui.package.wim.reader import WimReader
    from tui.package.wim.writer import write_wim

    with WimReader(SAMPLES / "mosd.ppkg") as r:
        tree = [(p, r.read(p)) for p in r.files()]
    tree = [
        (p, b"<wap-provisioningdoc><characteristic" if p.endswith("0__Accounts.provxml") else d)
        for p, d in tree
    ]
    out = tmp_path / "broken.ppkg"
    with open(out, "wb") as f:
        write_wim(f, tree, ImageInfo("broken", timestamp=STAMP))
    with pytest.raises(UserError, match="0__Accounts.provxml is not well-formed XML"):
        read_package(out)


def test_random_damage_never_escapes_as_a_traceback(tmp_path):
    """Seeded byte flips, cuts and splices of a real package: a result or one UserError."""
    import random

    original = (SAMPLES / "mosd.ppkg").read_bytes()
    rng = random.Random(20261130)
    bad = tmp_path / "fuzz.ppkg"
    outcomes = {"read": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            data[at] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        bad.write_bytes(bytes(data))
        try:
            read_package(bad)
            outcomes["read"] += 1
        except UserError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100  # most damage is detected (SHA-1, bounds, XML)


def test_entity_expansion_in_a_package_is_not_followed(tmp_path):
    from tui.package.wim.imagexml import ImageInfo
    from tui.package.wim.reader import WimReader
    from tui.package.wim.writer import write_wim

    with WimReader(SAMPLES / "mosd.ppkg") as r:
        tree = {p: r.read(p) for p in r.files()}
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<wap-provisioningdoc><characteristic type="&d;" /></wap-provisioningdoc>'
    )
    original_accounts = tree["Multivariant/0/Prov/RunTime/0__Accounts.provxml"]
    tree["Multivariant/0/Prov/RunTime/0__Accounts.provxml"] = bomb
    out = tmp_path / "bomb.ppkg"
    with open(out, "wb") as f:
        write_wim(f, tree.items(), ImageInfo("bomb", timestamp=STAMP))
    with pytest.raises(UserError, match="0__Accounts.provxml is carrying a DTD"):
        read_package(out)
    tree["Multivariant/0/Prov/RunTime/0__Accounts.provxml"] = original_accounts
    tree["Multivariant/0/customizations.xml"] = bomb.replace(
        b"wap-provisioningdoc", b"WindowsCustomizations"
    )
    with open(out, "wb") as f:
        write_wim(f, tree.items(), ImageInfo("bomb", timestamp=STAMP))
    with pytest.raises(UserError, match="customizations.xml is carrying a DTD"):
        read_package(out)
