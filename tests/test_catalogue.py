"""The settings catalogue (tui/wcd/catalogue.py): one table that import, export, the compiler,
inspect and the docs read; structured setting paths; settings with no model field."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from conftest import SAMPLES
from test_cli_build_inspect import STAMP, cli, one_sentence_error
from test_package_build import full_project
from test_provxml import bare_project

from tui.package import compiler as px
from tui.package.build import build_package
from tui.package.inspect import describe, read_package
from tui.package.wim.reader import WimReader
from tui.project.file import load_project, save_project
from tui.screens.review import package_settings
from tui.wcd import catalogue
from tui.wcd.customizations import (
    load_customizations,
    read_customizations,
    to_customizations_xml,
)
from tui.wcd.paths import path
from tui.wcd.settings import Setting, project_settings

REPO = Path(__file__).resolve().parent.parent
ODD = "Office [x64]/Visio"


def _sample_customizations(name: str, tmp_path: Path) -> bytes:
    dest = tmp_path / name
    subprocess.run(
        ["wimlib-imagex", "apply", str(SAMPLES / f"{name}.ppkg"), "1", str(dest)],
        check=True,
        capture_output=True,
    )
    return (dest / "Multivariant/0/customizations.xml").read_bytes()


def test_the_docs_table_is_the_catalogue():
    text = (REPO / "docs/settings.md").read_text(encoding="utf-8")
    table = text.split("<!-- catalogue: begin")[1].split("-->\n", 1)[1]
    table = table.split("<!-- catalogue: end -->")[0]
    assert table == catalogue.markdown_table(), "paste: python -m tui.wcd.catalogue"


def test_every_row_is_complete_and_every_project_setting_has_one(tmp_path):
    shapes = [r.shape for r in catalogue.ROWS]
    assert len(shapes) == len(set(shapes))
    for r in catalogue.ROWS:
        assert r.stage in catalogue.STAGES and r.evidence in ("observed", "derived")
        assert (r.evidence == "derived") == bool(r.derived), r.shape
        assert r.reference and r.provisioning
    for s in project_settings(full_project(tmp_path)):
        assert catalogue.row_of(s.path) is not None, s.path


def test_a_list_key_with_brackets_and_a_slash_round_trips_and_builds(tmp_path):
    project = full_project(tmp_path)
    project.applications[0].name = ODD
    xml = to_customizations_xml(project)
    assert f'<CommandConfig Name="{ODD}">'.encode() in xml
    imported = read_customizations(xml, source="customizations.xml")
    assert imported.unknown == [] and imported.extra == []
    assert [a.name for a in imported.project.applications] == [ODD, "Script"]
    assert imported.project.applications[0].dependencies == project.applications[0].dependencies
    assert to_customizations_xml(imported.project) == xml

    wcd = tmp_path / "customizations.xml"
    wcd.write_bytes(xml)
    out = tmp_path / "odd.ppkg"
    built = cli("build", wcd, "-o", out, "--timestamp", STAMP)
    assert built.returncode == 0, built.stderr
    info = read_package(out)
    line = path(
        "ProvisioningCommands/PrimaryContext/Command", ("CommandConfig", ODD), "CommandLine"
    )
    assert Setting(line, project.applications[0].command_line) in info.settings
    assert f"CommandConfig[{ODD}]/CommandLine" in describe(info)
    # The command is numbered in the provxml, so the name reaches no file name.
    assert any(f.endswith("_Command_0_CommandLine.provxml") for f in info.files)


def test_a_setting_the_catalogue_knows_builds_with_no_model_field(tmp_path):
    # iot-adk-sampleb-x86 sets three Connectivity policies the project model has no field for.
    data = _sample_customizations("iot-adk-sampleb-x86", tmp_path)
    imported = read_customizations(data, source="sampleb")
    assert imported.unknown == []
    assert [str(s.path) for s in imported.extra] == [
        f"Policies/Connectivity/Allow{x}" for x in ("Bluetooth", "NFC", "USBConnection")
    ]
    wcd = tmp_path / "customizations.xml"
    wcd.write_bytes(data)
    out = tmp_path / "sampleb.ppkg"
    built = cli("build", wcd, "-o", out, "--timestamp", STAMP)
    assert built.returncode == 0, built.stderr
    info = read_package(out)
    parms = {(p.characteristic, p.name): p.value for d in info.documents for p in d.parms}
    # The values the real package holds for the same settings (AllowBluetooth Yes is 2).
    assert parms[("Policy/Config/Connectivity", "AllowBluetooth")] == "2"
    assert parms[("Policy/Config/Connectivity", "AllowNFC")] == "1"
    assert parms[("Policy/Config/Connectivity", "AllowUSBConnection")] == "1"
    assert Setting(path("Policies/Connectivity/AllowNFC"), "Yes") in info.settings


def test_the_apps_import_lists_extra_settings_as_left_out(tmp_path):
    # The app's project holds no extra settings: it tells the user they stay out.
    wcd = tmp_path / "customizations.xml"
    wcd.write_bytes(_sample_customizations("iot-adk-sampleb-x86", tmp_path))
    result = load_customizations(wcd)
    assert result.extra == []
    assert result.unknown == [
        f"Policies/Connectivity/Allow{x}" for x in ("Bluetooth", "NFC", "USBConnection")
    ]


def test_a_known_setting_with_a_value_its_form_does_not_know_is_one_sentence(tmp_path):
    data = _sample_customizations("iot-adk-sampleb-x86", tmp_path)
    wcd = tmp_path / "customizations.xml"
    wcd.write_bytes(data.replace(b"<AllowNFC>Yes</AllowNFC>", b"<AllowNFC>Maybe</AllowNFC>"))
    refused = cli("build", wcd, "-o", tmp_path / "x.ppkg", "--timestamp", STAMP)
    assert "Policies/Connectivity/AllowNFC must be Yes or No" in one_sentence_error(refused)


@pytest.mark.parametrize("row", catalogue.ROWS, ids=lambda r: r.shape)
def test_each_scalar_row_compiles_to_its_form(row):
    if row.form is None:
        return
    value = (row.choices or ("True",))[-1] if row.type != catalogue.YES_NO else "Yes"
    (doc,) = px.documents([Setting(path(row.shape), value)], "{id}")
    ((characteristic, parm),) = px.walk(doc.roots)
    assert characteristic == row.form.characteristic and parm.name == row.form.parm
    assert (parm.datatype, doc.source, doc.derived) == (
        row.form.datatype,
        row.form.source,
        row.derived,
    )
    assert parm.settings_path == row.shape


def test_each_rows_words_name_the_characteristic_and_parm_of_its_forms():
    """Row.provisioning (docs/settings.md's column) restates the structured forms: it must
    name exactly their characteristic path and parm, placeholders as <…>."""
    for r in catalogue.ROWS:
        forms = [f for f in (r.form, r.stage_form) if f]
        if r.shape == "Accounts/ComputerAccount/ComputerName":
            forms.append(catalogue.RELOAD_FORM)
        assert forms, r.shape
        for f in forms:
            named = (f"`{catalogue.shown(f.characteristic)}`", f"`{catalogue.shown(f.parm)}`")
            assert all(n in r.provisioning for n in named), (r.shape, named)


def test_every_parm_the_fullest_project_compiles_to_is_a_form_of_the_catalogue(tmp_path):
    """test_rules' full project (the golden packages' fullest), joined to Entra ID and to
    Active Directory: each parm's characteristic and name match a form, with its datatype,
    and every stage form is met."""
    from test_rules import full_project as fullest

    from tui.project.model import JoinKind

    met = set()
    for join in (JoinKind.ENTRA, JoinKind.ACTIVE_DIRECTORY):
        folder = tmp_path / join.value
        folder.mkdir()
        project = fullest(folder)
        project.join = join
        out = folder / "full.ppkg"
        build_package(project, out, timestamp=datetime.fromisoformat(STAMP))
        for doc in read_package(out, show_secrets=True).documents:
            for parm in doc.parms:
                form = catalogue.form_of(parm.characteristic, parm.name)
                assert form is not None, (parm.characteristic, parm.name)
                assert parm.datatype == form.datatype, (parm.characteristic, parm.name)
                met.add(form)
    stage_forms = {r.stage_form for r in catalogue.ROWS if r.stage_form}
    assert stage_forms | {catalogue.RELOAD_FORM} <= met
    assert catalogue.form_of("AADJ", "Unknown") is None


# --- the two policies added through the catalogue (a row each, and a field in the model) ---

POLICIES = {
    "Policies/Experience/AllowWindowsConsumerFeatures": ("No", "allow_windows_consumer_features"),
    "Policies/Security/RequireProvisioningPackageSignature": (
        "Yes",
        "require_provisioning_package_signature",
    ),
}


def test_every_policy_row_has_a_label_and_only_they_have_one():
    """The app's Policies group (tui/screens/policies.py) draws each row by its label."""
    assert sorted(r.shape for r in catalogue.policy_rows()) == sorted(POLICIES)
    assert all(r.label for r in catalogue.policy_rows())
    assert [r.shape for r in catalogue.ROWS if r.label and not r.field] == []


