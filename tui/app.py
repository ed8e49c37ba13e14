"""The terminal app: the bulk-enrollment procedure as keyboard-driven screens.

``create_app`` builds the app with everything a test needs to replace (config folder,
today's date, where removable drives come from, the identity service); ``run_app`` is
what ``bulk-enroll`` without a subcommand runs.

The project model is the single source of truth: every screen writes each edit into
``app.project`` at once and rebuilds itself from it, so going back never loses what was
typed. Changes are saved automatically (atomically) about once a second.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.errors import UserError
from tui.project import session
from tui.project.logfile import close_log, log, open_log, project_secrets
from tui.project.model import Project, Resume
from tui.project.recent import default_config_dir, remember
from tui.screens.messages import AutosaveFailed, BuildProgress
from tui.screens.steps import STEP_IDS, STEPS, step


def _styles_folder() -> Path:
    """styles/ beside tui/ in a checkout or an editable install; in a wheel install, where
    pyproject.toml's data-files put it (<prefix>/share/bulk-enroll/styles)."""
    beside = Path(__file__).resolve().parent.parent / "styles"
    installed = Path(sys.prefix) / "share" / "bulk-enroll" / "styles"
    return beside if beside.is_dir() else installed


STYLES = _styles_folder()
AUTOSAVE_SECONDS = 1.0


# Where a reopened project resumes: a step that needs a built package resumes at the build.
RESUME_AT_BUILD = ("write", "next")


def resume_step(project: Project) -> str:
    step_id = project.resume.step if project.resume else ""
    if step_id in RESUME_AT_BUILD:
        return "review"
    return step_id if step_id in STEP_IDS else "project"


class StepCommands(Provider):
    """Command palette entries: "Go to step: …" for every step of the procedure."""

    def _commands(self) -> Iterable[tuple[str, Callable[[], Any], str]]:
        app = self.app
        if not isinstance(app, BulkEnrollApp) or app.project is None:
            return
        for n, s in enumerate(STEPS, 1):
            yield (
                f"Go to step {n}: {s.title}",
                lambda s=s: app.goto_step(s.id),
                "Jump to this step of the procedure",
            )

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, help=help_text)


