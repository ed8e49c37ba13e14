"""`bulk-enroll build` and `bulk-enroll inspect`, run as a technician would: in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES
from test_package_build import full_project

from tui.project.file import save_project
from tui.wcd.customizations import to_customizations_xml
from tui.wcd.settings import MASK, project_settings

REPO = Path(__file__).resolve().parent.parent
STAMP = "2026-11-30T08:00:00+00:00"


def cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tui", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_sentence_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [
        line for line in proc.stderr.splitlines() if not line.startswith("bulk-enroll: warning")
    ]
    assert len(lines) == 1 and lines[0].startswith("bulk-enroll: "), proc.stderr
    return lines[0]


def test_build_a_project_then_inspect_it(tmp_path):
    project = full_project(tmp_path)
    source = tmp_path / "lab.bulkenroll.toml"
    save_project(project, source)
    out = tmp_path / "lab.ppkg"

    built = cli("build", source, "-o", out, "--timestamp", STAMP)
    assert built.returncode == 0, built.stderr
    assert str(out) in built.stdout and project.package.id in built.stdout
    assert "derived from Microsoft's CSP documentation" in built.stderr
    assert "SharedPC/EnableSharedPCMode" in built.stderr

    inspected = cli("inspect", out, "--json")
    assert inspected.returncode == 0, inspected.stderr
    data = json.loads(inspected.stdout)
    assert data["name"] == "Contoso Lab"
    assert data["package_id"] == project.package.id
    assert (data["version"], data["owner_type"], data["rank"]) == ("1.2", "ITAdmin", 0)
    expected = project_settings(project)
    assert [s["path"] for s in data["settings"]] == [str(s.path) for s in expected]
    by_path = {s["path"]: s["value"] for s in data["settings"]}
    assert by_path["Accounts/Azure/BPRT"] == MASK
    assert by_path["Accounts/Users/User[labadmin]/Password"] == MASK
    assert project.entra.bprt not in inspected.stdout

    shown = json.loads(cli("inspect", out, "--json", "--show-secrets").stdout)
    assert [
        {"path": str(s.path), "segments": [list(g) for g in s.path], "value": s.value}
        for s in expected
    ] == shown["settings"]

    human = cli("inspect", out)
    assert human.returncode == 0
    assert "Package      Contoso Lab" in human.stdout and "--show-secrets" in human.stdout
    assert project.entra.bprt not in human.stdout


def test_relative_paths_in_a_project_file_are_relative_to_it(tmp_path):
    project = full_project(tmp_path)
    project.applications[0].file = "setup.msi"
    project.certificates[0].path = "root-b64.cer"
    source = tmp_path / "rel.bulkenroll.toml"
    save_project(project, source)
    out = tmp_path / "rel.ppkg"
    proc = cli("build", source, "-o", out, "--timestamp", STAMP)  # run from the repository
    assert proc.returncode == 0, proc.stderr
    assert out.exists()


def test_same_timestamp_gives_the_same_package(tmp_path):
    source = tmp_path / "p.bulkenroll.toml"
    save_project(full_project(tmp_path), source)
    a, b = tmp_path / "a.ppkg", tmp_path / "b.ppkg"
    assert cli("build", source, "-o", a, "--timestamp", STAMP).returncode == 0
    assert cli("build", source, "-o", b, "--timestamp", STAMP).returncode == 0
    assert a.read_bytes() == b.read_bytes()


def test_build_from_a_wcd_customizations_xml_with_relative_payloads(tmp_path):
    project = full_project(tmp_path)
    for app in project.applications:
        app.file = Path(app.file).name
        app.dependencies = [Path(d).name for d in app.dependencies]
    wcd = tmp_path / "customizations.xml"
    wcd.write_bytes(to_customizations_xml(project))
    out = tmp_path / "from-wcd.ppkg"
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "build", str(wcd), "-o", str(out), "--timestamp", STAMP],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(cli("inspect", out, "--json").stdout)
    assert info["package_id"] == project.package.id
    files = [f for f in info["files"] if f.startswith("DataAsset/2/")]
    assert [f.rsplit("/", 1)[1] for f in files] == ["setup.msi", "vc_redist.x64.exe", "hello.cmd"]


def test_unknown_settings_are_listed_and_refused_unless_dropped(tmp_path):
    project = full_project(tmp_path)
    xml = to_customizations_xml(project).replace(
        b"<Common>",
        b"<Common>\r\n        <Start><StartLayout>layout.xml</StartLayout></Start>",
    )
    wcd = tmp_path / "customizations.xml"
    wcd.write_bytes(xml)
    out = tmp_path / "x.ppkg"
    refused = cli("build", wcd, "-o", out, "--timestamp", STAMP)
    line = one_sentence_error(refused)
    assert "--drop-unknown" in line
    assert "warning" in refused.stderr and "Start/StartLayout" in refused.stderr
    assert not out.exists()
    dropped = cli("build", wcd, "-o", out, "--timestamp", STAMP, "--drop-unknown")
    assert dropped.returncode == 0, dropped.stderr
    assert "Start/StartLayout" in dropped.stderr and out.exists()


def test_bad_input_exits_2_with_one_sentence_and_no_output(tmp_path):
    out = tmp_path / "out.ppkg"
    missing = cli("build", tmp_path / "nope.toml", "-o", out)
    assert "nope.toml" in one_sentence_error(missing)

    project = full_project(tmp_path)
    project.device.name = "has space"
    source = tmp_path / "bad.bulkenroll.toml"
    save_project(project, source)
    bad = cli("build", source, "-o", out, "--timestamp", STAMP)
    assert "Device name" in one_sentence_error(bad)

    garbage = tmp_path / "garbage.xml"
    garbage.write_text("<WindowsCustomizations><oops")
    assert "garbage.xml" in one_sentence_error(cli("build", garbage, "-o", out))

    good = tmp_path / "good.bulkenroll.toml"
    save_project(full_project(tmp_path), good)
    assert "--timestamp" in one_sentence_error(cli("build", good, "-o", out, "--timestamp", "soon"))
    for early in ("1500-01-01", "1601-01-01T00:30:00+01:00"):  # before FILETIME's epoch
        assert "--timestamp" in one_sentence_error(
            cli("build", good, "-o", out, "--timestamp", early)
        )
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []

    before = good.read_bytes()
    assert "source file itself" in one_sentence_error(cli("build", good, "-o", good))
    assert good.read_bytes() == before


def test_several_problems_are_all_listed(tmp_path):
    project = full_project(tmp_path)
    project.device.name = "has space"
    project.device.product_key = "nope"
    source = tmp_path / "bad.bulkenroll.toml"
    save_project(project, source)
    proc = cli("build", source, "-o", tmp_path / "o.ppkg", "--timestamp", STAMP)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Device name" in proc.stderr and "Product key" in proc.stderr


def test_inspect_samples_and_damaged_files(tmp_path):
    proc = cli("inspect", SAMPLES / "iot-adk-enroll.ppkg", "--json")
    data = json.loads(proc.stdout)
    assert data["owner_type"] == "OEM" and "Yukon009" not in proc.stdout
    damaged = tmp_path / "damaged.ppkg"
    damaged.write_bytes((SAMPLES / "mosd.ppkg").read_bytes()[:3000])
    assert "damaged.ppkg" in one_sentence_error(cli("inspect", damaged))


def test_an_output_not_named_ppkg_is_built_with_a_warning(tmp_path):
    source = tmp_path / "lab.bulkenroll.toml"
    save_project(full_project(tmp_path), source)
    out = tmp_path / "lab.bin"
    built = cli("build", source, "-o", out, "--timestamp", STAMP)
    assert built.returncode == 0, built.stderr
    assert "Windows only applies packages named *.ppkg" in built.stderr
    assert out.is_file()
    named = cli("build", source, "-o", tmp_path / "lab.PPKG", "--timestamp", STAMP)
    assert "named *.ppkg" not in named.stderr
