"""The package build as the app runs it: a snapshot of the project built in a worker, the
outcome recorded whatever screen shows when it ends, and the package counted as built only
while the settings it was built from are the project's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.worker import Worker, WorkerState

from tui.project import session
from tui.project.logfile import log
from tui.project.model import Project, Resume
from tui.screens.autosave import Autosave
from tui.screens.messages import BuildProgress
from tui.screens.workers import Ended


class Building(Autosave):
    """Part of the app; ``BUILD_WORKERS`` go into its ``WorkerEnds.WORKERS``."""

    project_path: Path | None
    sticks_written: list[Any]  # tui.usb.write.WriteResult of the built package
    # The package built, with the fingerprint of the settings it was built from.
    _built: tuple[Path, str] | None = None
    _build_from = ""

    BUILD_WORKERS = {
        "build": Ended("_build_finished", "Building", "no package was written"),
        "built-check": Ended("_built_checked"),  # a package gone or changed: not built
    }

    def build_snapshot(self) -> Project:
        """The project as a build sees it: a copy, payload paths resolved."""
        assert self.project is not None
        return session.for_build(self.project, self.project_path)

    @property
    def built_package(self) -> Path | None:
        """The package built from the project as it is now, or None (never built, or the
        project changed since)."""
        if self._built is None or self.project is None:
            return None
        path, built_from = self._built
        return path if built_from == session.fingerprint(self.build_snapshot()) else None

    @built_package.setter
    def built_package(self, path: Path | None) -> None:
        self._built = None
        if path is not None and self.project is not None:
            self._built = (Path(path), session.fingerprint(self.build_snapshot()))

    @property
    def building(self) -> bool:
        return any(w.group == "build" and not w.is_finished for w in self.workers)

    def start_build(self, out: Path) -> None:
        """Build the package from a snapshot of the project, in a thread."""
        from datetime import UTC, datetime
        from functools import partial

        snapshot = self.build_snapshot()
        self._build_from = session.fingerprint(snapshot)
        log.info("Building %s", out)
        self.run_worker(
            partial(
                session.build,
                snapshot,
                out,
                timestamp=datetime.now(UTC),
                progress=lambda done, total: self.post_message(BuildProgress(done, total)),
            ),
            thread=True,
            group="build",
            exit_on_error=False,
        )

    def on_build_progress(self, message: BuildProgress) -> None:
        screen = self.screen
        if hasattr(screen, "build_progress"):
            screen.build_progress(message.done, message.total)

    def _build_finished(self, worker: Worker, failure: str | None) -> None:
        result = None
        if worker.state == WorkerState.SUCCESS:
            result, sha256 = worker.result
            self._built = (result.path, self._build_from)
            self.sticks_written = []  # copies of an earlier build are not this package
            self._record_built(result.path, sha256, self._build_from)
            log.info("Built %s: %s bytes", result.path, result.size)
        screen = self.screen
        if hasattr(screen, "build_finished"):
            screen.build_finished(result, failure or "")

    def _record_built(self, path: Path, sha256: str, fingerprint: str) -> None:
        project = self.project
        resume = project.resume or Resume()
        resume.package, resume.package_sha256, resume.fingerprint = str(path), sha256, fingerprint
        project.resume = resume
        self.changed()

    def check_built_package(self) -> None:
        """The package recorded in the project counts as built when its bytes and the
        settings it was built from still match (hashed in a thread)."""
        project = self.project
        resume = project.resume if project else None
        if resume is None or not resume.package:
            return
        if resume.fingerprint != session.fingerprint(self.build_snapshot()):
            return
        path = Path(resume.package)
        self.run_worker(
            lambda: (project, session.file_sha256(path)),
            thread=True,
            group="built-check",
            exit_on_error=False,
        )

    def _built_checked(self, worker: Worker, failure: str | None) -> None:
        project = self.project
        resume = project.resume if project else None
        if worker.state != WorkerState.SUCCESS or resume is None:
            return
        checked, sha256 = worker.result
        if checked is not project or sha256 != resume.package_sha256:
            return
        self._built = (Path(resume.package), resume.fingerprint)
        screen = self.screen
        if hasattr(screen, "refresh_extras"):
            screen.refresh_extras()