def _with_policies():
    project = bare_project()
    project.allow_windows_consumer_features = False
    project.require_provisioning_package_signature = True
    project.package.name = "Policies"
    return project


def test_the_two_policies_compile_to_mosds_documents_byte_for_byte(tmp_path):
    project = _with_policies()
    placed = {p.doc.stem: p for p in px.place(px.project_documents(project))}
    with WimReader(SAMPLES / "mosd.ppkg") as mosd:
        real = {
            f.rsplit("__", 1)[1].removesuffix(".provxml"): (f.split("/")[3], mosd.read(f))
            for f in mosd.files()
            if "__Policies_" in f
        }
    assert sorted(real) == [
        "Policies_Experience_AllowWindowsConsumerFeatures",
        "Policies_Security_RequireProvisioningPackageSignature",
    ]
    groups = {
        "Policies_Experience_AllowWindowsConsumerFeatures": "16ef6d5e-6645-57ac-ae29-892fcd94b31d",
        "Policies_Security_RequireProvisioningPackageSignature": (
            "4b8f0380-fb7b-5260-a2bc-8ee59ea45313"
        ),
    }
    for stem, (source, data) in real.items():
        ours = placed[stem]
        # mosd predates the SettingsPath attribute of WCD 2024+: compare without it.
        assert px.render(ours.doc, settings_path=False) == data
        assert (ours.doc.source, ours.settings_group) == (source, groups[stem])
    assert px.derived_settings(project) == []


