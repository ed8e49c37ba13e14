"""The accounts step: several local users added, edited and removed with keys (each
checked by the core's rules, all of them in the built package), and the bulk token
through a browser on this computer. Keys only, at 80x24."""

from __future__ import annotations

import html
import re
import threading
import webbrowser
from datetime import UTC, date, datetime

import pytest
import requests
from app_pilot import flat_text, screen_text, wait_for
from fakes.identity import trusted_identity_server

from tui.app import create_app
from tui.entra.signin import SignInConfig
from tui.package.build import build_package
from tui.package.inspect import read_package
from tui.project import rules
from tui.project.model import JoinKind
from tui.screens.tokensignin import browser_here

TODAY = date(2026, 11, 30)
FAST = {"interval_unit": 0.01, "poll_interval": 0.01}


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


def dialog_text(app) -> str:
    """The words inside the dialog on one line: the screen cropped to the dialog's box, so
    the step drawn behind it adds no letters where a sentence wraps."""
    box = app.screen.children[0].region
    lines = screen_text(app).splitlines()[box.y : box.bottom]
    inside = " ".join(line[box.x : box.right] for line in lines)
    return " ".join(inside.replace("│", " ").split())


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]


@pytest.fixture
def app(tmp_path):
    return create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=lambda _: [])


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        yield server


async def to_accounts(pilot, folder) -> None:
    await pilot.press("n")
    await wait_for(pilot, on(pilot.app, "ProjectScreen"))
    await pilot.press(*"Fleet", "tab", *str(folder), "ctrl+n")
    await wait_for(pilot, on(pilot.app, "DeviceScreen"))
    await pilot.press(*"FLEET-%SERIAL%", "ctrl+n")
    await wait_for(pilot, on(pilot.app, "NetworkScreen"))
    await pilot.press("ctrl+n")
    await wait_for(pilot, on(pilot.app, "AccountsScreen"))


async def add_user(pilot, name: str, password: str, *, standard: bool = False) -> None:
    await pilot.press("a")
    await wait_for(pilot, on(pilot.app, "LocalUserDialog"))
    await pilot.press(*name, "tab", *password, "tab", *password)  # and its confirmation
    if standard:
        await pilot.press("tab", "right", "enter")  # the second group: Standard users
    await pilot.press("ctrl+n")
    await wait_for(pilot, on(pilot.app, "AccountsScreen"))


async def test_two_users_added_edited_removed_and_built(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        assert "a local administrator" in flat_text(app)  # the recommendation
        await pilot.press("tab", "tab")  # join choice, expiry, the user list
        assert "a Add user" in footer(app) and "x Remove" in footer(app)
        await add_user(pilot, "itadmin", "Adm1n-Passw0rd")
        await add_user(pilot, "kiosk", "Kiosk-Passw0rd-1", standard=True)
        users = [(u.name, u.password, u.group) for u in app.project.local_users]
        assert users == [
            ("itadmin", "Adm1n-Passw0rd", "Administrators"),
            ("kiosk", "Kiosk-Passw0rd-1", "Standard Users"),
        ]
        text = screen_text(app)
        assert "itadmin" in text and "kiosk" in text and "Standard Users" in text
        assert "Passw0rd" not in text

        await pilot.press("up", "e")  # edit the first: rename it
        await wait_for(pilot, on(app, "LocalUserDialog"))
        assert "Adm1n-Passw0rd" not in screen_text(app)  # masked in the dialog
        await pilot.press("ctrl+u", *"localadmin", "ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        await pilot.press("e", "ctrl+u", *"thrown away", "escape")  # Esc: no change
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert [u.name for u in app.project.local_users] == ["localadmin", "kiosk"]

        await add_user(pilot, "temp", "Temp-Passw0rd")
        assert len(app.project.local_users) == 3
        await pilot.press("x")  # the cursor is on the one just added
        assert [u.name for u in app.project.local_users] == ["localadmin", "kiosk"]
        assert "temp" not in screen_text(app)

        await pilot.press("shift+tab", "shift+tab", "right", "right", "enter")  # no join
        assert app.project.join == JoinKind.NONE
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "ApplicationsScreen"))

    out = tmp_path / "fleet.ppkg"
    build_package(app.project, out, timestamp=datetime(2026, 11, 30, 9, tzinfo=UTC))
    settings = {str(s.path): s.value for s in read_package(out, show_secrets=True).settings}
    assert settings["Accounts/Users/User[localadmin]/Password"] == "Adm1n-Passw0rd"
    assert settings["Accounts/Users/User[localadmin]/UserGroup"] == "Administrators"
    assert settings["Accounts/Users/User[kiosk]/Password"] == "Kiosk-Passw0rd-1"
    assert settings["Accounts/Users/User[kiosk]/UserGroup"] == "Standard Users"
    assert not any("temp" in path or "itadmin" in path for path in settings)


