"""Issue 13: the app never loses work and never says what is not true. Each test is one
reproduced defect: the default folder, the build on a snapshot, Wi-Fi kept across a
restart, an issued token's expiry, honest next steps, saving before a sign-in, relative
payload paths, worker errors logged, no blocking work on the UI thread, resuming where the
project was left, drafts by name, a matching package taken as built. Keys only, at 80x24."""

from __future__ import annotations

import os
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from app_pilot import flat_text, screen_text, shows, wait_for
from fakes.identity import trusted_identity_server
from test_app_write import small_project

from tui.app import create_app
from tui.entra.signin import SignInConfig
from tui.package.build import build_package
from tui.package.inspect import read_package
from tui.project import session
from tui.project.file import load_project, save_project
from tui.project.model import Application, EntraJoin, JoinKind, Project, Resume
from tui.usb.drives import Drive
from tui.usb.write import WriteResult

TODAY = date(2026, 11, 30)
GATE_SECONDS = 10.0


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


def notified(app, text: str):
    return lambda: any(text in n.message for n in app._notifications)


def saved_project(folder: Path, project: Project | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Wave4.bulkenroll.toml"
    save_project(project or small_project(folder), path)
    return path


def make_app(tmp_path, **kw):
    kw.setdefault("drive_source", lambda _: [])
    return create_app(config_dir=tmp_path / "config", today=TODAY, **kw)


async def goto(app, pilot, step_id: str, screen: str) -> None:
    app.call_later(app.goto_step, step_id)
    await wait_for(pilot, on(app, screen))


# --- 2: an empty folder is the default folder, not the current directory ------------------


async def test_an_empty_folder_saves_into_the_default_folder(tmp_path, monkeypatch):
    home, elsewhere = tmp_path / "home", tmp_path / "cwd"
    home.mkdir(), elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(elsewhere)
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        await pilot.press(*"Fleet", "ctrl+n")
        await wait_for(pilot, on(app, "DeviceScreen"))
    expected = home / "bulk-enroll" / "Fleet" / "Fleet.bulkenroll.toml"
    assert app.project_path == expected and expected.is_file()
    assert os.listdir(elsewhere) == []


# --- 3: the build works on a snapshot; navigation waits; the app records it -------------


@pytest.fixture
def slow_build(monkeypatch):
    """build_package waits for the test to open the gate."""
    import tui.package.build

    gate = threading.Event()
    real = tui.package.build.build_package

    def build(*args, **kw):
        gate.wait(GATE_SECONDS)
        return real(*args, **kw)

    monkeypatch.setattr(tui.package.build, "build_package", build)
    return gate


async def test_the_build_works_on_a_snapshot_and_esc_waits_for_it(tmp_path, slow_build):
    path = saved_project(tmp_path / "wave")
    out = tmp_path / "wave" / "Wave4.ppkg"
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "review", "ReviewScreen")
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: "Building" in screen_text(app))
        await pilot.press("escape")
        await wait_for(pilot, notified(app, "Wait until the package is built"))
        assert on(app, "ReviewScreen")()
        app.project.device.name = "EDITED-%RAND:2%"  # an edit while the build runs
        slow_build.set()
        await wait_for(pilot, lambda: "Built Wave4.ppkg" in flat_text(app))
        settings = {str(s.path): s.value for s in read_package(out).settings}
        assert settings["Accounts/ComputerAccount/ComputerName"] == "W4-%RAND:4%"
        assert app.built_package is None  # the package is not what the project now says
        app.project.device.name = "W4-%RAND:4%"
        assert app.built_package == out
        await wait_for(pilot, lambda: load_project(path).resume.package == str(out))


# --- 5: Wi-Fi settings survive choosing a cable and a restart ------------------------------


async def test_wifi_typed_before_choosing_a_cable_survives_a_restart(tmp_path):
    path = saved_project(tmp_path / "wave")
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "network", "NetworkScreen")
        await pilot.press("home", "tab", *"Office", "tab", *"wifi-secret-key")
        await pilot.press("shift+tab", "shift+tab", "right", "right", "enter")  # cable
        await wait_for(pilot, lambda: app.project.wifi is None)
        await pilot.press("ctrl+q")
    assert load_project(path).wifi is None
    assert path.stat().st_mode & 0o777 == 0o600
    again = make_app(tmp_path, open_path=path)
    async with again.run_test(size=(80, 24)) as pilot:
        await goto(again, pilot, "network", "NetworkScreen")
        await pilot.press("home", "enter")  # Wi-Fi, WPA2 again
        await wait_for(pilot, lambda: again.project.wifi is not None)
        assert again.project.wifi.ssid == "Office"
        assert again.project.wifi.key == "wifi-secret-key"


# --- 6: an issued token's expiry is read-only ---------------------------------------------


