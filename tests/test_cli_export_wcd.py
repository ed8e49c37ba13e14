"""``bulk-enroll export-wcd PROJECT DIR`` end to end, in a real subprocess."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from test_rules import TOKEN, full_project

from tui.project.file import PROJECT_SUFFIX, save_project
from tui.wcd.customizations import read_customizations, to_customizations_xml

REPO = Path(__file__).resolve().parent.parent


def export_wcd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "tui", "export-wcd", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )


def test_export_writes_a_wcd_project_folder(tmp_path):
    project = full_project(tmp_path)
    project_file = tmp_path / f"laptops{PROJECT_SUFFIX}"
    save_project(project, project_file)
    out = tmp_path / "wcd"
    result = export_wcd(str(project_file), str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    written = [out / "customizations.xml", out / "Contoso laptops.icdproj.xml"]
    assert result.stdout.splitlines() == [str(p) for p in written]
    assert written[0].read_bytes() == to_customizations_xml(project)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    imported = read_customizations(written[0].read_bytes(), source="customizations.xml")
    assert imported.project.entra.bprt == TOKEN and imported.unknown == []
    assert TOKEN not in result.stdout


def test_export_without_a_token_is_allowed(tmp_path):
    project = full_project(tmp_path)
    project.entra.bprt = ""
    project_file = tmp_path / f"p{PROJECT_SUFFIX}"
    save_project(project, project_file)
    result = export_wcd(str(project_file), str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert b"<BPRT>" not in (tmp_path / "out" / "customizations.xml").read_bytes()


def _assert_clear_failure(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bulk-enroll: ")
    assert expected in lines[0]


def test_missing_project_file(tmp_path):
    result = export_wcd(str(tmp_path / "nope.bulkenroll.toml"), str(tmp_path / "out"))
    _assert_clear_failure(result, "nope.bulkenroll.toml does not exist.")
    assert not (tmp_path / "out").exists()


def test_malformed_project_file(tmp_path):
    bad = tmp_path / f"bad{PROJECT_SUFFIX}"
    bad.write_text('[package]\nname = "Lab"\nrank = \n')
    result = export_wcd(str(bad), str(tmp_path / "out"))
    _assert_clear_failure(result, "bad.bulkenroll.toml: line 3: invalid value.")
    assert not (tmp_path / "out").exists()


def test_invalid_project_is_refused_without_writing(tmp_path):
    project = full_project(tmp_path)
    project.device.name = "NAME WITH SPACES"
    project.local_users[0].password = "Secret-Password-1"
    project_file = tmp_path / f"p{PROJECT_SUFFIX}"
    save_project(project, project_file)
    result = export_wcd(str(project_file), str(tmp_path / "out"))
    _assert_clear_failure(result, "Device name: must not contain spaces.")
    assert "Secret-Password-1" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_several_problems_are_each_one_line(tmp_path):
    project = full_project(tmp_path)
    project.device.name = "A B"
    project.package.version = "one"
    project_file = tmp_path / f"p{PROJECT_SUFFIX}"
    save_project(project, project_file)
    result = export_wcd(str(project_file), str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "bulk-enroll: Package version: use the form N.N or N.N.N.N, e.g. 1.0 (not 'one').",
        "bulk-enroll: Device name: must not contain spaces.",
    ]


def test_output_folder_that_is_a_file(tmp_path):
    project_file = tmp_path / f"p{PROJECT_SUFFIX}"
    save_project(full_project(tmp_path), project_file)
    blocker = tmp_path / "blocker"
    blocker.write_text("keep me")
    result = export_wcd(str(project_file), str(blocker))
    _assert_clear_failure(result, "Cannot write the WCD project to")
    assert blocker.read_text() == "keep me"
