"""The tenant connection: cloud, tenant, login and Graph addresses, proxy and CA bundle.

Reached from the accounts step (Ctrl+K). What it edits is ``project.connection``; the bulk
token, the tenant check and the enrollment verification all sign in with it.
"""

from __future__ import annotations

import copy

from textual.app import ComposeResult
from textual.widgets import Static

from tui.entra.connection import BULK_TOKEN_NOTES, CLOUD_NAMES, project_authority
from tui.project.model import Cloud
from tui.screens.itemdialog import FormDialog
from tui.screens.messages import Edited
from tui.widgets.field import ChoiceField, Field


class ConnectionDialog(FormDialog):
    """Edits ``project.connection`` in place; Esc puts back what was there."""

    TITLE = "Tenant connection (used by the bulk token and the Microsoft Graph checks)"

    @property
    def conn(self):
        return self.app.project.connection  # type: ignore[attr-defined]

    def compose_fields(self) -> ComposeResult:
        c = self.conn
        self._before = copy.deepcopy(c)

        def setter(name: str):
            return lambda v: setattr(c, name, v)

        yield ChoiceField(
            "Cloud",
            "connection.cloud",
            [(cloud.value, CLOUD_NAMES[cloud]) for cloud in Cloud],
            Cloud(c.cloud).value,
            apply=lambda v: setattr(c, "cloud", Cloud(v)),
            id="conn-cloud",
        )
        yield Static("", id="conn-note", classes="hint")
        yield Field(
            "Tenant (id, domain, or organizations for any)",
            "connection.tenant",
            c.tenant,
            apply=setter("tenant"),
            placeholder="e.g. contoso.onmicrosoft.com",
            id="conn-tenant",
        )
        yield Field(
            "Login address (empty: the cloud's own)",
            "connection.login_url",
            c.login_url,
            apply=setter("login_url"),
            placeholder="e.g. https://login.microsoftonline.us",
            id="conn-login",
        )
        yield Field(
            "Microsoft Graph address (empty: the cloud's own)",
            "connection.graph_url",
            c.graph_url,
            apply=setter("graph_url"),
            placeholder="e.g. https://dod-graph.microsoft.us",
            id="conn-graph",
        )
        yield Field(
            "Proxy (empty: HTTPS_PROXY, if set)",
            "connection.proxy",
            c.proxy,
            apply=setter("proxy"),
            placeholder="e.g. http://proxy:3128",
            id="conn-proxy",
        )
        yield Field(
            "CA bundle, a PEM file (empty: REQUESTS_CA_BUNDLE or the built-in list)",
            "connection.ca_bundle",
            c.ca_bundle,
            apply=setter("ca_bundle"),
            placeholder="e.g. /etc/ssl/certs/corporate-ca.pem",
            id="conn-ca",
        )
        yield Static("", id="conn-authority", classes="hint")

    def on_mount(self) -> None:
        self._show_extras()

    def _show_extras(self) -> None:
        self.query_one("#conn-note", Static).update(
            BULK_TOKEN_NOTES.get(Cloud(self.conn.cloud), "")
        )
        self.query_one("#conn-authority", Static).update(
            f"Signs in at {project_authority(self.project)}"
        )

    def problems(self) -> list:
        from tui.project.rules import validate

        found = validate(self.project, today=self.app.today, for_build=False)  # type: ignore[attr-defined]
        return [p for p in found if p.field.startswith("connection.")]

    def on_edited(self, message: Edited) -> None:
        super().on_edited(message)
        self._show_extras()

    def action_cancel(self) -> None:
        self.project.connection = self._before
        self.app.changed()  # type: ignore[attr-defined]
        self.dismiss(False)
