"""``bulk-enroll token`` end to end: the real command in a subprocess, the fake over HTTPS."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from fakes.identity import bulk_aadsts, trusted_identity_server

from tui.project.file import load_project, save_project
from tui.project.model import Project

REPO = Path(__file__).resolve().parent.parent
EXPIRES = date.today() + timedelta(days=60)


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        server.approve_after(1)  # the "user" signs in after one pending answer
        server.poll_script = [None]  # issued at the first poll
        yield server


def command(server, *args: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    if server:  # else whatever the environment has, or nothing (sudo resets it)
        env["REQUESTS_CA_BUNDLE"] = str(server.ca_bundle)
    env["PYTHONPATH"] = str(REPO)
    env.pop("HTTPS_PROXY", None)
    env.pop("https_proxy", None)
    authority = ["--authority", server.authority()] if server else []
    return [sys.executable, "-m", "tui", "token", *authority, *args], env


def bulk_enroll(server, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    argv, env = command(server, *args)
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def new_project_file(tmp_path) -> Path:
    path = tmp_path / "project.toml"
    project = Project()
    project.package.name = "Contoso kiosks"
    save_project(project, path)
    return path


def interrupted_while_polling(identity, argv, env, sigint_disposition):
    """Start the command with SIGINT set to ``sigint_disposition``, send SIGINT once it is
    polling the token endpoint (a real condition, with a deadline), and let it finish."""
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint_disposition),
    )
    try:
        end = time.monotonic() + 30
        while not identity.calls_to("/token"):
            assert time.monotonic() < end and proc.poll() is None
            time.sleep(0.01)  # polling a real condition, with a deadline
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    return proc, out, err


def test_token_into_project_file(identity, tmp_path):
    path = new_project_file(tmp_path)
    path.chmod(0o644)  # the save must make it owner-only again

    done = bulk_enroll(identity, "--expires", EXPIRES.isoformat(), "--project", str(path))

    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "FAKE-CODE" in done.stderr and f"{identity.base_url}/devicelogin" in done.stderr
    assert "Signed in as admin@contoso.example." in done.stderr
    assert identity.bprt not in done.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entra = load_project(path).entra
    assert entra.bprt == identity.bprt
    assert entra.expires == EXPIRES
    assert entra.token_package_id == identity.calls_to("/begin")[0].json["pid"]
    assert entra.package_user == f"package_{entra.token_package_id}@contoso.example"
    assert load_project(path).package.name == "Contoso kiosks"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_token_as_json(identity):
    done = bulk_enroll(identity, "--expires", EXPIRES.isoformat(), "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["bprt"] == identity.bprt
    assert answer["expires"] == EXPIRES.isoformat()
    assert answer["package_user"] == f"package_{answer['package_id']}@contoso.example"
    assert set(answer) == {"bprt", "package_id", "package_user", "expires"}
    assert identity.bprt not in done.stderr


FAKE_BROWSER = """\
import html, re, sys, requests
page = requests.get(sys.argv[1], timeout=10).text
action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))
fields = {k: html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page)}
requests.post(action, data=fields, timeout=10)
"""


def test_browser_sign_in(identity, tmp_path, monkeypatch):
    # No browser on a test machine: BROWSER names a script that does what one would do
    # (load the sign-in page, submit its form back to the local redirect).
    script = tmp_path / "browser.py"
    script.write_text(FAKE_BROWSER)
    monkeypatch.setenv("BROWSER", f"{sys.executable} {script} %s")
    done = bulk_enroll(identity, "--expires", EXPIRES.isoformat(), "--json", "--browser")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["bprt"] == identity.bprt
    assert identity.calls_to("/authorize") and not identity.calls_to("/devicecode")


def test_refusal_exits_2_and_leaves_the_project_file_alone(identity, tmp_path):
    identity.poll_script = [bulk_aadsts(240001)]
    path = new_project_file(tmp_path)
    before = path.read_bytes()
    done = bulk_enroll(identity, "--expires", EXPIRES.isoformat(), "--project", str(path))
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("bulk-enroll: Entra ID refused the bulk token (AADSTS240001)")
    assert "Traceback" not in done.stderr
    assert path.read_bytes() == before


def test_ctrl_c_cancels_even_when_started_with_sigint_ignored(identity, tmp_path):
    """The command takes Python's SIGINT handler back for its own wait."""
    identity.token_script = ["authorization_pending"]
    argv, env = command(identity, "--expires", EXPIRES.isoformat(), "--json")
    proc, out, err = interrupted_while_polling(identity, argv, env, signal.SIG_IGN)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "bulk-enroll: cancelled."
    assert out == ""


def test_sign_in_timeout(identity):
    identity.token_script = ["authorization_pending"]
    done = bulk_enroll(identity, "--expires", EXPIRES.isoformat(), "--json", "--timeout", "0.5")
    assert done.returncode == 2
    assert "in time" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_ctrl_c_while_waiting_for_sign_in(identity, tmp_path):
    identity.token_script = ["authorization_pending"]
    path = new_project_file(tmp_path)
    before = path.read_bytes()
    argv, env = command(identity, "--expires", EXPIRES.isoformat(), "--project", str(path))
    # The child gets SIGINT delivered even when this suite runs from a shell that ignores it
    # (nohup, a background job): ignored signals are inherited across exec.
    proc, out, err = interrupted_while_polling(identity, argv, env, signal.SIG_DFL)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "bulk-enroll: cancelled."
    assert "Traceback" not in err
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--expires", "31/05/2026", "--json"], "--expires"),
        (["--expires", date.today().isoformat(), "--json"], "not in the future"),
        (["--expires", (date.today() + timedelta(days=200)).isoformat(), "--json"], "180"),
        (["--expires", EXPIRES.isoformat()], "--project"),
        (["--expires", EXPIRES.isoformat(), "--project", "/nonexistent/p.toml"], "does not exist"),
        (["--expires", EXPIRES.isoformat(), "--json", "--timeout", "0"], "--timeout"),
        (["--expires", EXPIRES.isoformat(), "--json", "--timeout", "nan"], "--timeout"),
        (["--expires", EXPIRES.isoformat(), "--json", "--ca-bundle", "/nope.pem"], "CA bundle"),
    ],
)
def test_bad_input_is_one_sentence_before_any_request(identity, args, words):
    done = bulk_enroll(identity, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("bulk-enroll: ") and words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert identity.calls == []


def test_bad_authority(tmp_path):
    done = bulk_enroll(
        None, "--authority", "http://example.test/x", "--expires", EXPIRES.isoformat(), "--json"
    )
    assert done.returncode == 2
    assert "authority" in done.stderr and "Traceback" not in done.stderr


def test_a_project_that_cannot_be_saved_is_refused_before_signing_in(identity, tmp_path):
    """A read-only filesystem (a real ext4 image mounted read-only): as root, file modes would
    not stop a write, a read-only mount does."""
    from fakes.mounts import loop_missing, make_ext4, mount_ext4

    if reason := loop_missing():
        pytest.skip(reason)
    image = make_ext4(tmp_path / "ro.img")
    mnt = tmp_path / "ro"
    with mount_ext4(image, mnt) as root:
        new_project_file(root)
    with mount_ext4(image, mnt, read_only=True) as root:
        before = (root / "project.toml").read_bytes()
        done = bulk_enroll(
            identity, "--expires", EXPIRES.isoformat(), "--project", str(root / "project.toml")
        )
        assert done.returncode == 2, done.stderr
        assert "Cannot save project file" in done.stderr and "Read-only" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        assert identity.calls == []  # no sign-in, so no package user was created
        assert (root / "project.toml").read_bytes() == before
