"""Step 4, Accounts: join Entra ID (bulk token) or Active Directory, and a local administrator."""

from __future__ import annotations

from datetime import date, timedelta

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui.model import JoinKind, LocalUser
from tui.screens.step import StepScreen
from tui.widgets.field import ChoiceField, Edited, Field, SecretField
from tui.widgets.progress import ProgressPanel

TOKEN_DAYS_DEFAULT = 179  # the token lives at most 180 days; one day of margin
JOIN_CHOICES = (
    (JoinKind.ENTRA.value, "Entra ID"),
    (JoinKind.ACTIVE_DIRECTORY.value, "Active Directory"),
    (JoinKind.NONE.value, "No join"),
)
WAITING = "Waiting for Entra ID"
DATE_FORMAT_PROBLEM = "Bulk token expiry: type the date as YYYY-MM-DD, e.g. 2027-05-28."


def describe_event(event: object) -> str | None:
    """One line for a step of the bulk token flow; never holds a secret."""
    from tui.bulktoken import CreatingPackageUser, Done, Polling
    from tui.signin import SignedIn, WaitingForBrowser, WaitingForSignIn

    match event:
        case WaitingForSignIn(user_code=code, verification_uri=uri):
            return (
                f"On any device, open {uri}\nand enter the code  {code}\n"
                "Sign in as an administrator; if asked to stay signed in everywhere, "
                'answer "No, sign in to this app only". Ctrl+G cancels.'
            )
        case WaitingForBrowser(auth_uri=uri):
            return f"Sign in in the browser that opened ({uri[:60]}…). Ctrl+G cancels."
        case SignedIn(username=user):
            return f"Signed in as {user or 'an administrator'}."
        case CreatingPackageUser():
            return "Asking Entra ID to create the package user…"
        case Polling(attempt=n):
            return f"{WAITING} to issue the token (check {n})…"
        case Done(package_user=user):
            return f"Entra ID created the package user {user}."
    return None


class TokenEvent(Message):
    """A step of the bulk token flow, posted from the worker thread."""

    def __init__(self, event: object) -> None:
        super().__init__()
        self.event = event


