"""Helpers for driving the app in tests: the screen as plain text, waiting on conditions."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable

import pytest
import textual.app
import textual.pilot
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input


# Textual's Pilot waits after every key with a CPU-idle heuristic: at least two 20 ms sleeps,
# ended when the process used little CPU meanwhile. That is slow (a typed path costs seconds)
# and wrong under load, where a descheduled process looks idle with work still queued. We
# replace it with a wait that is exact for the app's own work: until every message queue of
# the app and its current screen is drained (work in threads is waited for with wait_for).
async def _no_heuristic_wait(min_sleep: float = 0, max_sleep: float = 1) -> None:
    await asyncio.sleep(0)


async def settle(pilot: Pilot, *, rounds: int = 200) -> None:
    """Return once the app and every widget of its screen have no message left to handle."""
    for _ in range(rounds):
        await pilot._wait_for_screen()
        screen = pilot.app.screen
        animator = pilot.app.animator
        if animator._animations or animator._scheduled:
            await animator.wait_until_complete()  # e.g. a scroll started by the last key
            continue
        if _repaint_pending(screen):
            screen._on_timer_update()  # what the screen's refresh timer does, now
            continue
        pumps = [pilot.app, *screen.walk_children(with_self=True)]
        if all(p._message_queue.empty() and not p._next_callbacks for p in pumps):
            return


def _repaint_pending(screen) -> bool:
    """A layout, repaint or call_after_refresh callback the screen has yet to do."""
    return bool(
        screen._callbacks
        or screen._layout_required
        or screen._dirty_widgets
        or screen._recompose_required
        or screen._repaint_required
        or screen._scroll_required
    )


_press = Pilot.press


async def _press_and_settle(self: Pilot, *keys: str) -> None:
    """Each key, then settle; characters typed into a focused Input go as one burst (typing
    ahead, as a fast typist or a paste does), so the screen is laid out once, not per key."""
    i = 0
    while i < len(keys):
        end = i + 1
        if len(keys[i]) == 1 and isinstance(self.app.focused, Input):
            while end < len(keys) and len(keys[end]) == 1:
                end += 1
        await _press(self, *keys[i:end])
        await settle(self)
        i = end


async def _pause(self: Pilot, delay: float | None = None) -> None:
    if delay is not None:
        await asyncio.sleep(delay)
    await settle(self)
    self.app.screen._on_timer_update()


textual.app.wait_for_idle = _no_heuristic_wait
textual.pilot.wait_for_idle = _no_heuristic_wait
Pilot.press = _press_and_settle
Pilot.pause = _pause


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


def shows(app: App, text: str) -> bool:
    """Whether ``text`` is on the screen, wherever lines break: a long path (whose length
    depends on the test's temporary folder) is folded mid-word, so spaces are ignored."""
    return "".join(text.split()) in "".join(screen_text(app).split())


async def wait_for(pilot: Pilot, condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    await settle(pilot)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"condition not met within {timeout}s; screen:\n{screen_text(pilot.app)}"
            )
        await pilot.pause(0.01)


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*text)


@pytest.fixture
def no_blink(monkeypatch):
    """A steady Input cursor, so screenshots do not depend on timing."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
