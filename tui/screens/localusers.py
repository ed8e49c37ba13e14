"""The accounts step's local users: their list and the dialog that edits one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from tui.project.localusers import LOCAL_USER_GROUPS
from tui.project.model import LocalUser
from tui.screens.itemdialog import ItemDialog
from tui.widgets.field import ChoiceField, Field, SecretField

GROUP_CHOICES = tuple((group, group.capitalize()) for group in LOCAL_USER_GROUPS)


class LocalUserDialog(ItemDialog):
    LIST = "local_users"
    TITLE = "Local user (created on every device)"

    def compose_fields(self) -> ComposeResult:
        u: LocalUser = self.item
        f = self.prefix
        yield Field(
            "User name", f"{f}.name", u.name, apply=lambda v: setattr(u, "name", v), id="user-name"
        )
        yield SecretField(
            "Password (Ctrl+R shows it)",
            f"{f}.password",
            u.password,
            apply=lambda v: setattr(u, "password", v),
            id="user-password",
        )
        # Not part of the project: only compared with the password (a typing slip would
        # otherwise lock the technician out of the device).
        yield SecretField(
            "Confirm password",
            f"{f}.password_confirmation",
            u.password,
            apply=lambda v: None,
            id="user-password-confirmation",
        )
        yield ChoiceField(
            "Group",
            f"{f}.group",
            GROUP_CHOICES,
            u.group,
            apply=lambda v: setattr(u, "group", v),
            id="user-group",
        )

    def _confirmation_problem(self) -> str | None:
        from tui.project.rules import password_confirmation

        confirm = self.query_one("#user-password-confirmation", SecretField)
        return password_confirmation(self.item.password, confirm.value)

    def problems(self) -> list:
        from tui.project.rules import Problem

        found = super().problems()
        if text := self._confirmation_problem():
            found.append(Problem(f"{self.prefix}.password_confirmation", text))
        return found

    def recheck(self, everything: bool = False) -> None:
        from tui.project.rules import warnings

        super().recheck(everything)
        confirm = self.query_one("#user-password-confirmation", SecretField)
        if confirm.touched or everything:
            confirm.show_problem(self._confirmation_problem())
        password = self.query_one("#user-password", SecretField)
        if password.touched or everything:
            notes = warnings(self._checked(), today=self.app.today)  # type: ignore[attr-defined]
            password.show_warning(" ".join(n.message for n in notes if n.field == password.field))


class UserTable(DataTable):
    """The local users; its keys show in the footer while it has the focus."""

    BINDINGS = [
        Binding("a", "screen.add_user", "Add user"),
        Binding("e", "screen.edit_user", "Edit"),
        Binding("x", "screen.remove_user", "Remove"),
    ]