class AccountsScreen(StepScreen):
    STEP = "accounts"
    FIELDS = ("entra", "domain", "local_users")
    BINDINGS = [
        Binding("ctrl+l", "check_tenant", "Check tenant"),
        Binding("ctrl+t", "get_token", "Get bulk token"),
        Binding("ctrl+g", "cancel_token", "Cancel sign-in"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._cancel = None
        self._expires_text_ok = True

    def compose_form(self) -> ComposeResult:
        p = self.project
        if p.join == JoinKind.ENTRA and p.entra.expires is None:
            p.entra.expires = self.today + timedelta(days=TOKEN_DAYS_DEFAULT)
        yield ChoiceField(
            "Join the device to", "join", JOIN_CHOICES, p.join.value, apply=self._join
        )
        with Vertical(id="entra"):
            yield Field(
                "Bulk token valid until (at most 180 days ahead)",
                "entra.expires",
                p.entra.expires.isoformat() if p.entra.expires else "",
                apply=self._set_expires,
                placeholder="YYYY-MM-DD",
                id="expires",
            )
            yield Static("", id="token-status")
            yield ProgressPanel(id="token-progress")
        with Vertical(id="domain"):
            yield Field(
                "Domain",
                "domain.domain",
                p.domain.domain,
                apply=lambda v: setattr(p.domain, "domain", v),
                placeholder="e.g. corp.contoso.com",
            )
            yield Field(
                "Join account (least privileged)",
                "domain.account",
                p.domain.account,
                apply=lambda v: setattr(p.domain, "account", v),
                placeholder="e.g. CORP\\djoin",
            )
            yield SecretField(
                "Join account password (Ctrl+R shows it)",
                "domain.password",
                p.domain.password,
                apply=lambda v: setattr(p.domain, "password", v),
            )
            yield Field(
                "Organizational unit (optional)",
                "domain.ou",
                p.domain.ou,
                apply=lambda v: setattr(p.domain, "ou", v),
                placeholder="e.g. OU=Laptops,DC=corp,DC=contoso,DC=com",
            )
        admin = p.local_users[0] if p.local_users else LocalUser()
        yield Static("Local administrator", classes="section")
        yield Static("", id="admin-advice", classes="hint")
        yield Field(
            "User name",
            "local_users[0].name",
            admin.name,
            apply=lambda v: self._set_admin("name", v),
            id="admin-name",
        )
        yield SecretField(
            "Password (Ctrl+R shows it; Windows asks for a new one within 42 days)",
            "local_users[0].password",
            admin.password,
            apply=lambda v: self._set_admin("password", v),
            id="admin-password",
        )

    # --- model updates --------------------------------------------------------------

    def _join(self, key: str) -> None:
        self.project.join = JoinKind(key)
        if self.project.join == JoinKind.ENTRA and self.project.entra.expires is None:
            expires = self.today + timedelta(days=TOKEN_DAYS_DEFAULT)
            self.project.entra.expires = expires
            self.query_one("#expires", Field).input.value = expires.isoformat()

    def _set_expires(self, text: str) -> None:
        try:
            self.project.entra.expires = date.fromisoformat(text.strip()) if text.strip() else None
            self._expires_text_ok = True
        except ValueError:
            self._expires_text_ok = False

    def _set_admin(self, attr: str, value: str) -> None:
        users = self.project.local_users
        if not users:
            users.append(LocalUser())
        setattr(users[0], attr, value)
        if not users[0].name and not users[0].password:
            users.pop(0)

    # --- checking -------------------------------------------------------------------

    def step_problems(self) -> list:
        problems = super().step_problems()
        if self.project.join == JoinKind.ENTRA and not self._expires_text_ok:
            from tui.rules import Problem

            problems.insert(0, Problem("entra.expires", DATE_FORMAT_PROBLEM))
        return problems

    def recheck(self, *, everything: bool = False) -> None:
        super().recheck(everything=everything)
        if not self._expires_text_ok:
            self.query_one("#expires", Field).show_problem(DATE_FORMAT_PROBLEM)

    def refresh_extras(self) -> None:
        p = self.project
        self.query_one("#entra").display = p.join == JoinKind.ENTRA
        self.query_one("#domain").display = p.join == JoinKind.ACTIVE_DIRECTORY
        advice = self.query_one("#admin-advice", Static)
        if p.join == JoinKind.NONE:
            advice.update("Optional.")
        else:
            advice.update(
                "Recommended: Microsoft advises a local administrator whenever the package "
                "joins a domain, so a failed join does not lock you out."
            )
        self._show_token()
        self.refresh_bindings()

    def _show_token(self) -> None:
        e = self.project.entra
        status = self.query_one("#token-status", Static)
        if e.bprt:
            status.update(
                f"Bulk token: obtained, valid until {e.expires}; package user "
                f"{e.package_user or '(unknown)'}. Ctrl+T gets a new one."
            )
        else:
            status.update("No bulk token yet: press Ctrl+T to sign in and get one.")

    # --- the bulk token -------------------------------------------------------------

    @property
    def token_running(self) -> bool:
        return self._cancel is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("get_token", "check_tenant"):
            return self.project.join == JoinKind.ENTRA and not self.token_running
        if action == "cancel_token":
            return self.token_running
        return True

    def action_check_tenant(self) -> None:
        from tui.screens.tenant import TenantScreen

        self.app.push_screen(TenantScreen())

    def action_get_token(self) -> None:
        if self.token_running or self.project.join != JoinKind.ENTRA:
            return
        problems = [p for p in super().step_problems() if p.field == "entra.expires"]
        if problems or not self._expires_text_ok:
            self.action_next()  # shows the expiry problem the usual way
            return
        from tui.signin import CancelToken

        self._cancel = CancelToken()
        panel = self.query_one("#token-progress", ProgressPanel)
        panel.reset()
        panel.step("Starting sign-in…")
        self.refresh_bindings()
        self._token_worker(self._cancel)

    def on_unmount(self) -> None:
        # Leaving the screen (a palette jump, quitting) must not leave a sign-in polling.
        if self._cancel is not None:
            self._cancel.cancel()

    def action_cancel_token(self) -> None:
        if self._cancel is not None:
            self._cancel.cancel()
            self.query_one("#token-progress", ProgressPanel).step("Cancelling…")

    def action_back(self) -> None:
        if self.token_running:
            self.action_cancel_token()
            return
        super().action_back()

    def action_next(self) -> None:
        if self.token_running:
            self.app.notify("Wait for the bulk token, or cancel it with Ctrl+G.")
            return
        super().action_next()

    @work(thread=True, exclusive=True, group="token", exit_on_error=False)
    def _token_worker(self, cancel) -> object:
        from tui.bulktoken import fetch_bulk_token
        from tui.signin import SignInConfig

        app = self.app
        return fetch_bulk_token(
            app.identity or SignInConfig(),  # type: ignore[attr-defined]
            self.project.entra.expires,
            on_event=lambda event: self.post_message(TokenEvent(event)),
            cancel=cancel,
            today=self.today,
            **app.token_options,  # type: ignore[attr-defined]
        )

    def on_token_event(self, message: TokenEvent) -> None:
        panel = self.query_one("#token-progress", ProgressPanel)
        line = describe_event(message.event)
        if line is None:
            return
        if panel.lines and line.startswith(WAITING) and panel.lines[-1].startswith(WAITING):
            panel.replace_last(line)
        else:
            panel.step(line)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "token" or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        self._cancel = None
        panel = self.query_one("#token-progress", ProgressPanel)
        if event.state == WorkerState.SUCCESS:
            token = event.worker.result
            e = self.project.entra
            e.bprt = token.bprt
            e.expires = token.expires
            e.package_user = token.package_user
            e.token_package_id = token.package_id
            panel.step("Bulk token received and saved in the project.")
            self.post_message(Edited("entra.bprt"))
        else:
            from tui.errors import UserError

            error = event.worker.error
            if isinstance(error, UserError):
                panel.fail(error.message)
            else:
                panel.fail("Getting the bulk token failed unexpectedly; nothing was changed.")
        self.refresh_extras()
