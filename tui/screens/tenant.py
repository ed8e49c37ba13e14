"""Microsoft Graph, read only: the tenant readiness check and the enrollment verification.

``TenantScreen`` runs ``tui.entra.readiness.run_readiness`` before "Get bulk token";
``EnrollmentScreen`` runs ``tui.entra.enrollment.verify_enrollment`` once devices were set up.
Both sign in with a device code (shown while waiting) or, where the accounts step offers it
and it is chosen there, a browser on this computer; they show each check as it is read, and
cancel with Ctrl+G or Esc. The sign-in settings are the project's tenant connection
(``tui.entra.connection``), as the bulk token's are; tests replace them with the app's
``graph_identity``/``graph_options``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from tui.entra.enrollment import DEVICES, PACKAGE_USER, TOKEN, DeviceInfo, EnrollmentReport
from tui.entra.graph import Waiting
from tui.entra.readiness import CHECK_NAMES, Check, Checked, Checking, Status
from tui.entra.signin import (
    CancelToken,
    SignedIn,
    SignInConfig,
    WaitingForBrowser,
    WaitingForSignIn,
)
from tui.screens.messages import GraphEvent

EventSink = Callable[[object], None]

STATUS_LABELS = {
    Status.PASS: "✓ pass",
    Status.WARN: "! warn",
    Status.FAIL: "✗ FAIL",
    Status.NOT_CHECKED: "? not checked",
}
WAITING = "· waiting"
CHECKING = "… checking"
CANCEL_HINT = "Ctrl+G or Esc cancels."


# --- plain text, pure ------------------------------------------------------------------------


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


def summary_text(checks: Sequence[Check]) -> str:
    """One line: how many checks ended how."""
    counts = {status: sum(c.status is status for c in checks) for status in Status}
    parts = [f"{counts[Status.PASS]} passed"]
    if counts[Status.WARN]:
        parts.append(f"{counts[Status.WARN]} warning{'s' if counts[Status.WARN] > 1 else ''}")
    if counts[Status.FAIL]:
        parts.append(f"{counts[Status.FAIL]} failed")
    if counts[Status.NOT_CHECKED]:
        parts.append(f"{counts[Status.NOT_CHECKED]} not checked")
    return f"Done: {len(checks)} checks, " + ", ".join(parts) + "."


def readiness_notes(checks: Iterable[Check]) -> list[str]:
    """The readiness results as review warnings: everything that did not pass."""
    checks = list(checks)
    if not checks:
        return []
    notes = [
        f"Tenant check, {c.name}: {c.reason}" + (f" Fix: {c.fix}" if c.fix else "")
        for c in checks
        if c.status is not Status.PASS
    ]
    return notes or [f"Tenant check: all {len(checks)} conditions passed."]


def device_flags(device: DeviceInfo) -> list[str]:
    """What the procedure says to look at on one device (as ``devices_check`` flags it)."""
    flags = []
    if device.join_type != "Entra joined":
        flags.append(f"{device.join_type}, not Entra joined")
    if device.enabled is False:
        flags.append("disabled")
    if device.mdm == "none":
        flags.append("not in an MDM")
    if device.compliant is False:
        flags.append("not compliant")
    return flags


def device_line(device: DeviceInfo) -> str:
    registered = (
        f"registered {device.registered:%Y-%m-%d %H:%M} UTC"
        if device.registered
        else "registration time unknown"
    )
    compliance = {True: "compliant", False: "not compliant", None: "compliance unknown"}
    parts = [
        device.join_type,
        device.os or "OS unknown",
        registered,
        f"MDM {device.mdm or 'unknown'}",
        compliance[device.compliant],
    ]
    flags = device_flags(device)
    line = f"{device.name}: " + ", ".join(parts)
    return line + (f"  ⚠ {'; '.join(flags)}" if flags else "")


def token_text(report: EnrollmentReport) -> str:
    days = report.token_days_left
    if days is None:
        return "Bulk token: expiry unknown."
    if days < 0:
        return f"Bulk token: expired {-days} days ago."
    return f"Bulk token: {days} days left."


# --- widgets ---------------------------------------------------------------------------------


class CheckRow(Horizontal):
    """One check: its state on the left; name, reason and fix on the right.

    The parts exist from the start, so a row mounted while the checks run (one this screen did
    not list beforehand) takes its state before it is composed.
    """

    def __init__(self, name: str) -> None:
        super().__init__(classes="-waiting")
        self.check_name = name
        self.check: Check | None = None
        self._status_part = Static(WAITING, classes="check--status", markup=False)
        self._reason_part = Static("", classes="check--reason", markup=False)
        self._fix_part = Static("", classes="check--fix", markup=False)

    def compose(self) -> ComposeResult:
        yield self._status_part
        with Vertical(classes="check--text"):
            yield Static(self.check_name, classes="check--name", markup=False)
            yield self._reason_part
            yield self._fix_part

    @property
    def status_text(self) -> str:
        return str(self._status_part.content)

    @property
    def reason_text(self) -> str:
        return str(self._reason_part.content)

    @property
    def fix_text(self) -> str:
        return str(self._fix_part.content)

    def _state(self, state: str, label: str) -> None:
        for old in ("-waiting", "-checking", *(f"-{s}" for s in Status)):
            self.remove_class(old)
        self.add_class(state)
        self._status_part.update(label)

    def waiting(self) -> None:
        self.check = None
        self._state("-waiting", WAITING)
        self._text("", "")

    def checking(self) -> None:
        self._state("-checking", CHECKING)

    def show(self, check: Check) -> None:
        self.check = check
        self._state(f"-{check.status}", STATUS_LABELS[check.status])
        fix = f"Fix: {check.fix}" if check.fix and check.status is not Status.PASS else ""
        self._text(check.reason, fix)

    def _text(self, reason: str, fix: str) -> None:
        self._reason_part.update(reason)
        self._fix_part.update(fix)
        self._fix_part.display = bool(fix)


# --- screens ---------------------------------------------------------------------------------


class GraphScreen(Screen):
    """Sign in to Microsoft Graph in a worker, show the code, then each check as it is read."""

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

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "graph" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self._cancel = None
        self.query_one("#signin", Static).remove_class("-shown")
        if event.state == WorkerState.SUCCESS:
            self.result = event.worker.result
            self.show_result(self.result)
        else:
            message = self.app.worker_failed(  # type: ignore[attr-defined]
                event.worker.error, "The check", "nothing was changed"
            )
            self._status(message, failed=True)
            for row in self.query(CheckRow):
                if row.check is None:
                    row.waiting()
        self.refresh_bindings()


class TenantScreen(GraphScreen):
    """Is the tenant ready for bulk enrollment? Each condition: pass, warn, fail or not checked."""

    HEADING = "Tenant readiness · Microsoft Graph, read only"
    INTRO = (
        "Reads the tenant's licences, device settings and policies before you get the bulk "
        "token. Nothing is changed."
    )
    ROWS = CHECK_NAMES

    def call_graph(
        self, config: SignInConfig, on_event: EventSink, cancel: CancelToken
    ) -> list[Check]:
        from tui.entra.readiness import run_readiness

        return run_readiness(
            config,
            on_event=on_event,
            cancel=cancel,
            project=self.app.project,  # type: ignore[attr-defined]
            **self.graph_options(),
        )

    def show_result(self, result: list[Check]) -> None:
        for check in result:
            self.row(check.name).show(check)
        self.app.tenant_checks = list(result)  # type: ignore[attr-defined]
        self._status(summary_text(result))


class EnrollmentScreen(GraphScreen):
    """After provisioning: the package user, the devices it joined, the token's days left."""

    HEADING = "Verify enrollment · Microsoft Graph, read only"
    INTRO = (
        "Looks up the package user of this project and the devices it joined, as the "
        "procedure asks. Nothing is changed."
    )
    ROWS = (PACKAGE_USER, TOKEN, DEVICES)

    def compose_extra(self) -> ComposeResult:
        yield Static("", id="enroll-summary", markup=False)
        yield Vertical(id="devices")

    def call_graph(
        self, config: SignInConfig, on_event: EventSink, cancel: CancelToken
    ) -> EnrollmentReport:
        from tui.entra.enrollment import verify_enrollment

        app = self.app
        return verify_enrollment(
            config,
            app.project,  # type: ignore[attr-defined]
            today=app.today,  # type: ignore[attr-defined]
            on_event=on_event,
            cancel=cancel,
            **self.graph_options(),
        )

    def action_run(self) -> None:
        self.query_one("#enroll-summary", Static).update("")
        self.query_one("#devices").remove_children()
        super().action_run()

    def show_result(self, result: EnrollmentReport) -> None:
        for check in result.checks:
            self.row(check.name).show(check)
        self.query_one("#enroll-summary", Static).update(
            f"Package user: {result.package_user}\n{token_text(result)}\n"
            + (f"Devices ({len(result.devices)}):" if result.devices else "No devices yet.")
        )
        self.query_one("#devices").mount_all(
            Static(
                device_line(d),
                classes="device -flagged" if device_flags(d) else "device",
                markup=False,
            )
            for d in result.devices
        )
        self._status(summary_text(result.checks))
