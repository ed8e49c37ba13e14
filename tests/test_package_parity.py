"""Structural parity with real WCD packages: file list, XML shapes and encodings.

mosd.ppkg (WCD 10.0.17134) is rebuilt from the same settings as far as the model goes; the
Entra wizard package tree is the one in the reference (a real WCD 2025 package). The
differences we keep on purpose are listed in docs/package-format.md and named below.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import SAMPLES
from lxml import etree

from tui.package import build as package
from tui.project.model import Application, JoinKind, Project

# In mosd, not in our model (their settings, and the second source they need).
MOSD_UNMODELLED = {
    "Policies_Security_RequireProvisioningPackageSignature",
    "Policies_Experience_AllowWindowsConsumerFeatures",
}
# We always write every field of a command (the project's customizations.xml has them all).
COMMAND_FIELDS_WE_ADD = {
    "ProvisioningCommands_PrimaryContext_Command_0_RestartRequired",
    "ProvisioningCommands_PrimaryContext_Command_0_ReturnCodeRestart",
    "ProvisioningCommands_PrimaryContext_Command_0_ReturnCodeSuccess",
}
ENTRA_REFERENCE_TREE = [
    "Multivariant/Multivariant.xml",
    "Multivariant/0/MasterDatastore.xml",
    "Multivariant/0/customizations.xml",
    "Multivariant/0/Prov/RunTime.xml",
    "Multivariant/0/Prov/RunTime/0__Accounts_Azure.provxml",
    "Multivariant/0/Prov/RunTime/1__Policies_ApplicationManagement_AllowAllTrustedApps.provxml",
    "Multivariant/0/Prov/RunTime/2__OOBE_Desktop_HideOobe.provxml",
    "CommonSettings/CommonSettings.xml",
    "CommonSettings/1/AnswerFile.xml",
]


@pytest.fixture(scope="module")
def mosd(tmp_path_factory) -> dict[str, bytes]:
    dest = tmp_path_factory.mktemp("mosd")
    subprocess.run(
        ["wimlib-imagex", "apply", str(SAMPLES / "mosd.ppkg"), "1", str(dest)],
        check=True,
        capture_output=True,
    )
    return {f.relative_to(dest).as_posix(): f.read_bytes() for f in dest.rglob("*") if f.is_file()}


def mosd_like_project() -> Project:
    p = Project()
    p.package.name = "mOSD"
    p.package.id = "{1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}"
    p.package.version = "1.00"
    p.join = JoinKind.NONE
    p.hide_oobe = False
    p.allow_all_trusted_apps = False
    p.device.name = "Z-%SERIAL%"
    p.applications = [
        Application(
            name="SetExecutionPolicy",
            command_line="powershell.exe -command set-executionpolicy bypass -force",
        )
    ]
    return p


def ours(project: Project) -> dict[str, bytes]:
    return dict(package.package_tree(project))  # no payloads: every source is bytes


def stem(path: str) -> str:
    return re.sub(r"^\d+__", "", path.rsplit("/", 1)[-1]).removesuffix(".provxml")


def shape(data: bytes, ignore: frozenset[str] = frozenset({"SettingsPath"})):
    """Element names, attribute names in order, children: the structure without the values."""

    def walk(el):
        attrs = tuple(a for a in el.attrib if a not in ignore)
        return (el.tag, attrs, tuple(walk(c) for c in el))

    return walk(etree.fromstring(data))


def encoding(data: bytes) -> tuple:
    first_line = data.split(b"\r\n", 1)[0]
    return (
        data.startswith(b"\xef\xbb\xbf"),
        first_line.removeprefix(b"\xef\xbb\xbf"),
        b"\n" not in data.replace(b"\r\n", b""),  # CRLF only
        data.endswith(b">"),  # no final newline
    )


def test_mosd_file_list(mosd):
    mine = ours(mosd_like_project())
    their_prov = {stem(p) for p in mosd if p.endswith(".provxml")} - MOSD_UNMODELLED
    our_prov = {stem(p) for p in mine if p.endswith(".provxml")} - COMMAND_FIELDS_WE_ADD
    assert our_prov == their_prov
    their_other = {p for p in mosd if not p.endswith(".provxml")} - {
        "Multivariant/0/Prov/User_RunTime.xml"
    }
    assert {p for p in mine if not p.endswith(".provxml")} == their_other


def test_mosd_xml_shapes_and_encodings(mosd):
    mine = ours(mosd_like_project())
    theirs_by_stem = {stem(p): d for p, d in mosd.items() if p.endswith(".provxml")}
    for path, data in mine.items():
        if path.endswith(".provxml") and stem(path) in theirs_by_stem:
            assert shape(data) == shape(theirs_by_stem[stem(path)]), path
            assert encoding(data) == encoding(theirs_by_stem[stem(path)]), path
    for path in ("Multivariant/Multivariant.xml", "CommonSettings/CommonSettings.xml"):
        assert mine[path] == mosd[path]
    for path in (
        "Multivariant/0/MasterDatastore.xml",
        "Multivariant/0/Prov/RunTime.xml",
        "Multivariant/0/customizations.xml",
        "CommonSettings/1/AnswerFile.xml",
    ):
        assert encoding(mine[path]) == encoding(mosd[path]), path
    # Index files: each entry has the same shape as WCD's.
    master_ours = etree.fromstring(mine["Multivariant/0/MasterDatastore.xml"])
    master_theirs = etree.fromstring(mosd["Multivariant/0/MasterDatastore.xml"])
    assert shape(etree.tostring(master_ours[0])) == shape(etree.tostring(master_theirs[0]))
    assert master_ours.attrib == master_theirs.attrib
    runtime_ours = etree.fromstring(mine["Multivariant/0/Prov/RunTime.xml"])
    runtime_theirs = etree.fromstring(mosd["Multivariant/0/Prov/RunTime.xml"])
    assert {shape(etree.tostring(e)) for e in runtime_ours} == {
        shape(etree.tostring(e)) for e in runtime_theirs
    }
    # The settings both packages carry use the same SettingsGroup GUIDs and file names.
    sets = {e.get("Data").rsplit("\\", 1)[1]: e.get("SettingsGroup") for e in runtime_theirs}
    for e in runtime_ours:
        name = e.get("Data").rsplit("\\", 1)[1]
        twin = [g for n, g in sets.items() if stem(n) == stem(name)]
        if twin:
            assert e.get("SettingsGroup") == twin[0], name


def test_mosd_customizations_cover_the_modelled_settings(mosd):
    """Every element path in mosd's customizations.xml that we model is in ours too."""

    def paths(data: bytes) -> set[str]:
        root = etree.fromstring(data)
        out = set()
        for el in root.iter():
            if len(el) == 0:
                parts = [etree.QName(a).localname for a in reversed(list(el.iterancestors()))]
                out.add("/".join([*parts, etree.QName(el).localname]))
        return out

    theirs = paths(mosd["Multivariant/0/customizations.xml"])
    mine = paths(ours(mosd_like_project())["Multivariant/0/customizations.xml"])
    unmodelled = {p for p in theirs if "Experience" in p or "Security" in p}
    assert theirs - unmodelled <= mine


