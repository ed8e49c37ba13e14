"""Saving the app's project as it is edited: at once, or in the background about once a
second, on one saving thread so the writes (and their fsyncs) happen in order."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from textual.app import App

from tui.errors import UserError
from tui.project import session
from tui.project.model import Project
from tui.screens.messages import AutosaveFailed

AUTOSAVE_SECONDS = 1.0


class Autosave(App[None]):
    """Part of the app: ``changed()`` says the project was edited; the app's interval timer
    calls ``_autosave``."""

    project: Project | None

    def project_file(self) -> Path:
        raise NotImplementedError

    def start_autosave(self) -> None:
        self._dirty = False
        self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._pending_save: Future[None] | None = None

    def changed(self) -> None:
        """The project was edited: save soon."""
        self._dirty = True

    def save_now(self) -> Path | None:
        """Save the project at once (atomic, owner-only); returns where, or None on failure."""
        if self.project is None:
            return None
        self._wait_for_autosave()
        path = self.project_file()
        try:
            session.save(self.project, path)
        except (OSError, UserError) as exc:
            message = exc.message if isinstance(exc, UserError) else exc.strerror
            self.notify(f"Autosave to {path} failed: {message}", severity="error")
            return None
        self._dirty = False
        return path

    def _autosave(self) -> None:
        """Save in the background: the text is taken here, the write and its fsyncs happen
        on one saving thread, in order."""
        if not self._dirty or self.project is None:
            return
        from tui.project.file import encode_project

        path = self.project_file()
        try:
            data = encode_project(self.project, path)
        except UserError as exc:
            self.notify(f"Autosave to {path} failed: {exc.message}", severity="error")
            return
        self._dirty = False
        self._pending_save = self._saver.submit(self._write_saved, path, data)

    def _write_saved(self, path: Path, data: bytes) -> None:
        try:
            session.write(path, data)
        except (OSError, UserError) as exc:
            message = exc.message if isinstance(exc, UserError) else f"{path}: {exc.strerror}"
            self.post_message(AutosaveFailed(message))

    def on_autosave_failed(self, message: AutosaveFailed) -> None:
        self._dirty = True
        self.notify(f"Autosave failed: {message.text}", severity="error")

    def _wait_for_autosave(self) -> None:
        if self._pending_save is not None:
            self._pending_save.result()
            self._pending_save = None

    def stop_autosave(self) -> None:
        """Write what is left and wait for it (quitting)."""
        self._autosave()
        self._wait_for_autosave()

    def close_autosave(self) -> None:
        self._saver.shutdown(wait=True)
