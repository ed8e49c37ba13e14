"""Step 4, Accounts: join Entra ID (bulk token) or Active Directory, and local users."""

from __future__ import annotations

from datetime import date, timedelta

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Label, Static
from textual.worker import Worker, WorkerState

from tui.project.fieldrules import MAX_TOKEN_DAYS, latest_expiry
from tui.project.logfile import log
from tui.project.model import JoinKind, LocalUser
from tui.screens.itemdialog import edit_item, remove_item, selected_index
from tui.screens.localusers import LocalUserDialog, UserTable
from tui.screens.messages import Edited, TokenEvent
from tui.screens.step import StepScreen
from tui.screens.tokensignin import SIGN_IN_CHOICES, WAITING, describe_event
from tui.screens.workers import Ended, WorkerEnds
from tui.widgets.field import ChoiceField, Field, SecretField
from tui.widgets.progress import ProgressPanel

TOKEN_DAYS_DEFAULT = MAX_TOKEN_DAYS - 1  # one day of margin
JOIN_CHOICES = (
    (JoinKind.ENTRA.value, "Entra ID"),
    (JoinKind.ACTIVE_DIRECTORY.value, "Active Directory"),
    (JoinKind.NONE.value, "No join"),
)
ISSUED_LABEL = "Bulk token valid until (the token's own date: get a new token to change it)"


def expires_label(today: date) -> str:
    latest = latest_expiry(today).isoformat()
    return f"Bulk token valid until (at most {MAX_TOKEN_DAYS} days ahead: {latest} at the latest)"


