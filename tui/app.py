"""The terminal app: the bulk-enrollment procedure as keyboard-driven screens.

``create_app`` builds the app with everything a test needs to replace (config folder,
today's date, where removable drives come from, the identity service); ``run_app`` is
what ``bulk-enroll`` without a subcommand runs.

The project model is the single source of truth: every screen writes each edit into
``app.project`` at once and rebuilds itself from it, so going back never loses what was
typed. Changes are saved automatically (atomically) about once a second.
"""

from __future__ import annotations

import os
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
from tui.model import Project
from tui.recent import default_config_dir, remember
from tui.screens.steps import STEP_IDS, STEPS, step


def _styles_folder() -> Path:
    """styles/ beside tui/ in a checkout or an editable install; in a wheel install, where
    pyproject.toml's data-files put it (<prefix>/share/bulk-enroll/styles)."""
    beside = Path(__file__).resolve().parent.parent / "styles"
    installed = Path(sys.prefix) / "share" / "bulk-enroll" / "styles"
    return beside if beside.is_dir() else installed


STYLES = _styles_folder()
AUTOSAVE_SECONDS = 1.0


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
    ) -> None:
        super().__init__()
        self.config_dir = config_dir or default_config_dir()
        self.today = today or date.today()
        self.drive_source = drive_source
        self.identity = identity  # a tui.signin.SignInConfig; None: Microsoft's cloud
        self.token_options = token_options or {}  # extra fetch_bulk_token arguments
        # Microsoft Graph checks: a SignInConfig (None: tui.graph.graph_sign_in_config()),
        # extra run_readiness/verify_enrollment arguments, the last readiness results.
        self.graph_identity = graph_identity
        self.graph_options = graph_options or {}
        self.tenant_checks: list[Any] = []
        self.project: Project | None = None
        self.project_path: Path | None = None
        self.built_package: Path | None = None
        self.stash: dict[str, Any] = {}  # values a choice hid (e.g. Wi-Fi while wired)
        # The bulk token's sign-in: "device_code" or "browser" (offered only where a
        # browser can be opened: see browser_sign_in).
        self.sign_in_method = "device_code"
        self._browser_sign_in: bool | None = None
        self._dirty = False
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
        self.set_interval(AUTOSAVE_SECONDS, self._autosave)
        if self._open_path is not None:
            self.open_project(self._open_path)

    # --- the project -------------------------------------------------------------

    def new_project(self) -> None:
        self._start(Project(), None)

    def open_project(self, path: Path) -> None:
        from tui.projectfile import load_project

        try:
            project = load_project(path)
        except UserError as exc:
            self.show_error("The project cannot be opened", exc.message)
            return
        self._start(project, path)
        remember(self.config_dir, path)

    def import_customizations(self, path: Path) -> None:
        from tui.customizations import load_customizations

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
        self.built_package = None
        self.stash.clear()
        self._dirty = False
        self.goto_step("project")

    def project_file(self) -> Path:
        """Where the project is saved: its folder once named, else a draft in the config."""
        from tui.projectfile import PROJECT_SUFFIX

        assert self.project is not None
        if self.project_path is not None:
            return self.project_path
        return self.config_dir / "drafts" / f"{self.project.package.id.strip('{}')}{PROJECT_SUFFIX}"

    def settle_project_file(self) -> None:
        """Once the project step is valid: save into the project folder from now on."""
        assert self.project is not None
        if self.project_path is not None:
            return
        from tui.projectfile import PROJECT_SUFFIX

        draft = self.project_file()
        folder = Path(self.project.folder).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"The project folder {folder} cannot be created: {exc.strerror}."
            ) from None
        path = folder / f"{self.project.package.name}{PROJECT_SUFFIX}"
        try:  # claimed with O_EXCL: a new project never replaces an existing project file
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            raise UserError(
                f"A project file {path.name} already exists in {folder}: open it from the "
                "start screen, or choose another name."
            ) from None
        except OSError as exc:
            raise UserError(f"The project file {path} cannot be created: {exc.strerror}.") from None
        self.project_path = path
        self.save_now()
        draft.unlink(missing_ok=True)
        remember(self.config_dir, self.project_path)

    def changed(self) -> None:
        """The project was edited: save soon; a package built before is out of date."""
        self._dirty = True
        self.built_package = None

    def save_now(self) -> Path | None:
        """Save the project at once (atomic, owner-only); returns where, or None on failure."""
        if self.project is None:
            return None
        from tui.projectfile import save_project

        path = self.project_file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            save_project(self.project, path)
        except (OSError, UserError) as exc:
            message = exc.message if isinstance(exc, UserError) else exc.strerror
            self.notify(f"Autosave to {path} failed: {message}", severity="error")
            return None
        self._dirty = False
        return path

    def _autosave(self) -> None:
        if self._dirty:
            self.save_now()

    async def action_quit(self) -> None:
        self._autosave()
        self.exit()

    # --- moving through the steps ------------------------------------------------

    def goto_step(self, step_id: str) -> None:
        self._autosave()
        screen = step(step_id).make()
        from tui.screens.step import StepScreen

        if isinstance(self.screen, StepScreen):
            self.switch_screen(screen)
        else:
            while len(self.screen_stack) > 1:
                self.pop_screen()
            self.push_screen(screen)

    def next_step(self, current: str) -> None:
        index = STEP_IDS.index(current)
        if index + 1 < len(STEP_IDS):
            self.goto_step(STEP_IDS[index + 1])

    def previous_step(self, current: str) -> None:
        index = STEP_IDS.index(current)
        if index == 0:
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
) -> BulkEnrollApp:
    """The app, with what tests replace: config folder, date, drives, identity service.

    ``drive_source(show_all)`` lists the drives (default: this machine's); ``identity``
    is a ``tui.signin.SignInConfig``; ``token_options`` go to ``fetch_bulk_token`` (an
    ``open_browser`` among them also offers the browser sign-in);
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
    )


def run_app() -> int:
    create_app().run()
    return 0