async def test_a_bad_user_name_is_refused_with_the_rules_sentence(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await pilot.press("tab", "tab", "a")
        await wait_for(pilot, on(app, "LocalUserDialog"))
        await pilot.press(*"it/admin", "tab", *"Adm1n-Passw0rd", "tab", *"Adm1n-Passw0rd", "ctrl+n")
        await pilot.pause()
        assert on(app, "LocalUserDialog")()
        sentence = rules.check_field(app.project, "local_users[0].name", today=TODAY)
        assert sentence and "must not contain" in sentence
        assert dialog_text(app).count(sentence) == 2  # under the field and in the list
        assert app.focused is app.screen.query_one("#user-name").input
        await pilot.press("ctrl+u", *"itadmin", "ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))

        await pilot.press("a")  # the same name in another case
        await wait_for(pilot, on(app, "LocalUserDialog"))
        await pilot.press(*"ITADMIN", "tab", *"Other-Passw0rd", "tab", *"Other-Passw0rd", "ctrl+n")
        await pilot.pause()
        assert on(app, "LocalUserDialog")()
        duplicate = rules.check_field(app.project, "local_users[1].name", today=TODAY)
        # Under the field and in the list (read from the dialog's own parts: the step
        # behind it shows through the dialog's margin on the screen).
        under = app.screen.query_one("#user-name .field--problem").content
        assert duplicate and str(under) == duplicate
        assert duplicate in str(app.screen.query_one("#problems").content)
        await pilot.press("escape")  # a new user cancelled is not kept
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert [u.name for u in app.project.local_users] == ["itadmin"]


async def test_next_names_the_user_without_a_password(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await pilot.press("tab", "tab")
        await add_user(pilot, "itadmin", "Adm1n-Passw0rd")
        await add_user(pilot, "kiosk", "Kiosk-Passw0rd-1")
        app.project.local_users[1].password = ""  # as an imported project may have it
        await pilot.press("shift+tab", "shift+tab", "right", "right", "enter", "ctrl+n")
        await pilot.pause()
        assert on(app, "AccountsScreen")()
        missing = rules.check_field(app.project, "local_users[1].password", today=TODAY)
        assert missing and missing in flat_text(app)
        assert app.focused is app.screen.query_one("#users")


async def test_esc_back_keeps_the_users(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await pilot.press("tab", "tab")
        await add_user(pilot, "itadmin", "Adm1n-Passw0rd")
        await add_user(pilot, "kiosk", "Kiosk-Passw0rd-1")
        await pilot.press("escape")
        await wait_for(pilot, on(app, "NetworkScreen"))
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        text = screen_text(app)
        assert "itadmin" in text and "kiosk" in text
        assert [u.name for u in app.project.local_users] == ["itadmin", "kiosk"]


async def test_reveal_in_the_user_dialog(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await pilot.press("tab", "tab", "a")
        await wait_for(pilot, on(app, "LocalUserDialog"))
        await pilot.press(*"itadmin", "tab", *"Adm1n-Passw0rd")
        assert "Adm1n-Passw0rd" not in screen_text(app)
        assert "^r Reveal" in footer(app)
        await pilot.press("ctrl+r")
        assert "Adm1n-Passw0rd" in screen_text(app)
        await pilot.press("ctrl+r")
        assert "Adm1n-Passw0rd" not in screen_text(app)


# --- the bulk token through a browser on this computer ---------------------------------


def scripted_browser(ca_bundle):
    """Plays the technician's browser (none exists on a test machine): loads the sign-in
    page and submits its form back to the local redirect, as a browser does on its own."""
    opened: list[str] = []

    def open_browser(url: str) -> bool:
        opened.append(url)

        def visit() -> None:
            page = requests.get(url, verify=str(ca_bundle), timeout=10).text
            action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))
            fields = re.findall(r'name="([^"]+)" value="([^"]*)"', page)
            requests.post(action, data={k: html.unescape(v) for k, v in fields}, timeout=10)

        threading.Thread(target=visit, daemon=True).start()
        return True

    return open_browser, opened


def browser_app(tmp_path, identity, open_browser):
    return create_app(
        config_dir=tmp_path / "config",
        today=TODAY,
        identity=SignInConfig(authority=identity.authority(), client_id="test-client"),
        token_options={**FAST, "open_browser": open_browser},
    )


async def test_bulk_token_through_a_browser_on_this_computer(tmp_path, identity):
    open_browser, opened = scripted_browser(identity.ca_bundle)
    app = browser_app(tmp_path, identity, open_browser)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        assert "A code, on any device" in screen_text(app)  # the default, still chosen
        await pilot.press("tab", "tab", "right", "enter")  # a browser on this computer
        assert app.sign_in_method == "browser"
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: bool(app.project.entra.bprt))
        assert app.project.entra.bprt == identity.bprt
        assert identity.calls_to("/authorize") and not identity.calls_to("/devicecode")
        lines = app.screen.query_one("#token-progress").lines
        await wait_for(pilot, lambda: "Bulk token received and saved in the project." in lines)
        assert opened and opened[0].startswith(identity.authority())


async def test_browser_sign_in_shows_the_address_and_can_be_cancelled(tmp_path, identity):
    opened: list[str] = []
    app = browser_app(tmp_path, identity, lambda url: opened.append(url) or True)  # no visit
    # Wide enough for the whole address, and below the width that adds the step list.
    async with app.run_test(size=(99, 40)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await pilot.press("tab", "tab", "right", "enter", "ctrl+t")
        await wait_for(pilot, lambda: bool(opened))
        await wait_for(pilot, lambda: "^g Cancel sign-in" in footer(app))
        shown = "".join(screen_text(app).split())  # the address wraps over several lines
        assert "".join(opened[0].split()) in shown
        await pilot.press("escape")  # Esc cancels the sign-in, as Ctrl+G does
        await wait_for(pilot, lambda: "Cancelled before it finished." in flat_text(app))
        assert on(app, "AccountsScreen")() and app.project.entra.bprt == ""
        assert not identity.calls_to("/token")


async def test_device_code_is_the_only_choice_without_a_browser(tmp_path):
    app = create_app(config_dir=tmp_path / "config", today=TODAY)
    app.browser_sign_in = False  # as over SSH
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        assert "A browser on this computer" not in screen_text(app)
        assert app.sign_in_method == "device_code"


def test_a_browser_is_offered_only_where_one_can_be_seen():
    x11 = {"DISPLAY": ":0"}
    graphical = webbrowser.BackgroundBrowser("xdg-open")
    console = webbrowser.GenericBrowser("lynx")

    def none():
        raise webbrowser.Error("could not locate runnable browser")

    assert browser_here(x11, "linux", lambda: graphical)
    assert browser_here({"WAYLAND_DISPLAY": "wayland-0"}, "linux", lambda: graphical)
    ssh = {"SSH_CONNECTION": "10.0.0.2 51000 10.0.0.1 22"}  # no X forwarding: no DISPLAY
    assert not browser_here(ssh, "linux", lambda: graphical)
    assert not browser_here(x11, "linux", lambda: console)  # would draw into this terminal
    assert not browser_here(x11, "linux", none)
    assert browser_here({}, "darwin", lambda: graphical)
    assert not browser_here({"SSH_TTY": "/dev/pts/1"}, "darwin", lambda: graphical)


async def test_the_password_is_typed_twice_and_weak_ones_are_warned_about(app, tmp_path):
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await pilot.press("tab", "tab", "a")
        await wait_for(pilot, on(app, "LocalUserDialog"))
        await pilot.press(*"itadmin", "tab", *"Adm1n-Passw0rd", "tab", *"Adm1n-Passw0rx")
        await pilot.press("ctrl+n")
        mismatch = rules.password_confirmation("a", "b")
        await wait_for(pilot, lambda: dialog_text(app).count(mismatch) == 2)
        assert on(app, "LocalUserDialog")()
        assert app.focused is app.screen.query_one("#user-password-confirmation").input

        # abc: accepted, with a note under the field (and on the review)
        await pilot.press("shift+tab", "ctrl+u", *"abc", "tab", "ctrl+u", *"abc")
        weak = [w.message for w in rules.warnings(app.project, today=TODAY)]
        assert any("3 characters (8 or more advised)" in w for w in weak)
        await wait_for(
            pilot, lambda: "is easy to guess: 3 characters (8 or more" in dialog_text(app)
        )
        assert not app.screen.query_one("#user-password-confirmation").has_class("-invalid")
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert app.project.local_users[0].password == "abc"


def test_password_hints_are_warnings_never_refusals():
    from tui.project.model import LocalUser, Project

    def notes(name, password):
        p = Project()
        p.local_users = [LocalUser(name=name, password=password)]
        return " ".join(w.message for w in rules.warnings(p, today=TODAY))

    assert "1 of the 4 kinds" not in notes("itadmin", "Adm1n-Passw0rd")
    assert "easy to guess" not in notes("itadmin", "Adm1n-Passw0rd")
    assert "2 of the 4 kinds of character" in notes("itadmin", "Administrator")
    assert "holds the user name" in notes("kiosk", "Kiosk")
    assert "holds the user name" in notes("Kiosk", "kiosk-2026!")
    for password in ("abc", "Administrator", "kiosk"):
        p = Project()
        p.local_users = [LocalUser(name="kiosk", password=password)]
        assert not [x for x in rules.validate(p, today=TODAY) if "password" in x.field]
    assert rules.password_confirmation("same", "same") is None
