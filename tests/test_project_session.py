"""One project session for the app and the commands (tui.project.session): the same input
gives the same resolved project and the same saved file whichever opens it, and the commands
that act write the support log as the app does, without a secret in it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from app_pilot import flat_text, wait_for
from fakes.identity import trusted_identity_server
from test_app_write import small_project

from tui.app import create_app
from tui.cli import main as cli
from tui.entra.signin import DEFAULT_CLIENT_ID, SignInConfig
from tui.package.inspect import read_package
from tui.project import session
from tui.project.file import load_project, save_project
from tui.project.logfile import REDACTED, default_log_file
from tui.project.model import Application, EntraJoin, JoinKind, LocalUser, Project, Resume
from tui.project.recent import default_config_dir, load_recent

REPO = Path(__file__).resolve().parent.parent
TODAY = date.today()  # the command has no other today
EXPIRES = TODAY + timedelta(days=60)
FAST = {"interval_unit": 0.01, "poll_interval": 0.01}


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


def with_relative_payloads(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agent.msi").write_bytes(b"MSI installer bytes " * 50)
    (folder / "agent.cab").write_bytes(b"dependency bytes " * 20)
    project = small_project(folder)
    project.applications = [
        Application(
            name="agent",
            file="agent.msi",
            command_line='msiexec /i "agent.msi" /quiet',
            dependencies=["agent.cab"],
        )
    ]
    path = folder / "Wave4.bulkenroll.toml"
    save_project(project, path)
    return path


# --- the same resolved project ------------------------------------------------------------


async def test_the_command_and_the_app_build_the_same_resolved_project(tmp_path, monkeypatch):
    path = with_relative_payloads(tmp_path / "wave")
    monkeypatch.chdir(tmp_path)  # not the project's folder: relative paths follow the file
    opened = session.open_file(path, tmp_path / "config")
    out = tmp_path / "cli.ppkg"
    assert cli.main(["build", str(path), "-o", str(out), "--timestamp", "2026-11-30T08:00Z"]) == 0

    app = create_app(config_dir=tmp_path / "config", today=TODAY, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.project is not None)
        # Equal but for where the app is at (not built from: session.fingerprint drops it).
        assert replace(app.build_snapshot(), resume=None) == opened.snapshot()
        assert session.fingerprint(app.build_snapshot()) == session.fingerprint(opened.snapshot())
        app.call_later(app.goto_step, "review")
        await wait_for(pilot, on(app, "ReviewScreen"))
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: "Package saved:" in flat_text(app))

    by_cli = read_package(out).settings
    by_app = read_package(tmp_path / "wave" / "Wave4.ppkg").settings
    assert by_cli == by_app
    command = "ProvisioningCommands/PrimaryContext/Command/CommandConfig[agent]/CommandFile"
    assert {str(s.path): s.value for s in by_cli}[command] == str(tmp_path / "wave" / "agent.msi")
    assert load_project(path).applications[0].file == "agent.msi"  # the file keeps its form


def test_the_wcd_export_names_the_payloads_the_package_holds(tmp_path, monkeypatch):
    path = with_relative_payloads(tmp_path / "wave")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export-wcd", str(path), str(tmp_path / "wcd")]) == 0
    exported = (tmp_path / "wcd" / "customizations.xml").read_text(encoding="utf-8")
    assert f">{tmp_path / 'wave' / 'agent.msi'}<" in exported
    assert f">{tmp_path / 'wave' / 'agent.cab'}<" in exported
    assert ">agent.msi<" not in exported


def test_a_command_remembers_the_project_as_the_app_does(tmp_path, capsys):
    path = with_relative_payloads(tmp_path / "wave")
    assert cli.main(["export-wcd", str(path), str(tmp_path / "wcd")]) == 0
    assert load_recent(default_config_dir()) == [path]
    capsys.readouterr()
    assert cli.main(["tokens", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["tokens"]
    assert [entry["project_file"] for entry in listed] == [str(path)]


def test_a_draft_stays_a_draft_and_saves_where_the_app_saves_it(tmp_path):
    config = tmp_path / "config"
    project = Project()
    draft = session.draft_path(config, project)
    session.save(project, draft)
    opened = session.open_file(draft, config)
    assert opened.path is None and opened.file == draft
    assert load_recent(config) == []  # drafts are offered by the start screen, not as recent
    opened.project.device.name = "KIOSK-%SERIAL%"
    assert opened.save() == draft
    assert load_project(draft).device.name == "KIOSK-%SERIAL%"


# --- the same saved file after a bulk token -------------------------------------------------


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        server.approve_after(0)
        server.poll_script = [None]  # issued at the first poll
        yield server


def waiting_for_a_token(folder: Path) -> Path:
    """An Entra ID project left at the accounts step, as the app leaves one."""
    project = small_project(Path("/srv/projects/wave"))  # the same text in both copies
    project.join = JoinKind.ENTRA
    project.entra = EntraJoin(expires=EXPIRES)
    project.local_users = [LocalUser(name="fieldadmin", password="local-pass-789")]
    project.resume = Resume(step="accounts")
    project.package.id = "{1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}"
    folder.mkdir(parents=True)
    path = folder / "Wave4.bulkenroll.toml"
    save_project(project, path)
    return path


def token_command(identity, path: Path) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "tui", "token", "--authority", identity.authority()]
    argv += ["--expires", EXPIRES.isoformat(), "--project", str(path)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # the test's own XDG folders included
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)


def shape(path: Path) -> str:
    """The file's text with what differs between two tokens (their package) made equal."""
    text = path.read_text(encoding="utf-8")
    package_id = load_project(path).entra.token_package_id
    assert package_id
    return text.replace(package_id, "<package id>")


