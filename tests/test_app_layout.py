"""The layout at other terminal sizes than 80x24 (issue 14): the step list beside the form at
120x40, marked in text as steps are visited and their problems fixed; at 60x20 every label of
every step and dialog, and every key the footer offers, fully on screen. Keys only."""

from __future__ import annotations

import re
from datetime import date

import pytest
from app_pilot import screen_text, wait_for
from app_scenes import SCENES, scene_app
from textual.widgets import Collapsible, Label

from tui.app import create_app
from tui.widgets.field import BoolField, ChoiceField, Field

TODAY = date(2026, 11, 30)


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


STEP_LINE = re.compile(r"(> )?[✓!-] \d ")


def step_marks(app) -> list[str]:
    """The step list's lines as the terminal shows them (its 25 leftmost columns)."""
    lines = [line[:25].strip() for line in screen_text(app).splitlines()]
    return [line for line in lines if STEP_LINE.match(line)]


def mark(app, number: int) -> str:
    return step_marks(app)[number - 1]


async def test_the_step_list_marks_steps_visited_with_problems_and_done(tmp_path):
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=lambda _: [])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        await wait_for(pilot, lambda: len(step_marks(app)) == 9)
        assert mark(app, 1) == "> ! 1 Project"  # no name yet
        assert mark(app, 2) == "- 2 Device"
        assert "! has problems" in screen_text(app)  # the legend says what the marks mean

        await pilot.press(*"Fleet", "tab", *str(tmp_path / "p"))
        await wait_for(pilot, lambda: mark(app, 1) == "> ✓ 1 Project")
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "DeviceScreen"))
        await wait_for(pilot, lambda: mark(app, 2) == "> ✓ 2 Device")  # may stay empty
        assert mark(app, 1) == "✓ 1 Project"
        assert mark(app, 3) == "- 3 Network"

        await pilot.press(*"PC 01")  # refused: a space
        await wait_for(pilot, lambda: mark(app, 2) == "> ! 2 Device")
        await pilot.press("ctrl+u", *"PC-%SERIAL%")
        await wait_for(pilot, lambda: mark(app, 2) == "> ✓ 2 Device")

        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "NetworkScreen"))
        await wait_for(pilot, lambda: mark(app, 3).startswith("> "))
        await pilot.press("escape")
        await wait_for(pilot, on(app, "DeviceScreen"))
        await wait_for(pilot, lambda: mark(app, 2) == "> ✓ 2 Device")
        assert mark(app, 3) in ("✓ 3 Network", "! 3 Network")  # visited now
        assert mark(app, 4) == "- 4 Accounts"


async def test_at_80_columns_there_is_no_step_list(tmp_path):
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=lambda _: [])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        assert not app.screen.query_one("#step-list").display
        assert step_marks(app) == []


# Each step and dialog, as the snapshot scenes set them up (a filled-in project).
NARROW_SCENES = (
    "project",
    "device",
    "network",
    "accounts_entra",
    "accounts_domain",
    "accounts_users",
    "local_user_dialog",
    "connection_dialog",
    "applications",
    "application_dialog",
    "certificates",
    "review",
    "write",
    "next_steps",
)


def labels(app) -> list[tuple[object, str]]:
    """Each field and its label."""
    found = []
    for field in [*app.screen.query(Field).results(), *app.screen.query(ChoiceField).results()]:
        found.append((field, str(field.query_one(Label).content)))
    for box in app.screen.query(BoolField).results():
        found.append((box, str(box.label)))
    return [(widget, text) for widget, text in found if displayed(widget)]


def displayed(widget) -> bool:
    return all(getattr(node, "display", True) for node in widget.ancestors_with_self)


def footer_keys(app) -> list[str]:
    """Every key the footer offers on this screen, as it draws them ("^n Next")."""
    return [
        f"{app.get_key_display(binding)} {binding.description}"
        for _node, binding, _enabled, _tooltip in app.screen.active_bindings.values()
        if binding.show and binding.description and binding.action != "command_palette"
    ]


def shows_inside(app, text: str) -> bool:
    """``shows``, with a dialog's side borders and the scroll bar taken out of the lines."""
    lines = [line.strip().strip("│▁▂▃▄▅▆▇█ ") for line in screen_text(app).splitlines()]
    return "".join(text.split()) in "".join("".join(lines).split())


@pytest.mark.parametrize("scene", NARROW_SCENES)
async def test_every_label_and_footer_key_is_readable_at_60x20(scene, tmp_path):
    app = scene_app(tmp_path / "config")
    async with app.run_test(size=(60, 20)) as pilot:
        await SCENES[scene](pilot)
        for collapsible in app.screen.query(Collapsible).results():
            collapsible.collapsed = False  # the project step's "Advanced"
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        for key in footer_keys(app):
            assert key in footer, f"{key!r} is cut from the footer: {footer!r}"
        found = labels(app)
        assert found or scene in ("applications", "certificates", "review", "write", "next_steps")
        for widget, text in found:
            widget.scroll_visible(animate=False)
            await pilot.pause()
            assert shows_inside(app, text), f"{text!r} is cut at 60x20:\n{screen_text(app)}"
