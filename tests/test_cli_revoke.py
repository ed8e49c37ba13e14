"""`bulk-enroll revoke` end to end: the real command in a subprocess, the real msal device-code
sign-in, the HTTPS fake Graph; the confirmation on a pseudo-terminal, then the build refused."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from fakes.graph import deleted_package_user, fake_graph, package_user_id, project_for

from tui.entra.graph import REVOKE_PERMISSIONS
from tui.project.file import load_project, save_project

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def graph(tmp_path, monkeypatch):
    with fake_graph(tmp_path, monkeypatch=monkeypatch) as fake:
        yield fake


def saved_project(graph, tmp_path) -> Path:
    project = project_for(graph.tenant, expires=date.today() + timedelta(days=90))
    project.entra.authority = graph.identity.authority("common")
    project.folder = str(tmp_path)
    project.local_users = []
    path = tmp_path / "fleet.bulkenroll.toml"
    save_project(project, path)
    return path


def revoke(graph, path, *extra: str, typed: str | None = None) -> subprocess.CompletedProcess:
    """The command without a terminal (stdin /dev/null), or on a pseudo-terminal where
    ``typed`` is what the person types."""
    argv = [sys.executable, "-m", "tui", "revoke", "--project", str(path)]
    argv += ["--authority", graph.authority, "--graph-url", graph.graph_url, *extra]
    if typed is None:
        return subprocess.run(
            argv, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
        )
    master, slave = pty.openpty()
    try:
        os.write(master, typed.encode() + b"\n")  # the terminal holds the line until read
        return subprocess.run(
            argv, cwd=REPO, stdin=slave, capture_output=True, text=True, timeout=120
        )
    finally:
        os.close(slave)
        os.close(master)


def deletes(graph) -> list[str]:
    return [path for route, path in graph.requests if route == "deleteUser"]


def test_without_a_terminal_and_without_yes_it_refuses_in_one_sentence(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    before = path.read_bytes()
    proc = revoke(graph, path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "bulk-enroll: Refusing to delete the package user without confirmation: run revoke in "
        "a terminal, or add --yes."
    ]
    assert graph.identity.calls == [] and deletes(graph) == []  # not even signed in
    assert path.read_bytes() == before


def test_the_wrong_name_typed_deletes_nothing(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    proc = revoke(graph, path, typed="yes")
    assert proc.returncode == 2, proc.stderr
    upn = graph.tenant.package_upn
    assert f"Delete the package user {upn} from Entra ID?" in proc.stderr
    assert "can no longer join a device" in proc.stderr
    assert proc.stderr.strip().endswith(
        "bulk-enroll: The name typed is not the package user's: nothing was deleted."
    )
    assert graph.identity.calls == [] and deletes(graph) == []
    assert graph.tenant.package_upn in graph.tenant.users
    assert load_project(path).entra.revoked is None


def test_typing_the_name_deletes_exactly_that_user_and_a_later_build_is_refused(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    user_id = package_user_id(graph.tenant)
    upn = graph.tenant.package_upn
    proc = revoke(graph, path, typed=upn)
    assert proc.returncode == 0, proc.stderr
    assert deletes(graph) == [f"/v1.0/users/{user_id}"]  # exactly one DELETE, for that user
    assert graph.tenant.deleted == [user_id] and upn not in graph.tenant.users
    assert f"Deleted the package user {upn}" in proc.stdout
    assert "stay joined and enrolled: PC-0001, PC-0002." in proc.stdout
    assert load_project(path).entra.revoked == date.today()
    assert "fake-bprt" not in proc.stdout + proc.stderr
    # The write permission was asked for in this sign-in only, next to the reads it needs.
    scope = graph.identity.calls_to("/oauth2/v2.0/devicecode")[0].form["scope"].split()
    assert {s.rsplit("/", 1)[-1] for s in scope if "/" in s} == set(REVOKE_PERMISSIONS)

    build = subprocess.run(
        [sys.executable, "-m", "tui", "build", str(path), "-o", str(tmp_path / "Fleet.ppkg")],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 2, build.stderr
    assert build.stderr.strip().splitlines()[-1] == (
        f"bulk-enroll: Bulk token: was revoked on {date.today().isoformat()} (its package user "
        'was deleted): choose "Get bulk token" for a new one.'
    )
    assert not (tmp_path / "Fleet.ppkg").exists()


def test_the_short_name_and_yes_also_confirm_json_has_no_secret(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    proc = revoke(graph, path, "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer == {
        "package_user": graph.tenant.package_upn,
        "deleted": True,
        "devices_still_joined": ["PC-0001", "PC-0002"],
        "revoked": date.today().isoformat(),
    }
    assert "fake-bprt" not in proc.stdout + proc.stderr
    again = revoke(graph, path, "--yes")
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"bulk-enroll: The bulk token of this project was already revoked on "
        f"{date.today().isoformat()}."
    )
    assert len(deletes(graph)) == 1


def test_typing_the_name_before_the_at_confirms(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    proc = revoke(graph, path, typed=graph.tenant.package_upn.split("@")[0].upper())
    assert proc.returncode == 0, proc.stderr
    assert len(deletes(graph)) == 1


def test_an_already_deleted_user_is_recorded_without_a_delete(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    graph.tenant = deleted_package_user()
    proc = revoke(graph, path, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "did not exist any more" in proc.stdout
    assert deletes(graph) == [] and load_project(path).entra.revoked == date.today()


def test_a_refused_delete_is_one_sentence_and_nothing_is_recorded(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    graph.tenant.forbidden = {"deleteUser"}
    proc = revoke(graph, path, "--yes")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        f"bulk-enroll: Not allowed to delete {graph.tenant.package_upn}: sign in as a User "
        "Administrator (or Privileged Authentication Administrator); nothing was deleted."
    )
    assert graph.tenant.package_upn in graph.tenant.users
    assert load_project(path).entra.revoked is None