def test_entra_wizard_package_tree_is_the_reference_tree():
    p = Project()
    p.package.name = "Bulk"
    p.entra.bprt = "token"
    assert list(ours(p)) == ENTRA_REFERENCE_TREE


def test_data_asset_layout(tmp_path):
    installer = tmp_path / "agent.msi"
    installer.write_bytes(b"payload")
    p = Project()
    p.entra.bprt = "token"
    p.applications = [Application(name="Agent", file=str(installer), command_line="msiexec")]
    tree = dict(package.package_tree(p, package.collect_assets(p)))
    assets = [k for k in tree if k.startswith("DataAsset/2/")]
    assert len(assets) == 1
    folder = assets[0].split("/")[2]
    assert re.fullmatch(r"0_[A-Za-z0-9+.]{43}=", folder)
    assert tree[assets[0]] == Path(installer)
    index = tree["DataAsset/DataAsset.xml"]
    assert encoding(index) == encoding(tree["Multivariant/Multivariant.xml"])
    root = etree.fromstring(index)
    assert root.tag == "Elements" and root.get("Type") == "DataAsset"
    assert [(m.get("Key"), m.get("Value")) for m in root[0]] == [
        ("Name", "CommandFile"),
        (f"{folder}\\agent.msi", "/ProvisioningCommands/PrimaryContext/Command/0/CommandFile"),
    ]


# The AADJ document of the real WCD 2025 Entra package, as the reference shows it.
ENTRA_AADJ = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8" standalone="yes"?>\r\n'
    b"<wap-provisioningdoc>\r\n"
    b'  <characteristic type="AADJ">\r\n'
    b'    <parm SettingsPath="Accounts/Azure/Authority" name="Authority" '
    b'value="https://login.microsoftonline.com/common" datatype="string" />\r\n'
    b'    <parm SettingsPath="Accounts/Azure/BPRT" name="BPRT" value="token" '
    b'datatype="string" />\r\n'
    b"  </characteristic>\r\n"
    b"</wap-provisioningdoc>"
)


def test_entra_aadj_document_is_the_reference_form():
    p = Project()
    p.entra.bprt = "token"
    assert ours(p)["Multivariant/0/Prov/RunTime/0__Accounts_Azure.provxml"] == ENTRA_AADJ
