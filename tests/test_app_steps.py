"""The behaviour of the steps: rules under fields, Next refused with reasons, Esc-back
keeping values, secrets masked, bulk token sign-in cancelled and failing, command palette,
autosave and the recent projects list. Keys only, at 80x24."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from app_pilot import flat_text, no_blink, screen_text, wait_for  # noqa: F401 (fixture)
from fakes.identity import bulk_aadsts, trusted_identity_server

from tui.app import create_app
from tui.entra.signin import SignInConfig
from tui.project import rules
from tui.project.file import load_project, save_project
from tui.project.model import Project
from tui.project.recent import load_recent, remember
from tui.wcd import settings

TODAY = date(2026, 11, 30)
FAST = {"interval_unit": 0.01, "poll_interval": 0.01}


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


@pytest.fixture
def app(tmp_path):
    return create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=lambda _: [])


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        yield server


async def to_device_step(pilot, folder: Path) -> None:
    await pilot.press("n")
    await wait_for(pilot, on(pilot.app, "ProjectScreen"))
    await pilot.press(*"Fleet", "tab", *str(folder), "ctrl+n")
    await wait_for(pilot, on(pilot.app, "DeviceScreen"))


async def test_next_is_refused_with_the_rules_sentences(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "Cannot go on yet" in screen_text(app))
        assert on(app, "ProjectScreen")()
        sentence = rules.check_field(Project(), "package.name", today=TODAY)
        assert sentence
        assert screen_text(app).count(sentence) == 2  # under the field and in the list
        assert app.focused is app.screen.query_one("#name").input

        await pilot.press(*"Fleet", "tab", *str(tmp_path / "p"))
        await wait_for(pilot, lambda: app.project.folder == str(tmp_path / "p"))
        assert sentence not in screen_text(app)  # re-checked as typed
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "DeviceScreen"))

        await pilot.press(*"PC 01")
        spaces = rules.check_field(app.project, "device.name", today=TODAY)
        assert spaces and spaces in screen_text(app)  # as you type, before any Next
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: f"Cannot go on yet: • {spaces}" in flat_text(app))
        assert on(app, "DeviceScreen")()
        await pilot.press("ctrl+u", *"PC-%SERIAL%")
        assert "Example: PC-" in screen_text(app) and spaces not in screen_text(app)
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "NetworkScreen"))


async def test_esc_goes_back_without_losing_what_was_typed(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press(*"bad name!")  # invalid, but typed: kept as typed
        await pilot.press("escape")
        await wait_for(pilot, on(app, "ProjectScreen"))
        assert "Fleet" in screen_text(app)
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "DeviceScreen"))
        assert "bad name!" in screen_text(app)
        await pilot.press("ctrl+u", *"FLEET-%RAND:4%", "ctrl+n")
        await wait_for(pilot, on(app, "NetworkScreen"))
        await pilot.press("home", "tab", *"Office", "tab", *"wifi-secret-key")
        await pilot.press("shift+tab", "shift+tab", "left", "enter")  # back to "cable"
        await pilot.press("escape", "ctrl+n")
        await wait_for(pilot, on(app, "NetworkScreen"))
        await pilot.press("home")  # Wi-Fi again: what was typed comes back
        assert app.project.wifi.ssid == "Office" and app.project.wifi.key == "wifi-secret-key"
        await pilot.press("right", "enter")  # open network: no key in the project
        assert app.project.wifi.security == "Open" and app.project.wifi.key == ""
        await pilot.press("left", "enter")  # back to WPA2: the key is there again
        assert app.project.wifi.key == "wifi-secret-key"
        await pilot.press("escape")
        await wait_for(pilot, on(app, "DeviceScreen"))
        await pilot.press("escape", "escape")
        await wait_for(pilot, on(app, "StartScreen"))
        assert "Fleet" in screen_text(app)  # the project is listed among recent ones


async def test_secrets_are_drawn_only_when_revealed(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "NetworkScreen"))
        await pilot.press("home", "tab", *"Office", "tab", *"hunter2hunter2")
        assert "hunter2" not in screen_text(app)
        assert "^r Reveal" in screen_text(app)  # the key is in the footer
        await pilot.press("ctrl+r")
        assert "hunter2hunter2" in screen_text(app)
        await pilot.press("ctrl+r")
        assert "hunter2" not in screen_text(app)


async def test_bulk_token_sign_in_can_be_cancelled_and_the_ui_keeps_answering(tmp_path, identity):
    identity.token_script = ["authorization_pending"]  # nobody ever signs in
    app = create_app(
        config_dir=tmp_path / "config",
        today=TODAY,
        identity=SignInConfig(authority=identity.authority(), client_id="test-client"),
        token_options=FAST,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press("ctrl+n", "ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "enter the code FAKE-CODE" in flat_text(app))
        assert "^g Cancel sign-in" in screen_text(app)
        # While the worker waits, typing still works, in a dialog too.
        await pilot.press("tab", "tab", "a")
        await wait_for(pilot, on(app, "LocalUserDialog"))
        await pilot.press(*"itadmin", "tab", *"Adm1n-Passw0rd", "tab", *"Adm1n-Passw0rd", "ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert app.project.local_users[0].name == "itadmin"
        assert "^g Cancel sign-in" in screen_text(app)  # still running, still cancellable
        polls = len(identity.calls_to("/token"))
        await wait_for(pilot, lambda: len(identity.calls_to("/token")) > polls)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: "Cancelled before it finished." in flat_text(app))
        assert app.project.entra.bprt == ""
        await pilot.press("shift+tab")  # out of the user list, whose keys take the room
        assert "^t Get bulk token" in screen_text(app)  # offered again
        await app.workers.wait_for_complete()
        settled = len(identity.calls_to("/token"))
        await pilot.pause(0.2)
        assert len(identity.calls_to("/token")) == settled  # the polling really stopped


async def test_bulk_token_refused_by_entra_shows_the_advice(tmp_path, identity):
    identity.approve_after(0)
    identity.poll_script = [bulk_aadsts(240001, "BulkAADJTokenUnauthorized")]
    app = create_app(
        config_dir=tmp_path / "config",
        today=TODAY,
        identity=SignInConfig(authority=identity.authority(), client_id="test-client"),
        token_options=FAST,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press("ctrl+n", "ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "AADSTS240001" in flat_text(app))
        assert app.project.entra.bprt == ""
        assert "Traceback" not in screen_text(app)


async def test_expiry_date_must_be_a_date_within_the_rules(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press("ctrl+n", "ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        await pilot.press("tab", "ctrl+u", *"2028-01-01")
        too_far = rules.check_field(app.project, "entra.expires", today=TODAY)
        assert too_far and too_far in screen_text(app)
        await pilot.press("ctrl+u", *"2027-02-30")
        assert "2027-02-30 is not a date (February has 28 days in 2027)." in flat_text(app)
        await pilot.press("ctrl+u", *"soon")
        # One date as the example, the default; the label gives the limit.
        assert "type the date as YYYY-MM-DD, e.g. 2027-05-28." in flat_text(app)
        assert "at most 180 days ahead: 2027-05-29 at the latest" in flat_text(app)
        bells = []
        app.bell = lambda: bells.append("bell")
        await pilot.press("ctrl+t")  # refused: no sign-in starts with a bad date
        await wait_for(pilot, lambda: bells == ["bell"])
        assert "Cannot go on yet" in screen_text(app)
        assert "Cancel sign-in" not in screen_text(app)
        assert not [w for w in app.workers if w.group == "token"]
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: bells == ["bell", "bell"])
        assert on(app, "AccountsScreen")()


async def test_command_palette_jumps_to_a_step(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press("ctrl+p")
        await pilot.press(*"Certificates")
        await wait_for(pilot, lambda: "Go to step 6: Certificates" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, on(app, "CertificatesScreen"))
        await pilot.press("escape")
        await wait_for(pilot, on(app, "ApplicationsScreen"))


async def test_changes_are_saved_automatically(app, tmp_path):
    folder = tmp_path / "p"
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, folder)
        saved = folder / "Fleet.bulkenroll.toml"
        assert saved.is_file()
        await pilot.press(*"FLEET-%RAND:3%")
        # No key pressed after typing: the periodic autosave writes it.
        await wait_for(pilot, lambda: load_project(saved).device.name == "FLEET-%RAND:3%")
        assert saved.stat().st_mode & 0o777 == 0o600
    assert load_recent(tmp_path / "config") == [saved]


async def test_unnamed_project_is_kept_as_a_draft(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        await pilot.press(*"Half")
        drafts = tmp_path / "config" / "drafts"
        await wait_for(
            pilot,
            lambda: any(load_project(p).package.name == "Half" for p in drafts.glob("*.toml")),
        )


async def test_recent_project_opens_with_its_values(tmp_path):
    project = Project()
    project.package.name = "Kiosks"
    project.folder = str(tmp_path / "kiosks")
    project.device.name = "KIOSK-%SERIAL%"
    path = tmp_path / "kiosks.bulkenroll.toml"
    save_project(project, path)
    remember(tmp_path / "config", path)
    app = create_app(config_dir=tmp_path / "config", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "kiosks.bulkenroll.toml" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, on(app, "ProjectScreen"))
        assert "Kiosks" in screen_text(app)
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "DeviceScreen"))
        assert "KIOSK-%SERIAL%" in screen_text(app)


async def test_review_lists_problems_and_warnings_and_builds_only_when_clean(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press("ctrl+p", *"Review")
        await wait_for(pilot, lambda: "Go to step 7: Review & build" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, on(app, "ReviewScreen"))
        text = flat_text(app)
        missing = rules.check_field(app.project, "entra.bprt", today=TODAY)
        assert "Cannot build yet" in text and missing in text
        app.screen.query_one("#warnings").scroll_visible(animate=False, top=True)
        await wait_for(pilot, lambda: "package user can never do MFA" in flat_text(app))
        text = flat_text(app)
        for warning in settings.warnings(app.project, today=TODAY):
            assert warning.message in text  # e.g. joining without a local administrator
        assert "package user can never do MFA" in text
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: "Not built: fix what is listed" in flat_text(app))
        assert app.built_package is None and not list((tmp_path / "p").glob("*.ppkg"))
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "Build the package first" in flat_text(app))
        assert on(app, "ReviewScreen")()


async def test_advanced_owner_type_and_rank_with_keys(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        await pilot.press("tab", "tab", "tab", "enter")  # open "Advanced"
        await pilot.press("tab", "enter", "up", "enter")  # owner type: one up from ITAdmin
        assert app.project.package.owner_type == "MobileOperator"
        await pilot.press("tab", "ctrl+u", *"1x50")  # only digits; a third one is kept
        assert app.project.package.rank == 150
        sentence = rules.check_field(app.project, "package.rank", today=TODAY)
        assert sentence and "0 to 99" in sentence
        await wait_for(pilot, lambda: sentence in flat_text(app))  # why, under the field
        await pilot.press("backspace")
        assert app.project.package.rank == 15


async def test_a_product_key_typed_without_dashes_is_shown_in_groups(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_device_step(pilot, tmp_path / "p")
        await pilot.press("tab", *"nppr9fwdcxd2c8jh872k2yt43")
        assert app.project.device.product_key == "NPPR9-FWDCX-D2C8J-H872K-2YT43"
        await wait_for(pilot, lambda: "NPPR9-FWDCX-D2C8J-H872K-2YT43" in screen_text(app))
        assert rules.check_field(app.project, "device.product_key", today=TODAY) is None
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "NetworkScreen"))


async def test_a_new_project_never_replaces_an_existing_project_file(app, tmp_path):
    folder = tmp_path / "p"
    existing = Project()
    existing.package.name = "Fleet"
    existing.folder = str(folder)
    existing.entra.bprt = "a token that cost a sign-in"
    folder.mkdir()
    path = folder / "Fleet.bulkenroll.toml"
    save_project(existing, path)
    before = path.read_bytes()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        await pilot.press(*"Fleet", "tab", *str(folder), "ctrl+n")
        await wait_for(pilot, lambda: "Fleet.bulkenroll.toml already exists" in flat_text(app))
        assert on(app, "ProjectScreen")() and app.project_path is None
    assert path.read_bytes() == before
    assert load_project(path).entra.bprt == "a token that cost a sign-in"