class BulkEnrollApp(App[None]):
    CSS_PATH = [STYLES / "app.tcss", STYLES / "tenant.tcss"]
    TITLE = "bulk-enroll"
    COMMANDS = App.COMMANDS | {StepCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
        # Handled as the key arrives, so keys typed right after Tab (type-ahead over a
        # slow SSH link) land in the next field, not the one being left.
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        config_dir: Path | None = None,
        today: date | None = None,
        drive_source: Callable[[], list[Any]] | None = None,
        identity: Any = None,
        token_options: dict[str, Any] | None = None,
        open_path: Path | None = None,
        graph_identity: Any = None,
        graph_options: dict[str, Any] | None = None,
        log_file: Path | None = None,
    ) -> None:
        super().__init__()
        self.config_dir = config_dir or default_config_dir()
        self.today = today or date.today()
        self.drive_source = drive_source
        # A tui.entra.signin.SignInConfig replacing the project's tenant connection (tests);
        # None: tui.entra.connection.sign_in_config(project), as the technician set it (Ctrl+K).
        self.identity = identity
        self.token_options = token_options or {}  # extra fetch_bulk_token arguments
        # Microsoft Graph checks: a SignInConfig (None: tui.entra.graph.graph_sign_in_config()),
        # extra run_readiness/verify_enrollment arguments, the last readiness results.
        self.graph_identity = graph_identity
        self.graph_options = graph_options or {}
        self.tenant_checks: list[Any] = []
        self.project: Project | None = None
        self.project_path: Path | None = None
        # The package built, with the fingerprint of the settings it was built from.
        self._built: tuple[Path, str] | None = None
        self._build_from = ""
        self.sticks_written: list[Any] = []  # tui.usb.write.WriteResult of the built package
        self.log_file = log_file  # None: no log file (tests)
        self._log_handler: Any = None
        self.stash: dict[str, Any] = {}  # values a choice hid (e.g. Wi-Fi while wired)
        # The bulk token's sign-in: "device_code" or "browser" (offered only where a
        # browser can be opened: see browser_sign_in).
        self.sign_in_method = "device_code"
        self._browser_sign_in: bool | None = None
        self._dirty = False
        self._saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._pending_save: Future[None] | None = None
        self._open_path = open_path

    def get_default_screen(self) -> Screen:
        from tui.screens.start import StartScreen

        return StartScreen()

    @property
    def browser_sign_in(self) -> bool:
        """Whether "a browser on this computer" is offered for the bulk token: when
        ``token_options`` bring their own ``open_browser``, else where
        ``tui.screens.accounts.browser_here()`` finds one (asked once)."""
        if self._browser_sign_in is None:
            from tui.screens.accounts import browser_here

            self._browser_sign_in = "open_browser" in self.token_options or browser_here()
        return self._browser_sign_in

    @browser_sign_in.setter
    def browser_sign_in(self, offered: bool) -> None:
        self._browser_sign_in = offered

    def on_mount(self) -> None:
        if self.log_file is not None:
            self._log_handler = open_log(self.log_file, lambda: project_secrets(self.project))
            log.info("bulk-enroll started")
        self.set_interval(AUTOSAVE_SECONDS, self._autosave)
        if self._open_path is not None:
            self.open_project(self._open_path)

    # --- the project -------------------------------------------------------------

    def new_project(self) -> None:
        self._start(Project(), None)

    def open_project(self, path: Path) -> None:
        try:
            opened = session.open_file(path, self.config_dir)
        except UserError as exc:
            self.show_error("The project cannot be opened", exc.message)
            return
        self._start(opened.project, opened.path)
        self._check_built_package()
        from tui.project.tokens import soon_warning

        if (warning := soon_warning(opened.project, self.today)) is not None:
            self.notify(warning, severity="warning", timeout=10)

    def import_customizations(self, path: Path) -> None:
        from tui.wcd.customizations import load_customizations

        try:
            result = load_customizations(path)
        except OSError as exc:
            self.show_error(
                "The file cannot be imported", f"{path} cannot be read: {exc.strerror}."
            )
            return
        except UserError as exc:
            self.show_error("The file cannot be imported", exc.message)
            return
        self._start(result.project, None)
        if result.unknown:
            from tui.screens.dialogs import MessageDialog

            self.push_screen(
                MessageDialog(
                    "Settings this app does not edit",
                    "These settings in the imported file are kept out of the package:\n"
                    + "\n".join(f"• {item}" for item in result.unknown),
                )
            )

    def show_error(self, title: str, message: str) -> None:
        from tui.screens.dialogs import MessageDialog

        self.push_screen(MessageDialog(title, message))

    def _start(self, project: Project, path: Path | None) -> None:
        self.project = project
        self.project_path = path
        self._built = None
        self.sticks_written = []
        self.stash.clear()
        self._dirty = False
        self.goto_step(resume_step(project))

    def project_file(self) -> Path:
        """Where the project is saved: its folder once named, else a draft in the config."""
        assert self.project is not None
        return session.project_file(self.config_dir, self.project, self.project_path)

    def settle_project_file(self) -> None:
        """Once the project step is valid: save into the project folder from now on."""
        assert self.project is not None
        if self.project_path is not None:
            return
        draft = self.project_file()
        self.project_path = session.claim_project_file(self.project)
        self.save_now()
        draft.unlink(missing_ok=True)
        remember(self.config_dir, self.project_path)
        log.info("The project is saved as %s", self.project_path)

    def save_before_sign_in(self) -> None:
        """Save at once and make sure it can be saved again; raises UserError if not."""
        assert self.project is not None
        session.save_before_sign_in(self.project, self.project_file())
        self._dirty = False

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

    async def action_quit(self) -> None:
        self._autosave()
        self._wait_for_autosave()
        self.exit()

    def on_unmount(self) -> None:
        self._saver.shutdown(wait=True)
        close_log(self._log_handler)
        self._log_handler = None

    # --- the package -------------------------------------------------------------

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
        """Build the package from a snapshot of the project, in a thread; the outcome is
        recorded here, whatever screen is showing when it ends."""
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
        if hasattr(self.screen, "build_progress"):
            self.screen.build_progress(message.done, message.total)

    def _build_finished(self, worker: Worker) -> None:
        result, text = None, ""
        if worker.state == WorkerState.SUCCESS:
            result, sha256 = worker.result
            self._built = (result.path, self._build_from)
            self.sticks_written = []  # copies of an earlier build are not this package
            self._record_built(result.path, sha256, self._build_from)
            log.info("Built %s: %s bytes", result.path, result.size)
        else:
            text = self.worker_failed(worker.error, "Building", "no package was written")
        if hasattr(self.screen, "build_finished"):
            self.screen.build_finished(result, text)

    def _record_built(self, path: Path, sha256: str, fingerprint: str) -> None:
        assert self.project is not None
        resume = self.project.resume or Resume()
        resume.package, resume.package_sha256, resume.fingerprint = str(path), sha256, fingerprint
        self.project.resume = resume
        self.changed()

    def _check_built_package(self) -> None:
        """The package recorded in the project counts as built when its bytes and the
        settings it was built from still match (hashed in a thread)."""
        resume = self.project.resume if self.project else None
        if resume is None or not resume.package:
            return
        if resume.fingerprint != session.fingerprint(self.build_snapshot()):
            return
        project, path = self.project, Path(resume.package)
        self.run_worker(
            lambda: (project, session.file_sha256(path)),
            thread=True,
            group="built-check",
            exit_on_error=False,
        )

    def _built_checked(self, worker: Worker) -> None:
        resume = self.project.resume if self.project else None
        if worker.state != WorkerState.SUCCESS or resume is None:
            return
        project, sha256 = worker.result
        if project is not self.project or sha256 != resume.package_sha256:
            return
        self._built = (Path(resume.package), resume.fingerprint)
        if hasattr(self.screen, "refresh_extras"):
            self.screen.refresh_extras()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state not in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if event.worker.group == "build":
            self._build_finished(event.worker)
        elif event.worker.group == "built-check":
            self._built_checked(event.worker)

    # --- errors ------------------------------------------------------------------

    def worker_failed(self, error: BaseException | None, doing: str, outcome: str) -> str:
        """One sentence for work that failed; an error that is not a UserError is a bug,
        logged with its traceback. ``doing``: "Building"; ``outcome``: what was left."""
        if isinstance(error, UserError):
            log.info("%s failed: %s", doing, error.message)
            return error.message
        if error is not None:
            log.error("%s failed", doing, exc_info=(type(error), error, error.__traceback__))
        where = f"the log file {self.log_file}" if self.log_file else "the log file"
        return f"{doing} failed unexpectedly; {outcome}. The details are in {where}."

    # --- moving through the steps ------------------------------------------------

    def goto_step(self, step_id: str) -> None:
        if self.building:
            self.notify("Wait until the package is built.")
            return
        self._note_step(step_id)
        self._autosave()
        screen = step(step_id).make()
        from tui.screens.step import StepScreen

        if isinstance(self.screen, StepScreen):
            self.switch_screen(screen)
        else:
            while len(self.screen_stack) > 1:
                self.pop_screen()
            self.push_screen(screen)

    def _note_step(self, step_id: str) -> None:
        if self.project is None:
            return
        resume = self.project.resume or Resume()
        if resume.step != step_id:
            resume.step = step_id
            self.project.resume = resume
            if self.project_path is not None:  # no draft is saved before it is edited
                self.changed()

    def next_step(self, current: str) -> None:
        index = STEP_IDS.index(current)
        if index + 1 < len(STEP_IDS):
            self.goto_step(STEP_IDS[index + 1])

    def previous_step(self, current: str) -> None:
        index = STEP_IDS.index(current)
        if index == 0:
            if self.building:
                self.notify("Wait until the package is built.")
                return
            self._autosave()
            self.pop_screen()
        else:
            self.goto_step(STEP_IDS[index - 1])