def test_the_two_policies_round_trip_through_customizations_project_file_and_inspect(tmp_path):
    project = _with_policies()
    settings = {str(s.path): s.value for s in project_settings(project)}
    assert {p: settings[p] for p in POLICIES} == {p: v for p, (v, _) in POLICIES.items()}

    imported = read_customizations(to_customizations_xml(project), source="x")
    assert imported.unknown == [] and imported.extra == []
    for _, field in POLICIES.values():
        assert getattr(imported.project, field) == getattr(project, field)

    save_project(project, tmp_path / "p.bulkenroll.toml")
    text = (tmp_path / "p.bulkenroll.toml").read_text()
    assert "allow_windows_consumer_features = false" in text
    loaded = load_project(tmp_path / "p.bulkenroll.toml")
    assert loaded.allow_windows_consumer_features is False
    assert loaded.require_provisioning_package_signature is True
    project.allow_windows_consumer_features = None  # not set: not in the file, not in the package
    save_project(project, tmp_path / "q.bulkenroll.toml")
    assert "consumer" not in (tmp_path / "q.bulkenroll.toml").read_text()
    assert "Policies/Experience" not in to_customizations_xml(project).decode("utf-8-sig")

    project.allow_windows_consumer_features = False
    out = tmp_path / "policies.ppkg"
    build_package(project, out, timestamp=datetime.fromisoformat(STAMP))
    info = read_package(out)
    assert info.sources == ["RunTime", "User_RunTime"]
    for p, (value, _) in POLICIES.items():
        assert Setting(path(p), value) in info.settings
    listed = [text for _, text in package_settings(project)]
    assert "Policies/Experience/AllowWindowsConsumerFeatures = No" in listed
    assert "Policies/Security/RequireProvisioningPackageSignature = Yes" in listed


def test_mosd_imports_with_nothing_left_unknown_and_its_policies_export_as_they_were(tmp_path):
    data = _sample_customizations("mosd", tmp_path)
    imported = read_customizations(data, source="mosd")
    assert imported.unknown == [] and imported.extra == []
    ours = to_customizations_xml(imported.project).decode("utf-8-sig")
    policies = data.decode("utf-8-sig").split("<Policies>")[1].split("</Policies>")[0]
    assert f"<Policies>{policies}</Policies>" in ours
