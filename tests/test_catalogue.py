"""The settings catalogue (tui/wcd/catalogue.py): one table that import, export, the compiler,
inspect and the docs read; structured setting paths; settings with no model field."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import SAMPLES
from test_cli_build_inspect import STAMP, cli, one_sentence_error
from test_package_build import full_project

from tui.package import compiler as px
from tui.package.inspect import describe, read_package
from tui.wcd import catalogue
from tui.wcd.customizations import read_customizations, to_customizations_xml
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
    assert text == catalogue.markdown_table(), "run: python -m tui.wcd.catalogue > docs/settings.md"


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
