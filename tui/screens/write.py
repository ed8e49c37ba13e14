"""Step 8, Write to USB: a live list of sticks; write, verify, and again for the next stick."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from tui.logfile import log
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


class WriteProgress(Message):
    def __init__(self, phase: str, done: int, total: int) -> None:
        super().__init__()
        self.phase = phase
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WriteProgress) and message.phase == self.phase


class WriteScreen(StepScreen):
    STEP = "write"
    BINDINGS = [
        Binding("w", "write", "Write to stick"),
        Binding("j", "eject", "Eject"),
        Binding("s", "show_all", "All drives"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._writing = False
        self._ejecting = False
        self._watcher = None
        self._probe_again: bool | None = None  # a probe asked for while one runs (forced?)
        self._probe_error = ""

    def compose_form(self) -> ComposeResult:
        yield Static("", id="package", markup=False)
        yield Static("Removable drives (insert a stick; the list updates itself):")
        yield DataTable(id="drives", cursor_type="row")
        yield Static("", id="no-drives", markup=False)
        yield Static("", id="drive-note", markup=False)
        yield ProgressPanel(id="write-progress")

    def form_ready(self) -> None:
        from tui.drives import DriveWatcher, find_drives

        table = self.query_one(DataTable)
        table.add_columns("Drive", "Mounted at", "FS", "Free", "Packages on it")
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
        return (
            sorted(self._watcher.drives.values(), key=lambda d: d.device) if self._watcher else []
        )

    def fill(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        drives = self.drives()
        for d in drives:
            table.add_row(
                f"{d.title} ({d.device})"[:28],
                d.mountpoint or "not mounted",
                d.fstype,
                _size(d.free),
                ", ".join(d.packages) or "-",
                key=d.device,
            )
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

    # --- writing ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("write", "eject"):
            return not (self._writing or self._ejecting)
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_write()

    def action_write(self) -> None:
        d = self.selected()
        package: Path | None = self.app.built_package  # type: ignore[attr-defined]
        if self._writing or self._ejecting or package is None:
            return
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
        from tui.usbwrite import write_package

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
        done = {"write": self._written, "probe": self._probed, "eject": self._ejected}
        if event.worker.group in done:
            done[event.worker.group](event.worker)

    def _written(self, worker: Worker) -> None:
        self._writing = False
        panel = self.query_one("#write-progress", ProgressPanel)
        if worker.state == WorkerState.SUCCESS:
            result = worker.result
            self.app.sticks_written.append(result)  # type: ignore[attr-defined]
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
        d = self.selected()
        if d is None or not d.mounted or self._writing or self._ejecting:
            return
        from functools import partial

        from tui.usbwrite import eject

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
        if worker.state == WorkerState.SUCCESS:
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
