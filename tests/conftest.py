"""Shared test configuration. Area fixtures live in their own modules under tests/fakes/."""

import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))

SAMPLES = TESTS / "fixtures" / "ppkg"

# The suite must pass from any clone, with nothing beside it. An audit hook records every file
# or folder this process opens beside the repository (in its parent folder, outside the repo),
# and the session fails if there was one. Subprocesses are covered by test_hermetic's scan.
_OUTSIDE = str(REPO.parent) + os.sep
_INSIDE = str(REPO) + os.sep
_REACHED_OUTSIDE: list[str] = []


def _audit(event: str, args: tuple) -> None:
    if event not in ("open", "os.listdir", "os.scandir") or not args:
        return
    path = args[0]
    if not isinstance(path, str):
        return
    full = os.path.abspath(path)
    if full.startswith(_OUTSIDE) and not (full + os.sep).startswith(_INSIDE):
        _REACHED_OUTSIDE.append(full)


sys.addaudithook(_audit)


def reached_outside() -> list[str]:
    return list(_REACHED_OUTSIDE)


@pytest.fixture(autouse=True)
def _reads_nothing_beside_the_repository():
    """Each test, in whichever worker process runs it, fails if it read beside the repo."""
    before = len(_REACHED_OUTSIDE)
    yield
    assert _REACHED_OUTSIDE[before:] == [], "read outside the repository"


@pytest.fixture(autouse=True)
def _own_config_and_state_folders(tmp_path_factory, monkeypatch):
    """The commands remember recent projects and write the support log in the XDG folders:
    each test gets its own, never the machine user's (subprocesses inherit them)."""
    xdg = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(xdg / "state"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _REACHED_OUTSIDE:
        shown = ", ".join(sorted(set(_REACHED_OUTSIDE))[:5])
        session.config.get_terminal_writer().line(
            f"The tests read outside the repository: {shown}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def real_readers_check(tmp_path: Path):
    """After the test: every complete WIM it left in tmp_path (the header written, so it
    starts with the magic) must pass `wimlib-imagex verify` and `7zz t`."""
    import subprocess

    yield
    for path in sorted(tmp_path.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        with open(path, "rb") as f:
            if f.read(8) != b"MSWIM\0\0\0":
                continue
        for args in (["wimlib-imagex", "verify"], ["7zz", "t"]):
            result = subprocess.run([*args, str(path)], capture_output=True, text=True)
            assert result.returncode == 0, f"{args[0]} rejects {path.name}:\n{result.stdout}"
            warnings = [
                line
                for line in result.stderr.splitlines()
                if "WARNING" in line and "integrity" not in line
            ]
            assert warnings == [], result.stderr
