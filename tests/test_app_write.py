"""The write step and the start screen's tools: sticks appear by themselves, unmounted
sticks are explained, old packages are replaced only when the user says so, a failed
write is reported, another stick can follow; import a WCD file, inspect a package.

The drive list is fed by the test (no USB stick exists on a CI machine); the sticks
written to are real mounted filesystems (FAT32 through fusefat, else ext4 on a loop)."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from app_pilot import flat_text, no_blink, screen_text, shows, wait_for  # noqa: F401 (fixture)
from conftest import SAMPLES
from fakes.mounts import fuse_missing, loop_missing, make_ext4, make_fat32, mount_ext4, mount_fat32

from tui.app import create_app
from tui.package.build import build_package
from tui.project.model import JoinKind, Project
from tui.usb.drives import Drive, inspect_mountpoint
from tui.usb.write import TEMP_PREFIX
from tui.wcd.customizations import to_customizations_xml

TODAY = date(2026, 11, 30)


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


def small_project(folder: Path) -> Project:
    p = Project()
    p.package.name = "Wave4"
    p.folder = str(folder)
    p.device.name = "W4-%RAND:4%"
    p.join = JoinKind.NONE
    return p


@pytest.fixture
def package(tmp_path) -> Path:
    folder = tmp_path / "wave4"
    folder.mkdir()
    out = folder / "Wave4.ppkg"
    build_package(small_project(folder), out, timestamp=datetime(2026, 11, 30, tzinfo=UTC))
    return out


@pytest.fixture
def mount(tmp_path):
    """mount(name, read_only=False) -> (mountpoint, fstype): a real filesystem."""
    with ExitStack() as stack:

        def make(name: str, read_only: bool = False, files: dict[str, bytes] | None = None):
            mnt = tmp_path / name
            if fuse_missing() is None:
                image = make_fat32(tmp_path / f"{name}.img", 40)
                fstype = "vfat"
                with mount_fat32(image, mnt) as root:  # write the starting files first
                    for fname, data in (files or {}).items():
                        (root / fname).write_bytes(data)
                stack.enter_context(mount_fat32(image, mnt, read_only))
            elif loop_missing() is None:
                image = make_ext4(tmp_path / f"{name}.img", 40)
                fstype = "ext4"
                with mount_ext4(image, mnt) as root:
                    for fname, data in (files or {}).items():
                        (root / fname).write_bytes(data)
                stack.enter_context(mount_ext4(image, mnt, read_only))
            else:
                pytest.skip(f"no mountable test filesystem: {fuse_missing()}; {loop_missing()}")
            return mnt, fstype

        yield make


def as_stick(mountpoint: Path | None, fstype: str, device: str, label: str) -> Drive:
    free, packages = inspect_mountpoint(str(mountpoint)) if mountpoint else (None, ())
    return Drive(
        device=device,
        mountpoint=str(mountpoint) if mountpoint else None,
        label=label,
        fstype=fstype,
        size=40 * 1024 * 1024,
        free=free,
        is_usb=True,
        removable=True,
        packages=packages,
        mount_command=None if mountpoint else f"udisksctl mount -b {device}",
    )


class Sticks:
    """What the drive probe would see: the test plugs and unplugs sticks."""

    def __init__(self) -> None:
        self.plugged: list[tuple[Path | None, str, str, str]] = []

    def __call__(self, show_all: bool) -> list[Drive]:
        return [as_stick(*s) for s in self.plugged]


async def at_write_step(app, package: Path, pilot) -> None:
    """Open the write step with a built package (what the review step leaves behind)."""
    app.project = small_project(package.parent)
    app.project_path = package.parent / "Wave4.bulkenroll.toml"
    app.built_package = package
    # From inside the app's own task: widgets composed from the test's task would not
    # see the running app in their context.
    app.call_later(app.goto_step, "write")
    await wait_for(pilot, on(app, "WriteScreen"))


async def test_an_inserted_stick_appears_without_a_key_press(tmp_path, package, mount):
    sticks = Sticks()
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_write_step(app, package, pilot)
        assert "No removable drive found yet" in screen_text(app)
        mnt, fstype = mount("a")
        sticks.plugged.append((mnt, fstype, "/dev/sdx1", "FRESH"))
        await wait_for(pilot, lambda: "FRESH (/dev/sdx1)" in screen_text(app))
        sticks.plugged.clear()
        await wait_for(pilot, lambda: "No removable drive found yet" in screen_text(app))


async def test_an_unmounted_stick_is_explained_not_written(tmp_path, package):
    sticks = Sticks()
    sticks.plugged.append((None, "vfat", "/dev/sdy1", "RAW"))
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_write_step(app, package, pilot)
        assert "udisksctl mount -b /dev/sdy1" in flat_text(app)
        await pilot.press("w")
        refusal = "Mount /dev/sdy1 first: udisksctl mount -b /dev/sdy1"
        await wait_for(pilot, lambda: refusal in [n.message for n in app._notifications])
        assert "Writing" not in screen_text(app)
        assert not [w for w in app.workers if w.group == "write"]


async def test_old_package_replaced_only_after_yes_then_another_stick(tmp_path, package, mount):
    old = {"Old-Wave3.ppkg": b"MSWIM\0\0\0 old package"}
    first, fstype = mount("first", files=old)
    second, _ = mount("second")
    sticks = Sticks()
    sticks.plugged.append((first, fstype, "/dev/sdb1", "FIRST"))
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_write_step(app, package, pilot)
        await pilot.press("w")
        await wait_for(pilot, on(app, "ConfirmDialog"))
        await pilot.press("n")  # no: nothing happens
        await wait_for(pilot, on(app, "WriteScreen"))
        assert (first / "Old-Wave3.ppkg").exists() and not (first / "Wave4.ppkg").exists()

        await pilot.press("w")
        await wait_for(pilot, on(app, "ConfirmDialog"))
        await pilot.press("y")
        await wait_for(pilot, lambda: "Written and verified" in flat_text(app))
        assert "Removed: Old-Wave3.ppkg" in flat_text(app)
        assert (first / "Wave4.ppkg").read_bytes() == package.read_bytes()
        assert not (first / "Old-Wave3.ppkg").exists()

        # The next stick: swap them, the list follows, write again.
        sticks.plugged[:] = [(second, fstype, "/dev/sdc1", "SECOND")]
        await wait_for(pilot, lambda: "SECOND (/dev/sdc1)" in screen_text(app))
        await pilot.press("w")
        await wait_for(pilot, lambda: "Writing Wave4.ppkg to SECOND" in flat_text(app))
        await wait_for(pilot, lambda: "Written and verified" in flat_text(app))
        assert (second / "Wave4.ppkg").read_bytes() == package.read_bytes()
    for root in (first, second):
        assert not [n for n in root.iterdir() if n.name.startswith(TEMP_PREFIX)]


async def test_same_package_in_other_case_on_fat_is_rewritten_without_asking(
    tmp_path, package, mount
):
    """FAT names are case-insensitive: WAVE4.PPKG on the stick is this package, not another."""
    stick, fstype = mount("again", files={"WAVE4.PPKG": b"MSWIM\0\0\0 an older build"})
    sticks = Sticks()
    sticks.plugged.append((stick, fstype, "/dev/sde1", "AGAIN"))
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_write_step(app, package, pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: "Written and verified" in flat_text(app))
        assert not on(app, "ConfirmDialog")()
    [written] = [n for n in stick.iterdir() if n.name.casefold() == "wave4.ppkg"]
    assert written.read_bytes() == package.read_bytes()


async def test_a_failed_write_is_reported_and_leaves_the_stick_as_it_was(tmp_path, package, mount):
    locked, fstype = mount("locked", read_only=True)
    before = sorted(locked.iterdir())
    sticks = Sticks()
    sticks.plugged.append((locked, fstype, "/dev/sdd1", "LOCKED"))
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    async with app.run_test(size=(80, 24)) as pilot:
        await at_write_step(app, package, pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: "read-only" in flat_text(app).lower())
        assert "Written and verified" not in flat_text(app)
        assert "Traceback" not in screen_text(app)
        await pilot.press("w")  # the key works again after a failure
        await wait_for(pilot, lambda: flat_text(app).lower().count("read-only") >= 1)
    assert sorted(locked.iterdir()) == before


async def test_three_sticks_written_at_once_one_fails_then_the_verified_are_ejected(
    tmp_path, package, mount
):
    """Three real mounted filesystems, the second read-only. No USB stick exists on this
    machine, so the drive list is injected (Sticks); the writes, the read-backs, the failure
    and the ejects are real."""
    import os

    one, fstype = mount("one")
    locked, _ = mount("locked", read_only=True)
    three, _ = mount("three")
    sticks = Sticks()
    sticks.plugged += [
        (one, fstype, "/dev/sdb1", "ONE"),
        (locked, fstype, "/dev/sdc1", "LOCKED"),
        (three, fstype, "/dev/sdd1", "THREE"),
    ]
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    async with app.run_test(size=(100, 40)) as pilot:
        await at_write_step(app, package, pilot)
        await wait_for(pilot, lambda: "THREE (/dev/sdd1)" in screen_text(app))
        await pilot.press("space")  # chooses ONE, and again unchooses it
        await wait_for(pilot, lambda: "[x]" in screen_text(app))
        await pilot.press("space")
        await wait_for(pilot, lambda: "[x]" not in screen_text(app))
        await pilot.press("a")
        await wait_for(pilot, lambda: screen_text(app).count("[x]") == 3)
        await pilot.press("w")
        await wait_for(pilot, lambda: shows(app, "2 of 3 sticks written and verified; 1 failed"))
        assert shows(app, "Writing Wave4.ppkg to 3 sticks at once")
        assert shows(app, f"ONE ({one}): verified (SHA-256")
        assert shows(app, f"THREE ({three}): verified (SHA-256")
        assert shows(app, f"LOCKED ({locked}): FAILED. The drive {locked} is read-only")
        assert "Traceback" not in screen_text(app)
        assert sorted(r.mountpoint for r in app.sticks_written) == sorted([str(one), str(three)])
        for root in (one, three):
            assert (root / "Wave4.ppkg").read_bytes() == package.read_bytes()
        for root in (one, locked, three):
            assert not [n for n in os.listdir(root) if n.startswith(TEMP_PREFIX)]
        assert not (locked / "Wave4.ppkg").exists()

        await pilot.press("j")  # ejects the two that verified, not the one that failed
        safe = "is unmounted; the stick can be removed safely."
        await wait_for(pilot, lambda: sum(safe in n.message for n in app._notifications) == 2)
        assert not os.path.ismount(one) and not os.path.ismount(three)
        assert os.path.ismount(locked)


async def test_a_typed_mount_point_is_checked_added_and_chosen_the_system_disk_refused(
    tmp_path, package, mount
):
    """A mount point the drive list does not show (here: none is listed at all)."""
    stick, _ = mount("typed")
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=Sticks())
    async with app.run_test(size=(100, 30)) as pilot:
        await at_write_step(app, package, pilot)
        await pilot.press("m", "ctrl+u", *"/", "enter")
        refusal = "/ is on the system disk, not a USB stick; refusing to write."
        await wait_for(pilot, lambda: refusal in [n.message for n in app._notifications])
        await pilot.press("m", "ctrl+u", *str(stick), "enter")
        await wait_for(
            pilot, lambda: f"{stick} added and chosen." in [n.message for n in app._notifications]
        )
        assert "[x]" in screen_text(app)
        await pilot.press("w")
        await wait_for(pilot, lambda: "Written and verified" in flat_text(app))
        assert (stick / "Wave4.ppkg").read_bytes() == package.read_bytes()


async def test_import_a_wcd_customizations_file(tmp_path):
    project = small_project(tmp_path / "imported")
    project.package.name = "FromWCD"
    xml = to_customizations_xml(project).replace(
        b"</Common>", b"<Start><StartLayout>layout.xml</StartLayout></Start></Common>"
    )
    source = tmp_path / "customizations.xml"
    source.write_bytes(xml)
    app = create_app(config_dir=tmp_path / "config", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        await wait_for(pilot, on(app, "FilePicker"))
        await pilot.press("ctrl+u", *str(source), "enter")
        await wait_for(pilot, on(app, "MessageDialog"))
        assert "Start/StartLayout" in flat_text(app)
        await pilot.press("enter")
        await wait_for(pilot, on(app, "ProjectScreen"))
        assert "FromWCD" in screen_text(app)


async def test_a_damaged_customizations_file_is_one_sentence(tmp_path):
    source = tmp_path / "broken.xml"
    source.write_bytes(b"<WindowsCustomizations><PackageConfig>")
    app = create_app(config_dir=tmp_path / "config", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("i")
        await wait_for(pilot, on(app, "FilePicker"))
        await pilot.press("ctrl+u", *str(source), "enter")
        await wait_for(pilot, on(app, "MessageDialog"))
        assert "not well-formed XML" in flat_text(app)
        assert "Traceback" not in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, on(app, "StartScreen"))
        assert app.project is None


async def test_inspect_a_package_from_the_start_screen(tmp_path):
    sample = SAMPLES / "iot-adk-enroll.ppkg"
    app = create_app(config_dir=tmp_path / "config", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await wait_for(pilot, on(app, "FilePicker"))
        await pilot.press("ctrl+u", *str(sample), "enter")
        await wait_for(pilot, on(app, "MessageDialog"))
        text = flat_text(app)
        assert "Package iot-adk-enroll.ppkg" in text and "Configuration sources" in text
        await pilot.press("escape")
        await wait_for(pilot, on(app, "StartScreen"))


def test_a_stick_progress_line_has_its_own_bar():
    from tui.screens.write_batch import progress_line

    assert progress_line("ONE (/m/one)", "write", 0, 10) == f"ONE (/m/one): {'░' * 20} writing   0%"
    assert progress_line("ONE (/m/one)", "verify", 5, 10) == (
        f"ONE (/m/one): {'█' * 10}{'░' * 10} verifying  50%"
    )


# --- the typed mount point: Tab completion, Esc ------------------------------------------


def test_completion_of_a_folder_is_like_a_shell(tmp_path):
    from tui.screens.write_path import Completion, candidates_line, complete

    for name in ("alpha-one", "alpha-two", "beta", ".hidden"):
        (tmp_path / name).mkdir()
    (tmp_path / "bravo.txt").write_text("a file, never offered")
    root = str(tmp_path)
    assert complete(f"{root}/b") == Completion(f"{root}/beta/")  # the file is no candidate
    assert complete(f"{root}/al") == Completion(f"{root}/alpha-", ("alpha-one", "alpha-two"))
    assert complete(f"{root}/alpha-t") == Completion(f"{root}/alpha-two/")
    assert complete(f"{root}/").candidates == ("alpha-one", "alpha-two", "beta")
    assert complete(f"{root}/.h") == Completion(f"{root}/.hidden/")  # asked for with a dot
    assert complete(f"{root}/zz") == Completion(f"{root}/zz")  # nothing matches: unchanged
    assert complete(f"{root}/missing/x") == Completion(f"{root}/missing/x")
    assert candidates_line(("a", "b")) == "Matching folders: a  b"
    many = tuple(f"d{n:02}" for n in range(15))
    assert candidates_line(many).endswith("d11  … and 3 more")


async def test_tab_completes_the_typed_mount_point_and_esc_returns_to_the_list(
    tmp_path, package, mount
):
    """Tab in the mount point field completes a folder (and lists the candidates when
    several match) instead of moving the focus; Esc closes the field, not the step."""
    from textual.widgets import Input

    from tui.screens.write_drives import DriveList

    (tmp_path / "sticks").mkdir()
    stick, _ = mount("sticks/beta")
    for name in ("alpha-one", "alpha-two"):
        (tmp_path / "sticks" / name).mkdir()
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=Sticks())
    async with app.run_test(size=(100, 30)) as pilot:
        await at_write_step(app, package, pilot)
        field = app.screen.query_one("#typed-path", Input)
        await pilot.press("m", "ctrl+u", *f"{tmp_path}/sticks/al", "tab")
        await wait_for(pilot, lambda: field.value == f"{tmp_path}/sticks/alpha-")
        assert app.focused is field
        assert shows(app, "Matching folders: alpha-one  alpha-two")
        await pilot.press("ctrl+u", *f"{tmp_path}/sticks/b", "tab")
        await wait_for(pilot, lambda: field.value == f"{stick}/")
        assert "Matching folders" not in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: f"{stick} added and chosen." in notices(app))
        assert "[x]" in screen_text(app)

        await pilot.press("m", *"/med", "escape")
        await wait_for(pilot, lambda: not field.display)
        assert on(app, "WriteScreen")() and isinstance(app.focused, DriveList)
        await pilot.press("m")  # opened again: empty, not what was typed before
        await wait_for(pilot, lambda: field.display and app.focused is field)
        assert field.value == ""
        await pilot.press("escape", "escape")  # the field, then the step: back to review
        await wait_for(pilot, on(app, "ReviewScreen"))


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


# --- cancelling a parallel write ----------------------------------------------------------


async def test_cancel_stops_the_sticks_still_writing_and_keeps_the_verified_one(
    tmp_path, package, mount, monkeypatch
):
    """Three real mounted filesystems. To cancel at a known moment, a gate holds the writes
    to TWO and THREE after their first chunk (the seam wraps the real write_package; the
    write, the rollback and the verified stick are real). c then stops them: each removes
    its temporary file, TWO keeps the package it had, ONE stays verified."""
    import os
    import threading

    from tui.usb import batch

    one, fstype = mount("one")
    old = b"MSWIM\0\0\0 the previous wave"
    two, _ = mount("two", files={"Old-Wave3.ppkg": old})
    three, _ = mount("three")
    gate, held = threading.Event(), []
    real_write = batch.write_package

    def gated(package, mountpoint, *, progress, **options):
        def hold(p):
            progress(p)  # raises Cancelled once c was pressed
            if str(mountpoint) != str(one) and mountpoint not in held:
                held.append(mountpoint)
                gate.wait(20)

        return real_write(package, mountpoint, progress=hold, **options)

    monkeypatch.setattr(batch, "write_package", gated)
    sticks = Sticks()
    sticks.plugged += [
        (one, fstype, "/dev/sdb1", "ONE"),
        (two, fstype, "/dev/sdc1", "TWO"),
        (three, fstype, "/dev/sdd1", "THREE"),
    ]
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    try:
        async with app.run_test(size=(100, 40)) as pilot:
            await at_write_step(app, package, pilot)
            await wait_for(pilot, lambda: "THREE (/dev/sdd1)" in screen_text(app))
            await pilot.press("a", "w")
            await wait_for(pilot, on(app, "ConfirmDialog"))  # TWO holds another package
            await pilot.press("y")
            await wait_for(pilot, lambda: shows(app, f"ONE ({one}): verified (SHA-256"))
            await wait_for(pilot, lambda: len(held) == 2)
            assert shows(app, "Cancel write")  # the key is offered while writing
            await pilot.press("c")
            await wait_for(pilot, lambda: shows(app, "Cancelling"))
            gate.set()
            summary = "1 of 3 sticks written and verified; 2 cancelled, left as they were."
            await wait_for(pilot, lambda: shows(app, summary))
            assert shows(app, f"TWO ({two}): cancelled; nothing was left on it.")
            assert shows(app, f"THREE ({three}): cancelled; nothing was left on it.")
            assert "Traceback" not in screen_text(app)
            assert [r.mountpoint for r in app.sticks_written] == [str(one)]
            assert "Cancel write" not in screen_text(app)  # nothing left to cancel
    finally:
        gate.set()
    assert (one / "Wave4.ppkg").read_bytes() == package.read_bytes()
    assert (two / "Old-Wave3.ppkg").read_bytes() == old
    for root in (one, two, three):
        assert not [n for n in os.listdir(root) if n.startswith(TEMP_PREFIX)]
    assert not (two / "Wave4.ppkg").exists() and not (three / "Wave4.ppkg").exists()


async def test_cancel_stops_a_single_write_and_leaves_the_stick_as_it_was(
    tmp_path, package, mount, monkeypatch
):
    """One real stick; a gate (wrapping the real write_package) holds the write after its
    first chunk so that c lands mid-write."""
    import os
    import threading

    from tui.usb import write as usbwrite

    stick, fstype = mount("single")
    gate, held = threading.Event(), []
    real_write = usbwrite.write_package

    def gated(package, mountpoint, *, progress, **options):
        def hold(p):
            progress(p)  # raises Cancelled once c was pressed
            if not held:
                held.append(p)
                gate.wait(20)

        return real_write(package, mountpoint, progress=hold, **options)

    monkeypatch.setattr(usbwrite, "write_package", gated)
    sticks = Sticks()
    sticks.plugged.append((stick, fstype, "/dev/sdb1", "SINGLE"))
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=sticks)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await at_write_step(app, package, pilot)
            await wait_for(pilot, lambda: "SINGLE (/dev/sdb1)" in screen_text(app))
            await pilot.press("w")
            await wait_for(pilot, lambda: bool(held) and shows(app, "Cancel write"))
            await pilot.press("c")
            await wait_for(pilot, lambda: shows(app, "Cancelling"))
            gate.set()
            await wait_for(pilot, lambda: shows(app, "Cancelled; the stick was left as it was."))
            assert "Traceback" not in screen_text(app) and app.sticks_written == []
            await pilot.press("w")  # and it can be written again
            await wait_for(pilot, lambda: shows(app, "Written and verified"))
    finally:
        gate.set()
    assert (stick / "Wave4.ppkg").read_bytes() == package.read_bytes()
    assert not [n for n in os.listdir(stick) if n.startswith(TEMP_PREFIX)]