class AccountsScreen(WorkerEnds, StepScreen):
    STEP = "accounts"
    WORKERS = {"token": Ended("_token_finished", "Getting the bulk token", "nothing was changed")}
    BINDINGS = [
        Binding("ctrl+k", "connection", "Tenant"),
        Binding("ctrl+l", "check_tenant", "Check tenant"),
        Binding("ctrl+t", "get_token", "Get bulk token"),
        Binding("ctrl+g", "cancel_token", "Cancel sign-in"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._cancel = None
        self._expires_text_ok = True
        self._expires_problem: str | None = None
        # With a token issued, Ctrl+T unlocks the field for the new token's date: kept here,
        # out of the project, until the new token comes.
        self._renewing: date | None = None

    def compose_form(self) -> ComposeResult:
        p = self.project
        if p.join == JoinKind.ENTRA and p.entra.expires is None:
            p.entra.expires = self.today + timedelta(days=TOKEN_DAYS_DEFAULT)
        yield ChoiceField(
            "Join the device to", "join", JOIN_CHOICES, p.join.value, apply=self._join
        )
        with Vertical(id="entra"):
            yield Field(
                expires_label(self.today),
                "entra.expires",
                p.entra.expires.isoformat() if p.entra.expires else "",
                apply=self._set_expires,
                placeholder="YYYY-MM-DD",
                id="expires",
            )
            if self.app.browser_sign_in:  # type: ignore[attr-defined]
                yield ChoiceField(
                    "Sign in with",
                    "sign_in",
                    SIGN_IN_CHOICES,
                    self.app.sign_in_method,  # type: ignore[attr-defined]
                    apply=lambda v: setattr(self.app, "sign_in_method", v),
                    id="sign-in",
                )
            yield Static("", id="connection-status", classes="hint")
            yield Static("", id="token-status")
            yield ProgressPanel(id="token-progress")
        with Vertical(id="domain"):
            yield Static(
                "Experimental: no published CSP or real package shows how a package joins "
                "a domain; try it on a test device first.",
                id="domain-experimental",
                classes="hint",
            )
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
        yield Static("Local users", classes="section")
        yield Static("", id="admin-advice", classes="hint")
        yield UserTable(id="users", cursor_type="row", zebra_stripes=True)
        yield Static("", id="users-empty", classes="hint")

    # --- model updates --------------------------------------------------------------

    def _join(self, key: str) -> None:
        self.project.join = JoinKind(key)
        if self.project.join == JoinKind.ENTRA and self.project.entra.expires is None:
            expires = self.today + timedelta(days=TOKEN_DAYS_DEFAULT)
            self.project.entra.expires = expires
            self.query_one("#expires", Field).input.value = expires.isoformat()

    def _set_expires(self, text: str) -> None:
        if self.project.entra.bprt:
            try:  # the issued token's validity is not an edit: only the next token's date
                self._renewing = date.fromisoformat(text.strip()) if self._renewing else None
            except ValueError:
                self._renewing = date.min
            return
        from tui.project.rules import date_text_problem

        default = self.today + timedelta(days=TOKEN_DAYS_DEFAULT)
        self._expires_problem = date_text_problem("entra.expires", text, example=default)
        self._expires_text_ok = self._expires_problem is None
        if self._expires_text_ok:
            self.project.entra.expires = date.fromisoformat(text.strip()) if text.strip() else None

    # --- local users ----------------------------------------------------------------

    def form_ready(self) -> None:
        self.query_one(UserTable).add_columns("#", "User name", "Group", "Password")
        self.fill_users()
        super().form_ready()

    def fill_users(self, select: int | None = None) -> None:
        users = self.project.local_users
        table = self.query_one(UserTable)
        table.clear()
        for n, u in enumerate(users, 1):
            table.add_row(str(n), u.name, u.group, "set (hidden)" if u.password else "none")
        if select is not None and users:
            table.move_cursor(row=select)
        self.query_one("#users-empty", Static).update(
            "" if users else "No local users: Tab to the list above and press a to add one."
        )

    def _selected_user(self) -> int | None:
        return selected_index(self.query_one(UserTable).cursor_row, self.project.local_users)

    def _edit_user(self, index: int, *, new: bool) -> None:
        users = self.project.local_users
        edit_item(self, users, index, LocalUserDialog(index), self.fill_users, new=new)

    def action_add_user(self) -> None:
        self.project.local_users.append(LocalUser())
        self._edit_user(len(self.project.local_users) - 1, new=True)

    def action_edit_user(self) -> None:
        if (index := self._selected_user()) is not None:
            self._edit_user(index, new=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit_user()

    def action_remove_user(self) -> None:
        if (index := self._selected_user()) is not None:
            remove_item(self, self.project.local_users, index, self.fill_users)

    def focus_problem(self, field_id: str) -> None:
        if field_id.startswith("connection."):
            self.action_connection()
        elif field_id.startswith("local_users["):
            self.query_one(UserTable).focus()
        else:
            super().focus_problem(field_id)

    # --- checking -------------------------------------------------------------------

    def step_problems(self) -> list:
        problems = super().step_problems()
        if self.project.join == JoinKind.ENTRA and not self._expires_text_ok:
            from tui.project.rules import Problem

            problems.insert(0, Problem("entra.expires", self._expires_problem or ""))
        return problems

    def recheck(self, *, everything: bool = False) -> None:
        super().recheck(everything=everything)
        if not self._expires_text_ok:
            self.query_one("#expires", Field).show_problem(self._expires_problem)

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
        from tui.entra.connection import describe

        self.query_one("#connection-status", Static).update(describe(p))
        self._show_token()
        self.refresh_bindings()

    def _show_token(self) -> None:
        e = self.project.entra
        expires = self.query_one("#expires", Field)
        locked = bool(e.bprt) and self._renewing is None
        expires.input.disabled = locked
        expires.query_one(Label).update(ISSUED_LABEL if locked else expires_label(self.today))
        if locked and e.expires and expires.input.value != e.expires.isoformat():
            expires.input.value = e.expires.isoformat()
        status = self.query_one("#token-status", Static)
        if e.bprt and self._renewing is not None:
            status.update(
                "Type the new token's date, then press Ctrl+T to sign in; the token you have "
                f"stays valid until {e.expires} until then."
            )
        elif e.bprt:
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
        if action in ("get_token", "check_tenant", "connection"):
            # Not while the user list has the focus: its keys need the footer's room at
            # 80 columns; Tab (or Shift+Tab) away and these are back.
            in_users = isinstance(self.focused, UserTable)
            return self.project.join == JoinKind.ENTRA and not self.token_running and not in_users
        if action == "cancel_token":
            return self.token_running
        return True

    def action_connection(self) -> None:
        from tui.screens.connection import ConnectionDialog

        if self.token_running:
            return
        self.app.push_screen(ConnectionDialog(), lambda _done: self.recheck())

    def action_check_tenant(self) -> None:
        from tui.screens.tenant import TenantScreen

        self.app.push_screen(TenantScreen())

    def action_get_token(self) -> None:
        if self.token_running or self.project.join != JoinKind.ENTRA:
            return
        if self.project.entra.bprt and self._renewing is None:
            self._unlock_expiry()
            return
        from tui.entra.bulktoken import check_expiry
        from tui.entra.signin import CancelToken
        from tui.errors import UserError

        expires = self._renewing or self.project.entra.expires
        if self._renewing:
            try:
                check_expiry(None if expires == date.min else expires, self.today)
            except UserError as exc:
                self.query_one("#expires", Field).show_problem(exc.message)
                self.app.bell()
                return
        problems = [p for p in super().step_problems() if p.field == "entra.expires"]
        if not self._renewing and (problems or not self._expires_text_ok):
            self.action_next()  # shows the expiry problem the usual way
            return

        panel = self.query_one("#token-progress", ProgressPanel)
        panel.reset()
        try:
            self.app.save_before_sign_in()  # type: ignore[attr-defined]
        except UserError as exc:
            panel.fail(f"Not signing in: {exc.message}")
            return
        self._cancel = CancelToken()
        log.info("Signing in for a bulk token valid until %s", self.project.entra.expires)
        panel.step("Starting sign-in…")
        self.refresh_bindings()
        method = self.app.sign_in_method if self.app.browser_sign_in else "device_code"  # type: ignore[attr-defined]
        self._token_worker(self._cancel, method, expires)

    def _unlock_expiry(self) -> None:
        e = self.project.entra
        self._renewing = e.expires or self.today + timedelta(days=TOKEN_DAYS_DEFAULT)
        self._show_token()
        self.query_one("#expires", Field).input.focus()

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
    def _token_worker(self, cancel, method: str, expires: date) -> object:
        from tui.entra.bulktoken import fetch_bulk_token
        from tui.entra.connection import sign_in_config

        app = self.app
        options = {**app.token_options, "method": method}  # type: ignore[attr-defined]
        return fetch_bulk_token(
            app.identity or sign_in_config(self.project),  # type: ignore[attr-defined]
            expires,
            on_event=lambda event: self.post_message(TokenEvent(event)),
            cancel=cancel,
            today=self.today,
            **options,
        )

    def on_token_event(self, message: TokenEvent) -> None:
        panel = self.query_one("#token-progress", ProgressPanel)
        line = describe_event(message.event)
        if line is None:
            return
        log.info("Sign-in: %s", " ".join(line.split()))
        if panel.lines and line.startswith(WAITING) and panel.lines[-1].startswith(WAITING):
            panel.replace_last(line)
        else:
            panel.step(line)

    def _token_finished(self, worker: Worker, failure: str | None) -> None:
        self._cancel = None
        panel = self.query_one("#token-progress", ProgressPanel)
        if worker.state == WorkerState.SUCCESS:
            self._renewing = None
            worker.result.store_in(self.project.entra)
            panel.step("Bulk token received and saved in the project.")
            log.info("Bulk token received, valid until %s", self.project.entra.expires)
            self.app.save_now()  # type: ignore[attr-defined]
            self.post_message(Edited("entra.bprt"))
        elif failure is not None:
            panel.fail(failure)
        else:
            panel.fail("Cancelled; nothing was changed.")
        self.refresh_extras()
