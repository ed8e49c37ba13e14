"""The base of the Microsoft Graph screens (read only): sign in in a worker, show the device
code or the browser's address while waiting, then each check as it is read; Ctrl+G or Esc
cancels. The sign-in settings are the project's tenant connection
(``tui.entra.connection``), as the bulk token's are; tests replace them with the app's
``graph_identity``/``graph_options``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from tui.entra.graph import Waiting
from tui.entra.readiness import Checked, Checking
from tui.entra.signin import (
    CancelToken,
    SignedIn,
    SignInConfig,
    WaitingForBrowser,
    WaitingForSignIn,
)
from tui.screens.checklist import CheckRow
from tui.screens.messages import GraphEvent
from tui.screens.workers import Ended, WorkerEnds

EventSink = Callable[[object], None]
CANCEL_HINT = "Ctrl+G or Esc cancels."


def sign_in_text(user_code: str, verification_uri: str) -> str:
    return (
        f"On any device, open {verification_uri}\nand enter the code  {user_code}\n"
        "Sign in with an account that may read the tenant (Global Reader is enough). "
        f"{CANCEL_HINT}"
    )


def browser_text(auth_uri: str) -> str:
    return (
        "Sign in in the browser opening on this computer, with an account that may read the "
        f"tenant (Global Reader is enough); if none opens, open this address here:\n{auth_uri}\n"
        f"{CANCEL_HINT}"
    )


class GraphScreen(WorkerEnds, Screen):
    """Sign in to Microsoft Graph in a worker, show the code, then each check as it is read."""

    WORKERS = {"graph": Ended("_graph_finished", "The check", "nothing was changed")}

    HEADING = ""
    INTRO = ""
    ROWS: tuple[str, ...] = ()
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+g", "cancel", "Cancel"),
        Binding("ctrl+l", "run", "Check again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._cancel: CancelToken | None = None
        self.result: Any = None

    def compose(self) -> ComposeResult:
        yield Static(self.HEADING, id="heading")
        with VerticalScroll(id="graph-body"):
            yield Static(self.INTRO, id="graph-intro", classes="hint", markup=False)
            yield Static("", id="signin", markup=False)
            yield Static("", id="graph-status", markup=False)
            yield Static("", id="graph-notes", markup=False)
            for name in self.ROWS:
                yield CheckRow(name)
            yield from self.compose_extra()
        yield Footer()

    def compose_extra(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#graph-body").focus()  # arrows and Page keys scroll the results
        self.action_run()

    def on_unmount(self) -> None:
        # Leaving (a palette jump, quitting) must not leave a sign-in polling.
        if self._cancel is not None:
            self._cancel.cancel()

    # --- what the subclasses do -------------------------------------------------------

    def call_graph(self, config: SignInConfig, on_event: EventSink, cancel: CancelToken) -> Any:
        raise NotImplementedError

    def show_result(self, result: Any) -> None:
        raise NotImplementedError

    # --- running ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def rows(self) -> dict[str, CheckRow]:
        return {row.check_name: row for row in self.query(CheckRow)}

    def row(self, name: str) -> CheckRow:
        row = self.rows().get(name)
        if row is None:  # a check this screen did not list beforehand
            row = CheckRow(name)
            self.query_one("#graph-body").mount(row)
        return row

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.running
        if action == "run":
            return not self.running
        return True

    def action_run(self) -> None:
        if self.running:
            return
        self.result = None
        for row in self.query(CheckRow):
            row.waiting()
        notes = self.query_one("#graph-notes", Static)
        notes.update("")
        notes.display = False
        self._status("Starting the sign-in to Microsoft Graph…")
        self._cancel = CancelToken()
        self.refresh_bindings()
        self._worker(self._cancel)

    def action_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self._status("Cancelling…")

    def action_back(self) -> None:
        if self.running:
            self.action_cancel()
            return
        self.dismiss(self.result)

    @work(thread=True, exclusive=True, group="graph", exit_on_error=False)
    def _worker(self, cancel: CancelToken) -> Any:
        from tui.entra.connection import graph_config

        project = self.app.project  # type: ignore[attr-defined]
        config = self.app.graph_identity or graph_config(project)  # type: ignore[attr-defined]
        return self.call_graph(config, lambda e: self.post_message(GraphEvent(e)), cancel)

    def graph_options(self) -> dict[str, Any]:
        """run_readiness/verify_enrollment arguments: the connection's Graph address and the
        sign-in method chosen on the accounts step (tests add their own)."""
        from tui.entra.connection import graph_url

        app = self.app
        options = dict(app.graph_options)  # type: ignore[attr-defined]
        sign_in = dict(options.pop("sign_in_options", {}))
        if app.browser_sign_in and app.sign_in_method == "browser":  # type: ignore[attr-defined]
            sign_in.setdefault("method", "browser")
            if "open_browser" in app.token_options:  # type: ignore[attr-defined]
                sign_in.setdefault("open_browser", app.token_options["open_browser"])  # type: ignore[attr-defined]
        if sign_in:
            options["sign_in_options"] = sign_in
        if (url := graph_url(app.project.connection)) is not None:  # type: ignore[attr-defined]
            options.setdefault("graph_url", url)
        return options

    def on_graph_event(self, message: GraphEvent) -> None:
        signin = self.query_one("#signin", Static)
        match message.event:
            case WaitingForSignIn(user_code=code, verification_uri=uri):
                signin.update(sign_in_text(code, uri))
                signin.add_class("-shown")
                self._status("Waiting for the sign-in…")
            case WaitingForBrowser(auth_uri=uri):
                signin.update(browser_text(uri))
                signin.add_class("-shown")
                self._status("Waiting for the sign-in in the browser…")
            case SignedIn(username=user):
                signin.remove_class("-shown")
                self._status(f"Signed in as {user or 'you'}. Reading the tenant…")
            case Checking(name=name):
                self.row(name).checking()
                self._status(f"Checking {self._progress(name)}: {name}…")
            case Checked(check=check):
                self.row(check.name).show(check)
            case Waiting(path=path, seconds=seconds):
                self._status(f"Microsoft Graph asked to slow down: trying again in {seconds:g} s…")
                notes = self.query_one("#graph-notes", Static)
                line = f"Throttled: waited {seconds:g} s as Microsoft Graph asked ({path})."
                notes.update("\n".join(filter(None, [str(notes.content), line])))
                notes.display = True

    def _progress(self, name: str) -> str:
        names = list(self.rows())
        return f"{names.index(name) + 1} of {len(names)}" if name in names else name

    def _status(self, text: str, *, failed: bool = False) -> None:
        status = self.query_one("#graph-status", Static)
        status.update(text)
        status.set_class(failed, "-failed")

    def _graph_finished(self, worker: Worker, failure: str | None) -> None:
        self._cancel = None
        self.query_one("#signin", Static).remove_class("-shown")
        if worker.state == WorkerState.SUCCESS:
            self.result = worker.result
            self.show_result(self.result)
        else:
            self._status(failure or "The check was cancelled; nothing was changed.", failed=True)
            for row in self.query(CheckRow):
                if row.check is None:
                    row.waiting()
        self.refresh_bindings()
