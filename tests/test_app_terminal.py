"""The installed ``bulk-enroll`` command in a real terminal: tmux at 80x24, keys sent as a
user types them, the screen read back with capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt: tmux)")


class Terminal:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        out = subprocess.run(
            [TMUX, "-L", self.socket, *args], capture_output=True, text=True, check=True
        )
        return out.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "app", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "app", "-l", text)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on the screen within {timeout}s:\n{screen}")
            time.sleep(0.05)  # polling the real terminal, with a deadline

    def alive(self) -> bool:
        return subprocess.run([TMUX, "-L", self.socket, "has-session", "-t", "app"]).returncode == 0


def command() -> list[str]:
    """The console script pip installed beside this interpreter: what the README runs."""
    installed = Path(sys.executable).parent / "bulk-enroll"
    assert installed.is_file(), f"{installed} is missing: install the project (pip install -e .)"
    return [str(installed)]


@pytest.fixture
def terminal(tmp_path):
    socket = f"bulk-enroll-test-{uuid.uuid4().hex[:8]}"
    term = Terminal(socket)
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path / "home"),
        "TERM": "xterm-256color",
        "COLORTERM": "",
    }
    (tmp_path / "home").mkdir()
    shell = " ".join(["env", *(f"{k}={v}" for k, v in env.items()), *command()])
    subprocess.run(
        [
            TMUX,
            "-L",
            socket,
            "-f",
            os.devnull,
            "new-session",
            "-d",
            "-s",
            "app",
            "-x",
            "80",
            "-y",
            "24",
            shell,
        ],
        check=True,
    )
    try:
        yield term
    finally:
        subprocess.run([TMUX, "-L", socket, "kill-server"], capture_output=True)


def test_first_pages_in_a_real_terminal(terminal, tmp_path):
    folder = tmp_path / "projects" / "fleet"
    screen = terminal.wait_for("n New project")
    assert "Recent projects" in screen

    terminal.keys("n")
    terminal.wait_for("Step 1 of 9")
    terminal.type("Fleet")
    terminal.keys("Tab")  # typed ahead: no waiting between the fields
    terminal.type(str(folder))
    terminal.keys("C-n")
    terminal.wait_for("Step 2 of 9")

    terminal.type("PC 01")
    terminal.wait_for("must not contain spaces")
    terminal.keys("C-n")
    screen = terminal.wait_for("Cannot go on yet")
    assert "Step 2 of 9" in screen

    terminal.keys("C-u")
    terminal.type("PC-%RAND:4%")
    terminal.wait_for("Example: PC-1234")
    terminal.keys("C-n")
    terminal.wait_for("Step 3 of 9")

    terminal.keys("Escape")
    screen = terminal.wait_for("Step 2 of 9")
    assert "PC-%RAND:4%" in screen

    terminal.keys("C-q")
    deadline = time.monotonic() + 20
    while terminal.alive():
        assert time.monotonic() < deadline, "the app did not quit on Ctrl+Q"
        time.sleep(0.05)
    saved = folder / "Fleet.bulkenroll.toml"
    assert saved.is_file()
    assert 'name = "PC-%RAND:4%"' in saved.read_text() or "PC-%RAND:4%" in saved.read_text()
    recent = Path(tmp_path / "config" / "bulk-enroll" / "recent.json")
    assert str(saved) in recent.read_text()


def test_a_dropped_session_keeps_what_was_typed(terminal, tmp_path):
    folder = tmp_path / "projects" / "kiosk"
    terminal.wait_for("n New project")
    terminal.keys("n")
    terminal.wait_for("Step 1 of 9")
    terminal.type("Kiosk")
    terminal.keys("Tab")
    terminal.type(str(folder))
    terminal.keys("C-n")
    terminal.wait_for("Step 2 of 9")
    terminal.type("KIOSK-%SERIAL%")
    terminal.wait_for("Example: KIOSK-")
    saved = folder / "Kiosk.bulkenroll.toml"
    deadline = time.monotonic() + 20
    while "KIOSK-%SERIAL%" not in (saved.read_text() if saved.exists() else ""):
        assert time.monotonic() < deadline, "the typed name was not saved on its own"
        time.sleep(0.05)
    terminal.tmux("kill-server")  # the SSH session drops: the terminal goes away
    from tui.project.file import load_project

    assert load_project(saved).device.name == "KIOSK-%SERIAL%"
    assert sorted(p.name for p in folder.iterdir()) == ["Kiosk.bulkenroll.toml"]