async def test_an_issued_tokens_expiry_cannot_be_edited(tmp_path):
    project = small_project(tmp_path / "wave")
    project.join = JoinKind.ENTRA
    project.entra = EntraJoin(
        bprt="issued-token-value", expires=date(2027, 3, 31), package_user="package_x@c.example"
    )
    path = saved_project(tmp_path / "wave", project)
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "accounts", "AccountsScreen")
        await wait_for(pilot, lambda: "get a new token to change it" in flat_text(app))
        field = app.screen.query_one("#expires")
        assert field.input.disabled and field.input.value == "2027-03-31"
        field.input.focus()
        await pilot.press("ctrl+u", *"2027-04-30")
        assert app.project.entra.expires == date(2027, 3, 31)
        await pilot.press("ctrl+t")  # unlocks a date for the next token, no sign-in yet
        await wait_for(pilot, lambda: "Type the new token's date" in flat_text(app))
        await pilot.press("ctrl+u", *"2027-04-30")
        assert app.project.entra.expires == date(2027, 3, 31)
        assert "valid until 2027-03-31" in flat_text(app)
        await pilot.press("ctrl+q")
    assert load_project(path).entra.expires == date(2027, 3, 31)


# --- 7: next steps say what happened ------------------------------------------------------


async def test_next_steps_say_whether_the_package_was_written(tmp_path):
    path = saved_project(tmp_path / "wave")
    out = tmp_path / "wave" / "Wave4.ppkg"
    build_package(
        small_project(tmp_path / "wave"), out, timestamp=datetime(2026, 11, 30, tzinfo=UTC)
    )
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        app.built_package = out
        await goto(app, pilot, "next", "NextStepsScreen")
        text = flat_text(app)
        assert "Wave4.ppkg is not on a stick yet" in text and "is on the stick" not in text
        assert shows(app, f"bulk-enroll write {out} --drive MOUNTPOINT")
        stick = WriteResult("/media/S1", "/media/S1/Wave4.ppkg", out.stat().st_size, "ab" * 32)
        app.sticks_written.append(stick)
        await goto(app, pilot, "next", "NextStepsScreen")
        await wait_for(pilot, lambda: "written to 1 stick, verified: /media/S1" in flat_text(app))


# --- 8: the project is saved before a sign-in; payload paths follow the project file -----


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        yield server


async def test_no_sign_in_when_the_project_cannot_be_saved(tmp_path, identity):
    project = small_project(tmp_path / "wave")
    project.join = JoinKind.ENTRA
    project.entra.expires = date(2027, 5, 1)
    path = saved_project(tmp_path / "wave", project)
    app = make_app(
        tmp_path,
        open_path=path,
        identity=SignInConfig(authority=identity.authority(), client_id="test-client"),
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "accounts", "AccountsScreen")
        path.unlink()
        path.parent.rmdir()
        path.parent.write_text("a file where the project folder was")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "Not signing in: Cannot save project file" in flat_text(app))
        assert identity.calls == []


async def test_relative_payload_paths_are_relative_to_the_project_file(tmp_path, monkeypatch):
    folder = tmp_path / "wave"
    folder.mkdir()
    (folder / "agent.msi").write_bytes(b"MSI installer bytes " * 50)
    project = small_project(folder)
    project.applications = [
        Application(name="agent", file="agent.msi", command_line='msiexec /i "agent.msi" /quiet')
    ]
    path = saved_project(folder, project)
    monkeypatch.chdir(tmp_path)  # not the project's folder
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "review", "ReviewScreen")
        await pilot.press("ctrl+b")
        await wait_for(pilot, lambda: "Package saved:" in flat_text(app))
    command = "ProvisioningCommands/PrimaryContext/Command/CommandConfig[agent]/CommandFile"
    settings = {str(s.path): s.value for s in read_package(folder / "Wave4.ppkg").settings}
    assert settings[command] == str(folder / "agent.msi")
    assert load_project(path).applications[0].file == "agent.msi"  # the file keeps its form


# --- 9: a worker's unexpected error is logged with its traceback, shown in one sentence ----


async def test_an_unexpected_build_error_is_logged_and_one_sentence(tmp_path, monkeypatch):
    import tui.package.build

    def broken(*args, **kw):
        raise RuntimeError("a bug in the builder")

    monkeypatch.setattr(tui.package.build, "build_package", broken)
    path = saved_project(tmp_path / "wave")
    log = tmp_path / "state" / "bulk-enroll.log"
    app = make_app(tmp_path, open_path=path, log_file=log)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "review", "ReviewScreen")
        await pilot.press("ctrl+b")
        sentence = (
            "Building failed unexpectedly; no package was written. The details are in the "
            f"log file {log}."
        )
        squeezed = "".join(sentence.split())  # the path wraps anywhere
        await wait_for(pilot, lambda: squeezed in "".join(flat_text(app).split()))
        assert "RuntimeError" not in flat_text(app)
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: a bug in the builder" in text
    assert log.stat().st_mode & 0o777 == 0o600


