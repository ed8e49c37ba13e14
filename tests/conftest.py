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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _REACHED_OUTSIDE:
        shown = ", ".join(sorted(set(_REACHED_OUTSIDE))[:5])
        session.config.get_terminal_writer().line(
            f"The tests read outside the repository: {shown}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
