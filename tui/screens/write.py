"""Step 8, Write to USB: a live list of sticks; write one or several at once, verify each.

Space chooses sticks (``a`` all of them), ``w`` writes the chosen ones in parallel, each with
its own progress line and result; ``j`` then ejects every one that verified. ``s`` lists fixed
drives too, ``m`` takes a typed mount point that is not listed; the system disk is refused.
"""

from __future__ import annotations

import threading
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from tui.project.logfile import log
from tui.screens.messages import StickDone, StickProgress, WriteProgress
from tui.screens.step import StepScreen
from tui.widgets.progress import ProgressPanel

POLL_SECONDS = 1.0


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "?"


BAR = 20
_VERB = {"write": "writing", "sync": "flushing", "verify": "verifying"}


def progress_line(name: str, phase: str, done: int, total: int) -> str:
    filled = round(BAR * done / total) if total else BAR
    percent = done * 100 // max(total, 1)
    return f"{name}: {'█' * filled}{'░' * (BAR - filled)} {_VERB[phase]} {percent:3d}%"


class WriteScreen(StepScreen):
    STEP = "write"
    BINDINGS = [
        Binding("w", "write", "Write"),
        Binding("space", "toggle", "Choose"),
        Binding("a", "choose_all", "Choose all", show=False),
        Binding("j", "eject", "Eject"),
        Binding("s", "show_all", "All drives"),
        Binding("m", "type_path", "Mount point", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._writing = False
        self._ejecting = False
        self._watcher = None
        self._probe_again: bool | None = None  # a probe asked for while one runs (forced?)
        self._probe_error = ""
        self._chosen: set[str] = set()  # device keys of the sticks chosen with space / a
        self._typed: dict[str, object] = {}  # mount points typed in (m), as Drives
        self._batch: dict[str, tuple[int, str]] = {}  # mountpoint -> (panel line, name)
        self._verified: list[str] = []  # mount points the last write verified (for j)
        self._cancel = threading.Event()  # set when the screen goes: parallel writes stop

    def compose_form(self) -> ComposeResult:
        yield Static("", id="package", markup=False)
        yield Static("Removable drives (insert a stick; the list updates itself):")
        yield Static(
            "Space: choose sticks (a: all); w writes them at once; m: type a mount point.",
            id="write-help",
        )
        yield DataTable(id="drives", cursor_type="row")
        yield Static("", id="no-drives", markup=False)
        yield Static("", id="drive-note", markup=False)
        yield Input(placeholder="mount point, e.g. /media/tech/STICK", id="typed-path")
        yield ProgressPanel(id="write-progress")

    def form_ready(self) -> None:
        from tui.usb.drives import find_drives
        from tui.usb.watch import DriveWatcher

        table = self.query_one(DataTable)
        self.query_one("#typed-path", Input).display = False
        table.add_columns(" ", "Drive", "Mounted at", "FS", "Free", "Packages on it")
        source = self.app.drive_source  # type: ignore[attr-defined]
        if source is None:
            self._watcher = DriveWatcher(lister=find_drives)
        else:
            # An injected source changes without the kernel noticing: always ask it.
            self._watcher = DriveWatcher(lister=source, fingerprint=lambda: None)
        self.query_one("#package", Static).update(
            f"Package: {self.app.built_package}"  # type: ignore[attr-defined]
        )
        self.poll_drives(force=True)
        self.set_interval(POLL_SECONDS, self.poll_drives)
        super().form_ready()
        table.focus()

    # --- the drive list ---------------------------------------------------------------

    def poll_drives(self, force: bool = False) -> None:
        """Probe the drives in a thread (on macOS a probe runs diskutil once per disk)."""
        if self._watcher is None or (self._writing and not force):
            return
        if any(w.group == "probe" and not w.is_finished for w in self.workers):
            self._probe_again = bool(self._probe_again) or force
            return
        watcher = self._watcher
        self.run_worker(
            lambda: bool(watcher.poll(force=force)) or force,
            thread=True,
            group="probe",
            exit_on_error=False,
        )

    def _probed(self, worker: Worker) -> None:
        if worker.state == WorkerState.SUCCESS:
            self._probe_error = ""
            if worker.result:
                self.fill()
        elif worker.state == WorkerState.ERROR and repr(worker.error) != self._probe_error:
            # Once per distinct error: the probe runs every second.
            self._probe_error = repr(worker.error)
            failure = self.app.worker_failed(worker.error, "Listing the drives", "it is retried")  # type: ignore[attr-defined]
            self.notify(failure, severity="error")
        again, self._probe_again = self._probe_again, None
        if again is not None:
            self.poll_drives(force=again)

    def drives(self) -> list:
        """Removable drives first, then fixed ones (s) and mount points typed in (m)."""
        found = dict(self._watcher.drives) if self._watcher else {}
        listed = {d.mountpoint for d in found.values()}
        for key, d in self._typed.items():
            if d.mountpoint not in listed:  # type: ignore[attr-defined]
                found[key] = d
        return sorted(found.values(), key=lambda d: (not d.removable, d.device))

    def fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        drives = self.drives()
        for d in drives:
            table.add_row(
                Text("[x]" if d.device in self._chosen else "[ ]"),
                f"{d.title} ({d.device})"[:28],
                d.mountpoint or "not mounted",
                d.fstype,
                _size(d.free),
                ", ".join(d.packages) or "-",
                key=d.device,
            )
        self._chosen &= {d.device for d in drives}  # a stick pulled out is no longer chosen
        if drives:
            table.move_cursor(row=min(row, len(drives) - 1))
        table.display = bool(drives)
        self.query_one("#no-drives", Static).update(
            "" if drives else "No removable drive found yet: insert a USB stick."
        )
        self._note()

    def selected(self):
        drives = self.drives()
        if not drives:
            return None
        return drives[min(self.query_one(DataTable).cursor_row, len(drives) - 1)]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._note()

    def _note(self) -> None:
        d = self.selected()
        note = ""
        if d is not None and not d.mounted:
            note = f"{d.device} is not mounted; mount it with: {d.mount_command}"
        elif d is not None and d.packages:
            note = (
                f"{d.title} already holds {', '.join(d.packages)}: setup would ask which to "
                "apply. Writing offers to replace them."
            )
        self.query_one("#drive-note", Static).update(note)

    def action_show_all(self) -> None:
        if self._watcher is not None:
            self._watcher.show_all = not self._watcher.show_all
            self.notify(
                "Showing all drives, fixed disks too."
                if self._watcher.show_all
                else "Showing removable drives only."
            )
            self.poll_drives(force=True)

    def action_toggle(self) -> None:
        d = self.selected()
        if d is None or self._writing:
            return
        self._chosen ^= {d.device}
        self.fill()

    def action_choose_all(self) -> None:
        if self._writing:
            return
        mounted = {d.device for d in self.drives() if d.mounted}
        self._chosen = set() if mounted and mounted <= self._chosen else mounted
        self.fill()

    def action_type_path(self) -> None:
        field = self.query_one("#typed-path", Input)
        field.display = True
        field.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "typed-path":
            return
        path = event.value.strip()
        event.input.display = False
        event.input.value = ""
        self.query_one(DataTable).focus()
        if path:
            from functools import partial

            self.run_worker(
                partial(_typed_drive, path), thread=True, group="typed", exit_on_error=False
            )

    def _typed_done(self, worker: Worker) -> None:
        from tui.errors import UserError

        if worker.state == WorkerState.SUCCESS:
            d = worker.result
            self._typed[d.device] = d
            self._chosen.add(d.device)
            self.fill()
            self.notify(f"{d.mountpoint} added and chosen.")
        elif isinstance(worker.error, UserError):
            self.notify(worker.error.message, severity="error")
        else:
            failure = self.app.worker_failed(
                worker.error, "Checking the mount point", "nothing was added"
            )  # type: ignore[attr-defined]
            self.notify(failure, severity="error")

    # --- writing ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("write", "eject", "toggle", "choose_all", "type_path"):
            return not (self._writing or self._ejecting)
        return True

    def chosen(self) -> list:
        return [d for d in self.drives() if d.device in self._chosen]

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_write()

    def action_write(self) -> None:
        package: Path | None = self.app.built_package  # type: ignore[attr-defined]
        if self._writing or self._ejecting or package is None:
            return
        chosen = self.chosen()
        if len(chosen) > 1:
            self._write_chosen(chosen, package)
            return
        d = chosen[0] if chosen else self.selected()
        if d is None:
            self.notify("Insert a USB stick first.", severity="warning")
            return
        if not d.mounted:
            self.notify(f"Mount {d.device} first: {d.mount_command}", severity="warning")
            return
        others = [name for name in d.packages if name.casefold() != package.name.casefold()]
        if others:
            from tui.screens.dialogs import ConfirmDialog

            def answered(yes: bool | None) -> None:
                if yes:
                    self._start_write(d, package, replace=True)

            self.app.push_screen(
                ConfirmDialog(
                    f"{d.title} already holds {', '.join(others)}. Setup would ask which "
                    f"package to apply. Replace them with {package.name}? (y/n)"
                ),
                answered,
            )
            return
        # Only a package of the same name (FAT is case-insensitive) is there: rewrite it.
        self._start_write(d, package, replace=len(others) < len(d.packages))

    def _write_chosen(self, chosen: list, package: Path) -> None:
        unmounted = [d.device for d in chosen if not d.mounted]
        if unmounted:
            self.notify(
                f"Mount {', '.join(unmounted)} first, or unchoose it (space).", severity="warning"
            )
            return
        holding = {
            d.title: [n for n in d.packages if n.casefold() != package.name.casefold()]
            for d in chosen
        }
        holding = {title: names for title, names in holding.items() if names}
        replace = any(d.packages for d in chosen)
        if not holding:
            self._start_batch(chosen, package, replace=replace)
            return
        from tui.screens.dialogs import ConfirmDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_batch(chosen, package, replace=True)

        listed = "; ".join(f"{title} holds {', '.join(names)}" for title, names in holding.items())
        self.app.push_screen(
            ConfirmDialog(
                f"{listed}. Setup would ask which package to apply. Replace them with "
                f"{package.name} on every chosen stick? (y/n)"
            ),
            answered,
        )

    def _start_batch(self, chosen: list, package: Path, *, replace: bool) -> None:
        log.info("Writing %s to %d sticks at once", package, len(chosen))
        self._writing = True
        self._verified = []
        self.refresh_bindings()
        panel = self.query_one("#write-progress", ProgressPanel)
        panel.reset()
        panel.step(f"Writing {package.name} to {len(chosen)} sticks at once…")
        self._batch = {}
        for d in chosen:
            name = f"{d.title} ({d.mountpoint})"
            self._batch[d.mountpoint] = (len(panel.lines), name)
            panel.step(f"{name}: waiting")
        self._write_many(package, [d.mountpoint for d in chosen], replace)

    @work(thread=True, exclusive=True, group="batch", exit_on_error=False)
    def _write_many(self, package: Path, mountpoints: list[str], replace: bool):
        from tui.usb.batch import write_to_sticks

        return write_to_sticks(
            package,
            mountpoints,
            replace=replace,
            progress=lambda mp, p: self.post_message(StickProgress(mp, p.phase, p.done, p.total)),
            done=lambda result: self.post_message(StickDone(result)),
            cancel=self._cancel,
        )

    def on_unmount(self) -> None:
        self._cancel.set()  # e.g. the app quits mid-write: each stick's temp file is removed

    def on_stick_progress(self, message: StickProgress) -> None:
        if message.mountpoint not in self._batch:
            return
        index, name = self._batch[message.mountpoint]
        line = progress_line(name, message.phase, message.done, message.total)
        self.query_one("#write-progress", ProgressPanel).set_line(index, line)

    def on_stick_done(self, message: StickDone) -> None:
        result = message.result
        if result.mountpoint not in self._batch:
            return
        index, name = self._batch[result.mountpoint]
        if result.ok:
            written = result.result
            self.app.sticks_written.append(written)  # type: ignore[attr-defined]
            self._verified.append(result.mountpoint)
            log.info("Written and verified: %s (SHA-256 %s)", written.path, written.sha256)
            removed = f" Removed: {', '.join(written.removed)}." if written.removed else ""
            text = f"{name}: verified (SHA-256 {written.sha256[:16]}…).{removed}"
        else:
            log.info("Writing to %s failed: %s", result.mountpoint, result.error)
            text = f"{name}: FAILED. {result.error}"
        self.query_one("#write-progress", ProgressPanel).set_line(index, text)

    def _batch_written(self, worker: Worker) -> None:
        self._writing = False
        panel = self.query_one("#write-progress", ProgressPanel)
        if worker.state == WorkerState.SUCCESS:
            results = worker.result
            ok = sum(r.ok for r in results)
            failed = len(results) - ok
            summary = f"{ok} of {len(results)} sticks written and verified"
            summary += f"; {failed} failed, left as they were." if failed else "."
            panel.step(summary)
            if ok:
                panel.step("Press j to eject the verified sticks, or Ctrl+N.")
        else:
            panel.fail(
                self.app.worker_failed(  # type: ignore[attr-defined]
                    worker.error, "Writing", "the sticks not yet verified were left as they were"
                )
            )
        self._chosen.clear()
        self.fill()
        self.refresh_bindings()
        self.poll_drives(force=True)

    def _start_write(self, drive, package: Path, *, replace: bool) -> None:
        log.info("Writing %s to %s (%s)", package, drive.mountpoint, drive.device)
        self._writing = True
        self.refresh_bindings()
        panel = self.query_one("#write-progress", ProgressPanel)
        panel.reset()
        panel.step(f"Writing {package.name} to {drive.title} ({drive.mountpoint})…")
        self._write(package, drive.mountpoint, replace)

    @work(thread=True, exclusive=True, group="write", exit_on_error=False)
    def _write(self, package: Path, mountpoint: str, replace: bool):
        from tui.usb.write import write_package

        return write_package(
            package,
            mountpoint,
            replace=replace,
            progress=lambda p: self.post_message(WriteProgress(p.phase, p.done, p.total)),
        )

    def on_write_progress(self, message: WriteProgress) -> None:
        panel = self.query_one("#write-progress", ProgressPanel)
        if message.phase == "verify" and not panel.lines[-1].startswith("Verifying"):
            panel.step("Verifying: reading the package back from the stick…")
        panel.measure(message.done, message.total)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        done = {
            "write": self._written,
            "batch": self._batch_written,
            "probe": self._probed,
            "eject": self._ejected,
            "typed": self._typed_done,
        }
        if event.worker.group in done:
            done[event.worker.group](event.worker)

    def _written(self, worker: Worker) -> None:
        self._writing = False
        panel = self.query_one("#write-progress", ProgressPanel)
        if worker.state == WorkerState.SUCCESS:
            result = worker.result
            self.app.sticks_written.append(result)  # type: ignore[attr-defined]
            self._verified = [result.mountpoint]
            log.info("Written and verified: %s (SHA-256 %s)", result.path, result.sha256)
            removed = f" Removed: {', '.join(result.removed)}." if result.removed else ""
            panel.step(
                f"Written and verified: {result.path} (SHA-256 {result.sha256[:16]}…).{removed}"
            )
            panel.step("Press j to eject it, insert another stick and press w, or Ctrl+N.")
        else:
            panel.fail(
                self.app.worker_failed(  # type: ignore[attr-defined]
                    worker.error, "Writing", "the stick was left as it was"
                )
            )
        self.refresh_bindings()
        self.poll_drives(force=True)

    def action_eject(self) -> None:
        if self._writing or self._ejecting:
            return
        mounted = {d.mountpoint for d in self.drives() if d.mounted}
        verified = [mp for mp in self._verified if mp in mounted]
        if len(verified) > 1:
            self._ejecting = True
            self._verified = []
            self.refresh_bindings()
            self.notify(f"Ejecting {len(verified)} verified sticks…")
            log.info("Ejecting %s", ", ".join(verified))
            self.run_worker(
                lambda: _eject_all(verified), thread=True, group="eject", exit_on_error=False
            )
            return
        d = self.selected()
        if verified:
            d = next(d for d in self.drives() if d.mountpoint == verified[0])
        if d is None or not d.mounted:
            return
        from functools import partial

        from tui.usb.eject import eject

        self._verified = []
        self._ejecting = True
        self.refresh_bindings()
        self.notify(f"Ejecting {d.mountpoint}…")
        log.info("Ejecting %s", d.mountpoint)
        self.run_worker(
            partial(eject, d.mountpoint), thread=True, group="eject", exit_on_error=False
        )

    def _ejected(self, worker: Worker) -> None:
        from tui.errors import UserError

        self._ejecting = False
        if worker.state == WorkerState.SUCCESS and isinstance(worker.result, list):
            for ok, sentence in worker.result:
                self.notify(sentence, severity="information" if ok else "error")
        elif worker.state == WorkerState.SUCCESS:
            self.notify(worker.result)
        elif isinstance(worker.error, UserError):
            self.notify(worker.error.message, severity="error")
        else:
            failure = self.app.worker_failed(worker.error, "Ejecting", "unmount it yourself")  # type: ignore[attr-defined]
            self.notify(failure, severity="error")
        self.refresh_bindings()
        self.poll_drives(force=True)

    def action_next(self) -> None:
        if self._writing:
            self.notify("Wait until the stick is written and verified.")
            return
        self.app.next_step(self.STEP)  # type: ignore[attr-defined]

    def action_back(self) -> None:
        if self._writing:
            self.notify("Wait until the stick is written and verified.")
            return
        super().action_back()


def _eject_all(mountpoints: list[str]) -> list[tuple[bool, str]]:
    """Eject each stick; one that cannot be ejected is one sentence, the rest go on."""
    from tui.errors import UserError
    from tui.usb.eject import eject

    said = []
    for mp in mountpoints:
        try:
            said.append((True, eject(mp)))
        except UserError as exc:
            said.append((False, exc.message))
    return said


def _typed_drive(path: str):
    """A typed mount point as a Drive, once checked: a mounted filesystem, not the system
    disk (tui.usb.checks.check_target refuses both in one sentence)."""
    from tui.usb.checks import check_target
    from tui.usb.drives import Drive

    target = check_target(path)
    return Drive(
        device=target.device or str(target.mountpoint),
        mountpoint=str(target.mountpoint),
        label="",
        fstype=target.fstype,
        size=0,
        free=target.free,
        is_usb=False,
        removable=False,
        packages=target.packages,
    )
