"""Revoking the bulk token from the app: a y-only question, then the deletion (tui.entra.revoke)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.entra.signin import CancelToken, SignInConfig
from tui.screens.dialogs import ConfirmDialog
from tui.screens.graphscreen import EventSink, GraphScreen


class RevokeDialog(ConfirmDialog, inherit_bindings=False):
    """Deleting the package user cannot be undone from here: only y answers yes (not Enter)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes, delete it"),
        Binding("n,escape", "answer(False)", "No"),
    ]


class RevokeScreen(GraphScreen):
    """Revoke the bulk token: sign in for User.ReadWrite.All, delete the package user, record it."""

    HEADING = "Revoke the bulk token · Microsoft Graph, deletes the package user"
    INTRO = (
        "Signs in for User.ReadWrite.All (this action only) and deletes the project's package "
        "user: every stick with this package stops joining devices."
    )
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+g", "cancel", "Cancel"),
    ]

    def compose_extra(self) -> ComposeResult:
        yield Static("", id="revoke-result", markup=False)

    def call_graph(self, config: SignInConfig, on_event: EventSink, cancel: CancelToken) -> Any:
        from tui.entra.revoke import revoke_package_user

        return revoke_package_user(
            config,
            self.app.project,  # type: ignore[attr-defined]
            on_event=on_event,
            cancel=cancel,
            **self.graph_options(),
        )

    def show_result(self, result: Any) -> None:
        from tui.entra.revoke import record_revoked, result_text

        app = self.app
        record_revoked(app.project, app.today)  # type: ignore[attr-defined]
        saved = app.save_now()  # type: ignore[attr-defined]
        text = result_text(result)
        if saved is not None:
            text += " Recorded in the project: building with this token is refused."
        self.query_one("#revoke-result", Static).update(text)
        self._status("Revoked." if result.deleted else "Already revoked.")
