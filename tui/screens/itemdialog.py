"""Modal forms with the rules: one list item (an application, a local user), or another part
of the project (the tenant connection)."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tui.screens.messages import Edited
from tui.screens.steps import owns
from tui.widgets.field import ChoiceField, Field


class FormDialog(ModalScreen[bool]):
    """A modal form editing part of the project in place, with the rules' sentences under
    its fields; Ctrl+N is refused (the problems listed) while a rule objects, Esc cancels.
    Dismisses True when done, False on cancel. Subclasses write ``compose_fields`` and
    ``problems``."""

    TITLE: ClassVar[str]
    BINDINGS = [
        Binding("ctrl+n", "done", "Done"),
        Binding("escape", "cancel", "Cancel"),
    ]

    @property
    def project(self):
        return self.app.project  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog--tall"):
            yield Static(self.TITLE, classes="dialog--title")
            with VerticalScroll(classes="dialog--form", can_focus=False):
                yield from self.compose_fields()
            yield Static("", id="problems")
        yield Footer()

    def compose_fields(self) -> ComposeResult:
        yield from ()

    def problems(self) -> list:
        """The rules' problems (``tui.project.rules.Problem``) with what this form edits."""
        raise NotImplementedError

    def recheck(self, everything: bool = False) -> None:
        """The sentence under each touched field (every field with ``everything``)."""
        by_field = {p.field: p.message for p in self.problems()}
        for field in self._fields():
            if field.touched or everything:
                field.show_problem(by_field.get(field.field))

    def _fields(self) -> list[Field | ChoiceField]:
        return [*self.query(Field), *self.query(ChoiceField)]

    def on_edited(self, message: Edited) -> None:
        self.app.changed()  # type: ignore[attr-defined]
        self.recheck()

    def action_done(self) -> None:
        problems = self.problems()
        panel = self.query_one("#problems", Static)
        if problems:
            self.recheck(everything=True)
            panel.update("\n".join(f"• {p.message}" for p in problems))
            panel.add_class("-shown")
            for field in self._fields():
                if field.field == problems[0].field:
                    field.input.focus()
                    break
            self.app.bell()
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ItemDialog(FormDialog):
    """Edits ``project.<LIST>[index]`` in place. The caller keeps a copy to restore on
    cancel."""

    LIST: ClassVar[str]

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    @property
    def item(self) -> Any:
        return getattr(self.project, self.LIST)[self.index]

    @property
    def prefix(self) -> str:
        return f"{self.LIST}[{self.index}]"

    def _checked(self):
        from tui.project.session import as_checked

        return as_checked(self.project, self.app.project_path)  # type: ignore[attr-defined]

    def problems(self) -> list:
        from tui.project.rules import validate

        found = validate(self._checked(), today=self.app.today, for_build=False)  # type: ignore[attr-defined]
        return [p for p in found if owns((self.prefix,), p.field)]

    def recheck(self, everything: bool = False) -> None:
        from tui.project.rules import check_field

        checked = self._checked()
        for field in self._fields():
            if field.touched or everything:
                problem = check_field(checked, field.field, today=self.app.today)  # type: ignore[attr-defined]
                field.show_problem(problem)


# --- a list of the project, edited item by item in its dialog ----------------------------


def selected_index(row: int, items: list) -> int | None:
    """The item under a table's cursor row, or None for an empty list."""
    return min(row, len(items) - 1) if items else None


def edit_item(screen, items: list, index: int, dialog: ItemDialog, fill, *, new: bool) -> None:
    """Open ``dialog`` on ``items[index]``; Esc takes the edit back (a new item goes)."""
    before = copy.deepcopy(items[index])

    def finished(done: bool | None) -> None:
        if not done:
            if new:
                del items[index]
            else:
                items[index] = before
        screen.app.changed()
        fill(select=min(index, max(len(items) - 1, 0)))
        screen.recheck()

    screen.app.push_screen(dialog, finished)


def remove_item(screen, items: list, index: int, fill) -> None:
    del items[index]
    screen.app.changed()
    fill(select=max(index - 1, 0))
    screen.recheck()
