"""The terminal app: the bulk-enrollment procedure as keyboard-driven screens.

``create_app`` builds the app with everything a test needs to replace (config folder,
today's date, where removable drives come from, the identity service); ``run_app`` is
what ``bulk-enroll`` without a subcommand runs.

The project model is the single source of truth: every screen writes each edit into
``app.project`` at once and rebuilds itself from it, so going back never loses what was
typed. Changes are saved automatically (atomically) about once a second
(``tui.screens.autosave``); the package is built in a worker (``tui.screens.building``);
workers' ends are handled by ``tui.screens.workers``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from tui.errors import UserError
from tui.project import session
from tui.project.logfile import close_log, log, open_log, project_secrets
from tui.project.model import Project, Resume
from tui.project.recent import default_config_dir, remember
from tui.screens.autosave import AUTOSAVE_SECONDS
from tui.screens.building import Building
from tui.screens.steps import STEP_IDS, STEPS, step
from tui.screens.workers import WorkerEnds, failure_sentence


def _styles_folder() -> Path:
    """styles/ beside tui/ in a checkout or an editable install; in a wheel install, where
    pyproject.toml's data-files put it (<prefix>/share/bulk-enroll/styles)."""
    beside = Path(__file__).resolve().parent.parent / "styles"
    installed = Path(sys.prefix) / "share" / "bulk-enroll" / "styles"
    return beside if beside.is_dir() else installed


STYLES = _styles_folder()


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


class BulkEnrollApp(WorkerEnds, Building):
    CSS_PATH = [STYLES / "app.tcss", STYLES / "tenant.tcss"]
    # Below 80 columns labels wrap and the footer is compact (styles/app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-normal")]
    TITLE = "bulk-enroll"
    COMMANDS = App.COMMANDS | {StepCommands}
    WORKERS = Building.BUILD_WORKERS
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
        self.sticks_written = []
        self.log_file = log_file  # None: no log file (tests)
        self._log_handler: Any = None
        self.stash: dict[str, Any] = {}  # values a choice hid (e.g. Wi-Fi while wired)
        self.visited: set[str] = set()  # steps shown (the step list's marks)
        # The bulk token's sign-in: "device_code" or "browser" (offered only where a
        # browser can be opened: see browser_sign_in).
        self.sign_in_method = "device_code"
        self._browser_sign_in: bool | None = None
        self._open_path = open_path
        self.start_autosave()

    def get_default_screen(self) -> Screen:
        from tui.screens.start import StartScreen

        return StartScreen()

    @property
    def browser_sign_in(self) -> bool:
        """Whether "a browser on this computer" is offered for the bulk token: when
        ``token_options`` bring their own ``open_browser``, else where
        ``tui.screens.tokensignin.browser_here()`` finds one (asked once)."""
        if self._browser_sign_in is None:
            from tui.screens.tokensignin import browser_here

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
        self.check_built_package()
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
        resume = resume_step(project)
        self.visited = set(STEP_IDS[: STEP_IDS.index(resume) + 1])
        self.goto_step(resume)

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

    async def action_quit(self) -> None:
        self.stop_autosave()
        self.exit()

    def on_unmount(self) -> None:
        self.close_autosave()
        close_log(self._log_handler)
        self._log_handler = None

    # --- errors ------------------------------------------------------------------

    def worker_failed(self, error: BaseException | None, doing: str, outcome: str) -> str:
        """One sentence for work that failed (``tui.screens.workers.failure_sentence``), for
        screens that handle their workers' ends themselves."""
        return failure_sentence(error, doing, outcome, self.log_file)

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
        self.visited.add(step_id)
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


def create_app(**options: Any) -> BulkEnrollApp:
    """The app, with what tests replace (the options of ``BulkEnrollApp``): config folder,
    date, drives, identity service.

    ``drive_source(show_all)`` lists the drives (default: this machine's); ``identity``
    is a ``tui.entra.signin.SignInConfig`` used instead of the project's tenant connection;
    ``token_options`` go to ``fetch_bulk_token`` (an ``open_browser`` among them also offers
    the browser sign-in, for the Graph checks too);
    ``graph_identity``/``graph_options`` likewise for the Microsoft Graph checks.
    """
    return BulkEnrollApp(**options)


def run_app(open_path: Path | None = None) -> int:
    """The app; with ``open_path``, that project is opened at once (``bulk-enroll FILE``)."""
    from tui.project.logfile import default_log_file

    create_app(log_file=default_log_file(), open_path=open_path).run()
    return 0
