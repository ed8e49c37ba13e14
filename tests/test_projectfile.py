"""The project file: round trip, owner-only permissions, atomic saves, clear errors."""

from __future__ import annotations

import os
import stat
import tomllib
from datetime import date
from pathlib import Path

import pytest
from test_rules import TOKEN, full_project

from tui.errors import UserError
from tui.project.file import (
    PROJECT_SUFFIX,
    dumps_project,
    load_project,
    loads_project,
    save_project,
)
from tui.project.model import Project, Wifi


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / f"laptops{PROJECT_SUFFIX}"


def test_round_trip_keeps_every_field_and_secret(tmp_path, path):
    project = full_project(tmp_path)
    save_project(project, path)
    assert load_project(path) == project
    text = path.read_text(encoding="utf-8")
    assert TOKEN in text and "Join-Pa55" in text and "correct horse battery" in text


def test_repr_of_a_project_shows_no_secret(tmp_path):
    project = full_project(tmp_path)
    text = repr(project)
    assert "Contoso Guest" in text and "fieldadmin" in text  # the rest is still shown
    for secret in (TOKEN, "correct horse battery", "Join-Pa55", "Adm1n-Pa55"):
        assert secret not in text


def test_round_trip_of_awkward_text(tmp_path, path):
    project = full_project(tmp_path)
    project.package.description = 'quote " backslash \\ tab \t newline \n cr \r del \x7f émoji 🎉'
    project.applications[0].command_line = r'cmd /c "C:\Program Files\x.cmd" \\server\share'
    project.wifi = None
    project.entra.expires = None
    save_project(project, path)
    assert load_project(path) == project


def test_default_project_round_trips(path):
    project = Project()
    save_project(project, path)
    assert load_project(path) == project


def test_file_is_readable_toml_in_the_documented_shape(tmp_path, path):
    save_project(full_project(tmp_path), path)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == 1
    assert data["package"]["name"] == "Contoso laptops"
    assert data["entra"]["expires"] == date(2027, 2, 28)
    assert data["local_users"][0] == {
        "name": "fieldadmin",
        "password": "Adm1n-Pa55",
        "group": "Administrators",
    }
    assert path.read_text(encoding="utf-8").startswith("# bulk-enroll project file")


def test_saved_owner_only_even_over_a_world_readable_file(tmp_path, path):
    path.write_text("format = 1\n")
    path.chmod(0o644)
    save_project(full_project(tmp_path), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_save_that_cannot_encode_leaves_the_old_file(tmp_path, path):
    project = full_project(tmp_path)
    save_project(project, path)
    before = path.read_bytes()
    project.package.description = "lone surrogate \ud800"
    with pytest.raises(UserError, match=r"^Cannot save project file .*not valid text"):
        save_project(project, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_save_into_a_read_only_folder_leaves_the_old_file(tmp_path, path, monkeypatch):
    project = full_project(tmp_path)
    save_project(project, path)
    before = path.read_bytes()
    project.package.name = "Renamed"
    if os.geteuid() == 0:
        # root ignores folder permissions; make the rename fail the way a read-only
        # folder does instead (the only simulated part of this test).
        def refuse(*_args, **_kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(os, "replace", refuse)
    else:
        path.parent.chmod(0o500)
    try:
        with pytest.raises(UserError, match=r"^Cannot save project file .*Permission denied\.$"):
            save_project(project, path)
    finally:
        path.parent.chmod(0o700)
    assert path.read_bytes() == before
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_save_into_a_missing_folder_is_one_sentence(tmp_path):
    with pytest.raises(
        UserError, match=r"^Cannot save project file .*No such file or directory\.$"
    ):
        save_project(Project(), tmp_path / "nowhere" / f"x{PROJECT_SUFFIX}")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("format = 1\n[package]\nname = \n", "Project file P: line 3: invalid value."),
        ('format = 1\n\n[device]\nname = "unterminated\n', "Project file P: line 4: "),
        ("[package]\nname = 'a'\n[package]\n", "Project file P: line 3: "),
        ("[device]\nname = 3\n", "Project file P: device.name must be text."),
        ('[package]\nrank = "5"\n', "Project file P: package.rank must be a whole number."),
        (
            '[device]\nshared_pc = "yes"\n',
            "Project file P: device.shared_pc must be true or false.",
        ),
        ('[package]\nowner_type = "Admin"\n', 'package.owner_type must be one of "Microsoft"'),
        ('join = "azure"\n', 'join must be one of "none", "entra", "ad".'),
        ('[wifi]\nsecurity = "WEP"\n', 'wifi.security must be one of "Open", "WPA2-Personal".'),
        ('[entra]\nexpires = "soon"\n', "entra.expires must be a date like 2027-05-31."),
        ("[entra]\nexpires = 2027-01-01T10:00:00\n", "entra.expires must be a date"),
        (
            '[[applications]]\ndependencies = "a.cab"\n',
            "applications[0].dependencies must be a list",
        ),
        ("[[applications]]\ndependencies = [1]\n", "applications[0].dependencies[0] must be text"),
        ('local_users = ["admin"]\n', "local_users must be written as [[local_users]] tables."),
        ("device = 3\n", "device must be a table ([device])."),
        ('[devcie]\nname = "x"\n', "Project file P: devcie is not a known setting"),
        ('[device]\ncolour = "red"\n', "device.colour is not a known setting (known here: name,"),
        ('[[local_users]]\nname = "a"\nshell = "x"\n', "local_users[0].shell is not a known"),
        (
            "format = 2\n",
            "Project file P: format 2 is not one this version reads (it reads format 1).",
        ),
    ],
)
def test_bad_files_give_one_sentence(text, expected):
    with pytest.raises(UserError) as caught:
        loads_project(text, source="P")
    message = str(caught.value)
    assert message.startswith(expected) if expected.endswith(": ") else expected in message
    assert message.startswith("Project file P")
    assert message.endswith(".") and "\n" not in message


def test_missing_keys_take_their_defaults():
    project = loads_project('[package]\nname = "Lab"\n[wifi]\nssid = "Lab"\n', source="P")
    assert project.package.name == "Lab"
    assert project.wifi == Wifi(ssid="Lab")
    assert project.hide_oobe is True


def test_load_errors_name_the_file(tmp_path):
    missing = tmp_path / "gone.bulkenroll.toml"
    with pytest.raises(
        UserError, match=r"^Project file .*gone\.bulkenroll\.toml does not exist\.$"
    ):
        load_project(missing)
    with pytest.raises(UserError, match=r"is a folder, not a file\.$"):
        load_project(tmp_path)
    latin = tmp_path / "latin.bulkenroll.toml"
    latin.write_bytes(b'[package]\nname = "caf\xe9"\n')
    with pytest.raises(UserError, match=r"latin\.bulkenroll\.toml: line 2: not UTF-8 text\.$"):
        load_project(latin)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.bulkenroll.toml"
    path.write_bytes(b'\xef\xbb\xbf[package]\nname = "Lab"\n')
    assert load_project(path).package.name == "Lab"


def test_dumps_is_deterministic(tmp_path):
    project = full_project(tmp_path)
    assert dumps_project(project) == dumps_project(project)
