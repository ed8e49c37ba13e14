"""``bulk-enroll tokens [--json]`` (the token register for scripts: never the token itself)
and ``bulk-enroll PROJECT_FILE`` (opens that project in the app; one sentence when it cannot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tui.cli import main as cli
from tui.project.file import save_project
from tui.project.model import Project
from tui.project.recent import remember

REPO = Path(__file__).resolve().parent.parent
SECRET = "fake-bprt-must-never-be-listed"


def run_cli(config_home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home)}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def project_with_token(folder: Path, name: str, days: int | None) -> Path:
    project = Project(folder=str(folder))
    project.package.name = name
    if days is not None:
        project.entra.bprt = SECRET
        project.entra.expires = date.today() + timedelta(days=days)
        project.entra.package_user = f"package_{name.lower()}@contoso.example"
    path = folder / f"{name}.bulkenroll.toml"
    folder.mkdir(parents=True, exist_ok=True)
    save_project(project, path)
    return path


@pytest.fixture
def register(tmp_path) -> Path:
    home = tmp_path / "xdg"
    # Remembered in this order (the last is the most recent); listed by what runs out first.
    for name, days in (("Later", 90), ("None", None), ("Soon", 5), ("Middle", 40)):
        remember(home / "bulk-enroll", project_with_token(tmp_path / name, name, days))
    return home


def test_tokens_json_lists_soonest_first_without_the_token(register, tmp_path):
    done = run_cli(register, "tokens", "--json")
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    tokens = json.loads(done.stdout)["tokens"]
    assert [t["name"] for t in tokens] == ["Soon", "Middle", "Later", "None"]
    soon = tokens[0]
    assert soon["days_left"] == 5
    assert soon["expires"] == (date.today() + timedelta(days=5)).isoformat()
    assert soon["package_user"] == "package_soon@contoso.example"
    assert soon["project_file"] == str(tmp_path / "Soon" / "Soon.bulkenroll.toml")
    assert tokens[-1]["expires"] is None and tokens[-1]["days_left"] is None


def test_tokens_table(register):
    done = run_cli(register, "tokens")
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["Name", "Expires", "Days"]
    assert [line.split()[0] for line in lines[1:]] == ["Soon", "Middle", "Later", "None"]
    assert "5 days left" in lines[1] and "no token" in lines[4]


def test_a_missing_project_file_is_one_sentence(tmp_path):
    done = run_cli(tmp_path / "xdg", str(tmp_path / "nowhere.bulkenroll.toml"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("bulk-enroll: ") and "is neither a command nor" in lines[0]


def test_a_project_file_argument_opens_the_app_and_commands_still_work(
    tmp_path, monkeypatch, capsys
):
    path = project_with_token(tmp_path / "p", "Fleet", 30)
    opened: list[Path | None] = []
    monkeypatch.setattr("tui.app.run_app", lambda open_path=None: opened.append(open_path) or 0)
    assert cli.main([str(path)]) == 0
    assert opened == [path]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert cli.main(["tokens", "--json"]) == 0  # a command name is still a command
    assert json.loads(capsys.readouterr().out) == {"tokens": []}
    assert opened == [path]


def test_the_usage_names_the_project_file_and_the_commands_keep_theirs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "[PROJECT_FILE | COMMAND ...]" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["tokens", "--help"])
    assert capsys.readouterr().out.startswith("usage: bulk-enroll tokens [-h] [--json]")


def test_token_signs_in_with_the_project_connection(tmp_path):
    """``bulk-enroll token --project`` without --authority or --ca-bundle and with no CA in
    the environment: the project's [connection] says where, and which CA to trust."""
    from fakes.identity import FakeIdentityServer, environment_without_tls_settings

    from tui.project.file import load_project
    from tui.project.model import Connection

    with FakeIdentityServer(tmp_path) as server:
        server.approve_after(0)
        server.poll_script = [None]
        project = Project()
        project.package.name = "Kiosks"
        project.connection = Connection(
            tenant="contoso.example", login_url=server.base_url, ca_bundle=str(server.ca_bundle)
        )
        path = tmp_path / "kiosks.bulkenroll.toml"
        save_project(project, path)
        env = environment_without_tls_settings()
        expires = (date.today() + timedelta(days=30)).isoformat()
        done = subprocess.run(
            [sys.executable, "-m", "tui", "token", "--expires", expires, "--project", str(path)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert server.calls_to("/contoso.example/oauth2/v2.0/devicecode")
        assert load_project(path).entra.bprt == server.bprt
        assert server.bprt not in done.stdout + done.stderr