# --- 10: subprocesses, probes and saves run off the UI thread -----------------------------


async def test_eject_and_drive_probes_do_not_block_the_ui(tmp_path, monkeypatch):
    import tui.usb.eject

    stick = tmp_path / "stick"
    stick.mkdir()
    gate, returned, probes = threading.Event(), [], []

    def eject(mountpoint):
        gate.wait(GATE_SECONDS)
        returned.append(mountpoint)
        return f"{mountpoint} is unmounted; the stick can be removed safely."

    def drives(show_all):
        probes.append(threading.current_thread())
        return [
            Drive(
                device="/dev/sdq1",
                mountpoint=str(stick),
                label="STICK",
                fstype="vfat",
                size=1 << 30,
                free=1 << 29,
                is_usb=True,
                removable=True,
            )
        ]

    monkeypatch.setattr(tui.usb.eject, "eject", eject)
    path = saved_project(tmp_path / "wave")
    app = make_app(tmp_path, open_path=path, drive_source=drives)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "write", "WriteScreen")
        await wait_for(pilot, lambda: "STICK" in screen_text(app))
        await pilot.press("j", "s")
        await wait_for(pilot, notified(app, "Showing all drives"))
        assert returned == []  # the UI answered while the eject was still running
        gate.set()
        await wait_for(pilot, notified(app, "the stick can be removed safely"))
    assert probes and threading.main_thread() not in probes


async def test_autosave_writes_on_another_thread(tmp_path, monkeypatch):
    import tui.project.file

    path = saved_project(tmp_path / "wave")
    threads = []
    real = tui.project.file.write_atomic

    def write_atomic(target, data):
        threads.append(threading.current_thread())
        return real(target, data)

    monkeypatch.setattr(tui.project.file, "write_atomic", write_atomic)
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "device", "DeviceScreen")
        await pilot.press("ctrl+u", *"AUTO-%RAND:3%")
        await wait_for(pilot, lambda: load_project(path).device.name == "AUTO-%RAND:3%")
    assert threads and threading.main_thread() not in threads


# --- 11: resume where left, drafts by name, a matching package is built -------------------


async def test_a_reopened_project_resumes_at_the_step_it_was_left(tmp_path):
    path = saved_project(tmp_path / "wave")
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "DeviceScreen"))
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "NetworkScreen"))
        await pilot.press("ctrl+q")
    again = make_app(tmp_path, open_path=path)
    async with again.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, on(again, "NetworkScreen"))


async def test_a_draft_is_listed_under_its_package_name(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await wait_for(pilot, on(app, "ProjectScreen"))
        await pilot.press(*"Half-done")
        drafts = tmp_path / "config" / "drafts"
        await wait_for(pilot, lambda: any(drafts.glob("*.toml")))
        await pilot.press("escape")
        await wait_for(pilot, lambda: "Half-done (draft: step 1 not finished)" in flat_text(app))
        assert "bulkenroll.toml (" not in screen_text(app)  # not its GUID file name
        await pilot.press("enter")
        await wait_for(pilot, on(app, "ProjectScreen"))
        assert app.project.package.name == "Half-done" and app.project_path is None


def built_project(folder: Path) -> tuple[Path, Path]:
    """A project whose package was built, recorded as the app records it."""
    project = small_project(folder)
    path = saved_project(folder, project)
    out = folder / "Wave4.ppkg"
    build_package(project, out, timestamp=datetime(2026, 11, 30, tzinfo=UTC))
    project.resume = Resume(
        step="review",
        package=str(out),
        package_sha256=session.file_sha256(out),
        fingerprint=session.fingerprint(session.for_build(project, path)),
    )
    save_project(project, path)
    return path, out


def built_check_done(app) -> bool:
    return not any(w.group == "built-check" and not w.is_finished for w in app.workers)


async def test_a_package_matching_the_project_is_taken_as_built(tmp_path):
    path, out = built_project(tmp_path / "wave")
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, on(app, "ReviewScreen"))
        await wait_for(pilot, lambda: shows(app, f"Package saved: {out}"))
        assert app.built_package == out


async def test_a_package_changed_on_disk_is_not_taken_as_built(tmp_path):
    path, out = built_project(tmp_path / "wave")
    out.write_bytes(out.read_bytes() + b"tampered")
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, on(app, "ReviewScreen"))
        await wait_for(pilot, lambda: built_check_done(app))
        assert app.built_package is None
        assert "Ready: Ctrl+B builds the package." in flat_text(app)
