"""Helpers for driving the app in tests: the screen as plain text, waiting on conditions."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import pytest
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input


def screen_text(app: App) -> str:
    """What the terminal shows right now, as plain text lines (as export_screenshot sees it)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def flat_text(app: App) -> str:
    """The screen's words on one line, so wrapped sentences can be searched for."""
    return " ".join(screen_text(app).split())


async def wait_for(pilot: Pilot, condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"condition not met within {timeout}s; screen:\n{screen_text(pilot.app)}"
            )
        await pilot.pause(0.02)


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*text)


@pytest.fixture
def no_blink(monkeypatch):
    """A steady Input cursor, so screenshots do not depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
