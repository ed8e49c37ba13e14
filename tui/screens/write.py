"""Step 8, Write to USB: a live list of sticks; write one or several at once, verify each.

Space chooses sticks (``a`` all of them), ``w`` writes the chosen ones in parallel, each with
its own progress line and result (``tui.screens.write_batch``), ``c`` cancels; ``j`` then ejects
every one that verified. ``s`` lists fixed drives too, ``m`` takes a typed mount point that is
not listed (Tab completes it, ``tui.screens.write_path``); the system disk is refused.
"""

from __future__ import annotations

import threading
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from tui.project.logfile import log
from tui.screens.messages import StickDone, StickProgress, WriteProgress
from tui.screens.step import StepScreen
from tui.screens.workers import Ended, WorkerEnds
from tui.screens.write_batch import BatchPanel, eject_all, summary
from tui.screens.write_drives import DriveList, drive_note, replace_question
from tui.screens.write_path import candidates_line, complete, typed_drive

POLL_SECONDS = 1.0


class WriteScreen(WorkerEnds, StepScreen):
    STEP = "write"
    # Writes, probes and ejects report their own failures (a cancel is not one; the probe's
    # once per distinct error), through the app's worker_failed.
    WORKERS = {
        "write": Ended("_written"),
        "batch": Ended("_batch_written"),
        "probe": Ended("_probed"),
        "eject": Ended("_ejected"),
        "typed": Ended("_typed_done", "Checking the mount point", "nothing was added"),
    }
    BINDINGS = [
        Binding("w", "write", "Write"),
        Binding("space", "toggle", "Choose"),
        Binding("a", "choose_all", "Choose all", show=False),
        Binding("j", "eject", "Eject"),
        Binding("s", "show_all", "All drives"),
        Binding("m", "type_path", "Mount point", show=False),
        Binding("c", "cancel_write", "Cancel write"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._writing = False
        self._ejecting = False
        self._watcher = None
        self._probe_again: bool | None = None  # a probe asked for while one runs (forced?)
        self._probe_error = ""
        self._verified: list[str] = []  # mount points the last write verified (for j)
        self._cancel = threading.Event()  # set by c, or when the screen goes: writes stop

    def compose_form(self) -> ComposeResult:
        yield Static("", id="package", markup=False)
        yield Static("Removable drives (insert a stick; the list updates itself):")
        yield Static(
            "Space: choose sticks (a: all); w writes them at once; m: type a mount point.",
            id="write-help",
        )
        yield DriveList(id="drives")
        yield Static("", id="no-drives", markup=False)
        yield Static("", id="drive-note", markup=False)
        yield Input(
            placeholder="mount point, e.g. /media/tech/STICK (Tab completes, Esc closes)",
            id="typed-path",
        )
        yield Static("", id="path-candidates", markup=False)
        yield BatchPanel(id="write-progress")

    def form_ready(self) -> None:
        from tui.usb.drives import find_drives
        from tui.usb.watch import DriveWatcher

        self.query_one("#typed-path", Input).display = False
        self.query_one("#path-candidates", Static).display = False
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
        self.query_one(DriveList).focus()

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

    def _probed(self, worker: Worker, _failure: str | None) -> None:
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
        return self.query_one(DriveList).drives()

    def selected(self):
        return self.query_one(DriveList).selected()

    def fill(self) -> None:
        table = self.query_one(DriveList)
        if self._watcher is not None:
            table.found = dict(self._watcher.drives)
        table.show()
        self.query_one("#no-drives", Static).update(
            "" if table.drives() else "No removable drive found yet: insert a USB stick."
        )
        self._note()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._note()

    def _note(self) -> None:
        self.query_one("#drive-note", Static).update(drive_note(self.selected()))

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
        if not self._writing:
            self.query_one(DriveList).toggle()
            self._note()

    def action_choose_all(self) -> None:
        if not self._writing:
            self.query_one(DriveList).choose_all()

    def action_type_path(self) -> None:
        field = self.query_one("#typed-path", Input)
        field.display = True
        field.focus()

    def focus_next(self, selector="*"):
        """Tab (the app's focus key) in the typed mount point completes it instead."""
        field = self.query_one("#typed-path", Input)
        if self.focused is not field:
            return super().focus_next(selector)
        done = complete(field.value)
        field.value = done.text
        field.cursor_position = len(done.text)
        candidates = self.query_one("#path-candidates", Static)
        candidates.update(candidates_line(done.candidates))
        candidates.display = bool(done.candidates)
        return field

    def _close_path(self) -> None:
        field = self.query_one("#typed-path", Input)
        field.display = False
        field.value = ""
        self.query_one("#path-candidates", Static).display = False
        self.query_one(DriveList).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "typed-path":
            return
        path = event.value.strip()
        self._close_path()
        if path:
            from functools import partial

            self.run_worker(
                partial(typed_drive, path), thread=True, group="typed", exit_on_error=False
            )

    def _typed_done(self, worker: Worker, failure: str | None) -> None:
        if worker.state == WorkerState.SUCCESS:
            d = worker.result
            self.query_one(DriveList).add_typed(d)
            self.fill()
            self.notify(f"{d.mountpoint} added and chosen.")
        elif failure:
            self.notify(failure, severity="error")

    # --- writing ----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("write", "eject", "toggle", "choose_all", "type_path"):
            return not (self._writing or self._ejecting)
        if action == "cancel_write":
            return self._writing and not self._cancel.is_set()
        return True

    def chosen(self) -> list:
        return self.query_one(DriveList).chosen_drives()

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
        self._confirm_replace([d], lambda replace: self._start_write(d, package, replace=replace))

    def _write_chosen(self, chosen: list, package: Path) -> None:
        unmounted = [d.device for d in chosen if not d.mounted]
        if unmounted:
            self.notify(
                f"Mount {', '.join(unmounted)} first, or unchoose it (space).", severity="warning"
            )
            return
        self._confirm_replace(
            chosen, lambda replace: self._start_batch(chosen, package, replace=replace)
        )

    def _confirm_replace(self, drives: list, start) -> None:
        """Start the write, after asking where a drive holds other packages."""
        package: Path = self.app.built_package  # type: ignore[attr-defined]
        question = replace_question(drives, package.name)
        if question is None:
            start(any(d.packages for d in drives))
            return
        from tui.screens.dialogs import ConfirmDialog

        self.app.push_screen(ConfirmDialog(question), lambda yes: yes and start(True))

    def _start_batch(self, chosen: list, package: Path, *, replace: bool) -> None:
        log.info("Writing %s to %d sticks at once", package, len(chosen))
        self._writing = True
        self._verified = []
        self._cancel = threading.Event()
        self.refresh_bindings()
        self.query_one("#write-progress", BatchPanel).start(package.name, chosen)
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

    def action_cancel_write(self) -> None:
        if not self._writing:
            return
        self._cancel.set()
        log.info("Write cancelled by the user")
        self.query_one("#write-progress", BatchPanel).step(
            "Cancelling: each stick not yet verified stops and keeps what it had…"
        )
        self.refresh_bindings()

    def on_stick_progress(self, message: StickProgress) -> None:
        panel = self.query_one("#write-progress", BatchPanel)
        panel.show_progress(message.mountpoint, message.phase, message.done, message.total)

    def on_stick_done(self, message: StickDone) -> None:
        result = message.result
        if not self.query_one("#write-progress", BatchPanel).show_result(result):
            return
        if result.ok:
            written = result.result
            self.app.sticks_written.append(written)  # type: ignore[attr-defined]
            self._verified.append(result.mountpoint)
            log.info("Written and verified: %s (SHA-256 %s)", written.path, written.sha256)
        else:
            log.info("Writing to %s failed: %s", result.mountpoint, result.error)

    def _batch_written(self, worker: Worker, _failure: str | None) -> None:
        self._writing = False
        panel = self.query_one("#write-progress", BatchPanel)
        if worker.state == WorkerState.SUCCESS:
            results = worker.result
            panel.step(summary(results))
            if any(r.ok for r in results):
                panel.step("Press j to eject the verified sticks, or Ctrl+N.")
        else:
            panel.fail(
                self.app.worker_failed(  # type: ignore[attr-defined]
                    worker.error, "Writing", "the sticks not yet verified were left as they were"
                )
            )
        self.query_one(DriveList).chosen.clear()
        self.fill()
        self.refresh_bindings()
        self.poll_drives(force=True)

    def _start_write(self, drive, package: Path, *, replace: bool) -> None:
        log.info("Writing %s to %s (%s)", package, drive.mountpoint, drive.device)
        self._writing = True
        self._cancel = threading.Event()
        self.refresh_bindings()
        panel = self.query_one("#write-progress", BatchPanel)
        panel.reset()
        panel.step(f"Writing {package.name} to {drive.title} ({drive.mountpoint})…")
        self._write(package, drive.mountpoint, replace)

    @work(thread=True, exclusive=True, group="write", exit_on_error=False)
    def _write(self, package: Path, mountpoint: str, replace: bool):
        from tui.usb.batch import Cancelled
        from tui.usb.write import write_package

        cancel = self._cancel

        def progress(p) -> None:
            if cancel.is_set():
                raise Cancelled  # write_package removes its temporary file
            self.post_message(WriteProgress(p.phase, p.done, p.total))

        return write_package(package, mountpoint, replace=replace, progress=progress)

    def on_write_progress(self, message: WriteProgress) -> None:
        panel = self.query_one("#write-progress", BatchPanel)
        if message.phase == "verify" and not panel.lines[-1].startswith("Verifying"):
            panel.step("Verifying: reading the package back from the stick…")
        panel.measure(message.done, message.total)

    def _written(self, worker: Worker, _failure: str | None) -> None:
        from tui.usb.batch import Cancelled

        self._writing = False
        panel = self.query_one("#write-progress", BatchPanel)
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
        elif isinstance(worker.error, Cancelled):
            panel.step("Cancelled; the stick was left as it was.")
        else:
            panel.fail(
                self.app.worker_failed(  # type: ignore[attr-defined]
                    worker.error, "Writing", "the stick was left as it was"
                )
            )
        self.refresh_bindings()
        self.poll_drives(force=True)

    def action_eject(self) -> None:
        """Eject every stick the last write verified, else the highlighted one."""
        if self._writing or self._ejecting:
            return
        mounted = {d.mountpoint for d in self.drives() if d.mounted}
        verified = [mp for mp in self._verified if mp in mounted]
        d = self.selected()
        if not verified and (d is None or not d.mounted):
            return
        targets = verified or [d.mountpoint]
        self._ejecting = True
        self._verified = []
        self.refresh_bindings()
        many = f"{len(targets)} verified sticks" if len(targets) > 1 else targets[0]
        self.notify(f"Ejecting {many}…")
        log.info("Ejecting %s", ", ".join(targets))
        self.run_worker(lambda: eject_all(targets), thread=True, group="eject", exit_on_error=False)

    def _ejected(self, worker: Worker, _failure: str | None) -> None:
        self._ejecting = False
        if worker.state == WorkerState.SUCCESS:
            for ok, sentence in worker.result:
                self.notify(sentence, severity="information" if ok else "error")
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
        if self.query_one("#typed-path", Input).display:
            self._close_path()  # Esc in the typed mount point: back to the list, not a step
            return
        if self._writing:
            self.notify("Wait until the stick is written and verified.")
            return
        super().action_back()
