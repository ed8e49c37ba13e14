"""The support log: owner-only, rotated, and no secret in it, tracebacks included."""

from __future__ import annotations

from tui.project.logfile import (
    REDACTED,
    close_log,
    default_log_file,
    log,
    open_log,
    project_secrets,
)
from tui.project.model import LocalUser, Project, Wifi


def a_project_with_secrets() -> Project:
    p = Project()
    p.entra.bprt = "bprt-secret-value-123"
    p.domain.password = "domain-pass-456"
    p.local_users = [LocalUser(name="admin", password="local-pass-789")]
    p.wifi_aside = Wifi(ssid="Office", key="wifi-key-aside")
    return p


def test_secrets_are_redacted_in_messages_and_tracebacks(tmp_path):
    project = a_project_with_secrets()
    path = tmp_path / "state" / "bulk-enroll.log"
    handler = open_log(path, lambda: project_secrets(project))
    try:
        log.info("token %s for %s", project.entra.bprt, "package_x@contoso.example")
        try:
            raise ValueError(
                f"bad answer {project.local_users[0].password} eyJhbGciOi.eyJzdWIi.sig"
            )
        except ValueError:
            log.exception("Building failed")
        log.warning("key %s", project.wifi_aside.key)
    finally:
        close_log(handler)
    text = path.read_text(encoding="utf-8")
    for secret in project_secrets(project) + ["eyJhbGciOi.eyJzdWIi"]:
        assert secret not in text
    assert text.count(REDACTED) == 4 and "package_x@contoso.example" in text
    assert "Traceback" in text and "ValueError: bad answer" in text
    assert path.stat().st_mode & 0o777 == 0o600
    assert handler not in log.handlers


def test_the_log_is_in_the_xdg_state_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_log_file() == tmp_path / "state" / "bulk-enroll" / "bulk-enroll.log"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_log_file() == tmp_path / "home" / ".local/state/bulk-enroll/bulk-enroll.log"


def test_rotated_files_are_owner_only_too(tmp_path, monkeypatch):
    import tui.project.logfile

    monkeypatch.setattr(tui.project.logfile, "MAX_BYTES", 200)
    path = tmp_path / "bulk-enroll.log"
    handler = open_log(path)
    try:
        for n in range(20):
            log.info("line %d %s", n, "x" * 40)
    finally:
        close_log(handler)
    rotated = sorted(tmp_path.glob("bulk-enroll.log*"))
    assert len(rotated) == 1 + tui.project.logfile.BACKUPS
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in rotated)


def test_a_proxy_password_is_a_secret_too(tmp_path):
    project = Project()
    project.connection.proxy = "http://field%40kit:pr%C3%B6xy-pass@proxy.contoso.example:3128"
    assert project_secrets(project) == ["pröxy-pass"]
    project.connection.proxy = "http://proxy.contoso.example:3128"
    assert project_secrets(project) == []
    project.connection.proxy = "http://[bad"  # refused by its rule; never a traceback here
    assert project_secrets(project) == []
    project.connection.proxy = "http://u:proxy%20secret@proxy:3128"
    path = tmp_path / "bulk-enroll.log"
    handler = open_log(path, lambda: project_secrets(project))
    try:
        log.info("proxy answered 407 for password %s", "proxy secret")
    finally:
        close_log(handler)
    assert "proxy secret" not in path.read_text(encoding="utf-8")