def create_app(
    *,
    config_dir: Path | None = None,
    today: date | None = None,
    drive_source: Callable[[], list[Any]] | None = None,
    identity: Any = None,
    token_options: dict[str, Any] | None = None,
    open_path: Path | None = None,
    graph_identity: Any = None,
    graph_options: dict[str, Any] | None = None,
    log_file: Path | None = None,
) -> BulkEnrollApp:
    """The app, with what tests replace: config folder, date, drives, identity service.

    ``drive_source(show_all)`` lists the drives (default: this machine's); ``identity``
    is a ``tui.entra.signin.SignInConfig`` used instead of the project's tenant connection;
    ``token_options`` go to ``fetch_bulk_token`` (an ``open_browser`` among them also offers
    the browser sign-in, for the Graph checks too);
    ``graph_identity``/``graph_options`` likewise for the Microsoft Graph checks.
    """
    return BulkEnrollApp(
        config_dir=config_dir,
        today=today,
        drive_source=drive_source,
        identity=identity,
        token_options=token_options,
        open_path=open_path,
        graph_identity=graph_identity,
        graph_options=graph_options,
        log_file=log_file,
    )


def run_app(open_path: Path | None = None) -> int:
    """The app; with ``open_path``, that project is opened at once (``bulk-enroll FILE``)."""
    from tui.project.logfile import default_log_file

    create_app(log_file=default_log_file(), open_path=open_path).run()
    return 0
