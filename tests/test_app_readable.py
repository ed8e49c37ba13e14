"""Readable without colour: every state is in the text (checkboxes, radio buttons, the
focused field), and NO_COLOR is honoured."""

from __future__ import annotations

from app_pilot import screen_text, wait_for
from app_scenes import SIZE, sample_project, scene_app

from tui.project.model import WifiSecurity


def line_with(app, label: str) -> str:
    return next(line for line in screen_text(app).splitlines() if label in line)


async def test_checkboxes_and_radio_buttons_show_their_state_in_text(tmp_path):
    app = scene_app(tmp_path / "config")
    project = sample_project()
    project.wifi.auto_connect, project.wifi.hidden = True, False
    app.project = project
    async with app.run_test(size=SIZE) as pilot:
        app.call_later(app.goto_step, "network")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NetworkScreen")
        assert "(•) Wi-Fi, WPA2-Personal" in line_with(app, "WPA2-Personal")
        assert "( ) Wi-Fi, open" in line_with(app, "Wi-Fi, open")
        assert "( ) Cable at first boot" in line_with(app, "Cable at first boot")
        assert "[x] Connect automatically" in line_with(app, "Connect automatically")
        assert "[ ] Hidden network" in line_with(app, "Hidden network")
        assert "▐" not in screen_text(app) and "▌" not in screen_text(app)

        # The highlighted option is the chosen one: the arrows choose as they move.
        app.screen.query_one("RadioSet").focus()
        await pilot.press("right")
        assert app.project.wifi.security == WifiSecurity.OPEN
        assert "(•) Wi-Fi, open" in line_with(app, "Wi-Fi, open")
        assert "( ) Wi-Fi, WPA2-Personal" in line_with(app, "WPA2-Personal")
        await pilot.press("end")
        assert app.project.wifi is None
        assert "(•) Cable at first boot" in line_with(app, "Cable at first boot")
        await pilot.press("home")
        assert app.project.wifi.security == WifiSecurity.WPA2_PERSONAL

        # Space on the checkbox: its text follows the model.
        app.screen.query_one("BoolField").focus()
        await pilot.press("space")
        assert app.project.wifi.auto_connect is False
        assert "[ ] Connect automatically" in line_with(app, "Connect automatically")


async def test_the_radio_set_opens_highlighting_the_chosen_option(tmp_path):
    app = scene_app(tmp_path / "config")
    app.project = sample_project()
    app.project.wifi = None  # "cable", the last option
    async with app.run_test(size=SIZE) as pilot:
        app.call_later(app.goto_step, "network")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NetworkScreen")
        radio_set = app.screen.query_one("RadioSet")
        await wait_for(pilot, lambda: radio_set._selected == 2)
        radio_set.focus()
        await pilot.press("enter")
        assert app.project.wifi is None


async def test_no_color_is_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = scene_app(tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.no_color


async def test_the_focused_field_is_marked_by_a_text_style(tmp_path):
    from textual.widgets import Label

    app = scene_app(tmp_path / "config")
    app.project = sample_project()
    async with app.run_test(size=SIZE) as pilot:
        app.call_later(app.goto_step, "network")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NetworkScreen")
        ssid = app.screen.query_one("#ssid")
        ssid.input.focus()
        await pilot.pause()
        assert ssid.query_one(Label).styles.text_style.underline
        app.screen.query_one("#wifi-key").input.focus()
        await pilot.pause()
        assert not ssid.query_one(Label).styles.text_style.underline