async def test_a_token_from_the_command_leaves_the_file_the_app_leaves(tmp_path, identity):
    by_cli = waiting_for_a_token(tmp_path / "cli")
    by_app = waiting_for_a_token(tmp_path / "app")
    assert by_cli.read_bytes() == by_app.read_bytes()

    done = token_command(identity, by_cli)
    assert done.returncode == 0, done.stderr

    app = create_app(
        config_dir=tmp_path / "config",
        today=TODAY,
        open_path=by_app,
        identity=SignInConfig(authority=identity.authority(), client_id=DEFAULT_CLIENT_ID),
        token_options=FAST,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, on(app, "AccountsScreen"))
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "Bulk token received and saved" in flat_text(app))
        await pilot.press("ctrl+q")

    assert load_project(by_cli).entra.bprt == load_project(by_app).entra.bprt == identity.bprt
    assert shape(by_cli) == shape(by_app)
    assert (by_cli.stat().st_mode & 0o777) == (by_app.stat().st_mode & 0o777) == 0o600
    # Both are the recent projects, the command's too.
    assert set(load_recent(default_config_dir())) == {by_cli}
    assert load_recent(tmp_path / "config") == [by_app]

    log = default_log_file().read_text(encoding="utf-8")
    assert "bulk-enroll token started" in log and "Bulk token received" in log
    assert f"Opened the project {by_cli}" in log
    assert identity.bprt not in log and "local-pass-789" not in log
    assert "finished (exit status 0)" in log


# --- the support log of a command ---------------------------------------------------------


def with_secrets(folder: Path) -> Path:
    project = small_project(folder)
    project.join = JoinKind.ENTRA
    project.entra = EntraJoin(
        bprt="opaque-bulk-token-value-42", expires=EXPIRES, package_user="package_x@c.example"
    )
    project.local_users = [LocalUser(name="fieldadmin", password="local-pass-789")]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Wave4.bulkenroll.toml"
    save_project(project, path)
    return path


SECRETS = ("opaque-bulk-token-value-42", "local-pass-789")


def test_the_log_of_a_build_holds_the_action_not_the_secrets(tmp_path):
    path = with_secrets(tmp_path / "wave")
    out = tmp_path / "wave" / "Wave4.ppkg"
    assert cli.main(["build", str(path), "-o", str(out)]) == 0
    assert out.is_file()
    log = default_log_file().read_text(encoding="utf-8")
    lines = [re.sub(r"^\S+ \S+ INFO ", "", line) for line in log.splitlines()]
    assert lines == [
        "bulk-enroll build started",
        f"Opened the project {path}",
        f"Building {out} from {path}",
        "bulk-enroll build finished (exit status 0)",
    ]
    assert default_log_file().stat().st_mode & 0o777 == 0o600


def test_an_unexpected_build_error_is_logged_with_the_secrets_taken_out(tmp_path, monkeypatch):
    import tui.package.build

    def broken(project, *args, **kw):
        raise RuntimeError(f"a bug near {project.entra.bprt} and {project.local_users[0].password}")

    monkeypatch.setattr(tui.package.build, "build_package", broken)
    path = with_secrets(tmp_path / "wave")
    with pytest.raises(RuntimeError):
        cli.main(["build", str(path), "-o", str(tmp_path / "out.ppkg")])
    log = default_log_file().read_text(encoding="utf-8")
    assert "bulk-enroll build failed unexpectedly" in log and "Traceback" in log
    assert f"RuntimeError: a bug near {REDACTED} and {REDACTED}" in log
    assert not [s for s in SECRETS if s in log]


def test_a_refused_build_is_logged_in_its_sentence(tmp_path):
    path = with_secrets(tmp_path / "wave")
    project = load_project(path)
    project.entra.revoked = TODAY
    save_project(project, path)
    assert cli.main(["build", str(path), "-o", str(tmp_path / "out.ppkg")]) == 2
    log = default_log_file().read_text(encoding="utf-8")
    assert f"bulk-enroll build failed: Bulk token: was revoked on {TODAY}" in log
    assert not [s for s in SECRETS if s in log]


def test_commands_that_only_read_write_no_log(tmp_path, capsys):
    path = with_secrets(tmp_path / "wave")
    assert cli.main(["export-wcd", str(path), str(tmp_path / "wcd")]) == 0
    assert cli.main(["tokens"]) == 0
    assert not default_log_file().exists()


def test_the_built_snapshot_is_a_copy(tmp_path):
    path = with_relative_payloads(tmp_path / "wave")
    opened = session.open_file(path, tmp_path / "config")
    snapshot = opened.snapshot()
    snapshot.package.name = "Changed"
    assert opened.project.package.name == "Wave4"
    assert opened.project.applications[0].file == "agent.msi"
    assert snapshot.applications[0].dependencies == [str(tmp_path / "wave" / "agent.cab")]
