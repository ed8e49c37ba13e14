"""Step 5, Applications: installers that run silently during setup, in order."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui.project.model import Application
from tui.screens.itemdialog import ItemDialog, edit_item, remove_item, selected_index
from tui.screens.step import StepScreen
from tui.widgets.field import BoolField, Field

INSTALLERS = (".msi", ".exe", ".cmd", ".bat", ".ps1", ".msix", ".appx")


def suggested_command(file: str) -> str:
    """A silent command line for an installer, where its kind makes one obvious."""
    name = Path(file).name
    if name.lower().endswith(".msi"):
        return f'msiexec /i "{name}" /quiet /norestart'
    return ""


class ApplicationDialog(ItemDialog):
    LIST = "applications"
    TITLE = "Application (installers run as SYSTEM, silently, 30 minutes at most)"
    BINDINGS = [
        Binding("ctrl+o", "choose_file", "Choose installer"),
        Binding("ctrl+f", "add_dependency", "Add dependency"),
    ]

    def compose_fields(self) -> ComposeResult:
        a: Application = self.item
        f = self.prefix
        yield Field(
            "Name", f"{f}.name", a.name, apply=lambda v: setattr(a, "name", v), id="app-name"
        )
        yield Field(
            "Installer file (Ctrl+O to choose)",
            f"{f}.file",
            a.file,
            apply=self._set_file,
            id="app-file",
        )
        yield Field(
            "Silent command line",
            f"{f}.command_line",
            a.command_line,
            apply=lambda v: setattr(a, "command_line", v),
            placeholder='e.g. msiexec /i "app.msi" /quiet',
            id="app-command",
        )
        yield Field(
            "Return code for success",
            f"{f}.return_code_success",
            str(a.return_code_success),
            apply=lambda v: setattr(a, "return_code_success", _int(v)),
            restrict=r"-?[0-9]*",
        )
        yield Field(
            "Return code for success, restart needed",
            f"{f}.return_code_restart",
            str(a.return_code_restart),
            apply=lambda v: setattr(a, "return_code_restart", _int(v)),
            restrict=r"-?[0-9]*",
        )
        yield BoolField(
            "Restart after installing",
            f"{f}.restart_required",
            a.restart_required,
            apply=lambda v: setattr(a, "restart_required", v),
        )
        yield BoolField(
            "Continue setup if this installer fails",
            f"{f}.continue_install",
            a.continue_install,
            apply=lambda v: setattr(a, "continue_install", v),
        )
        yield Field(
            "Dependency files the installer needs (Ctrl+F adds one; separate with ;)",
            f"{f}.dependencies",
            "; ".join(a.dependencies),
            apply=lambda v: setattr(a, "dependencies", _paths(v)),
            id="app-deps",
        )

    def _set_file(self, value: str) -> None:
        # Name and command line follow the file while they still hold what it suggested.
        a: Application = self.item
        old, a.file = a.file, value
        # The model is set here too, not only through the field's Changed message: keys typed
        # ahead reach this before that message, and would stop the following.
        if a.name in ("", Path(old).stem):
            a.name = Path(value).stem
            self.query_one("#app-name", Field).input.value = a.name
        if a.command_line in ("", suggested_command(old)):
            a.command_line = suggested_command(value)
            self.query_one("#app-command", Field).input.value = a.command_line

    def _start_folder(self) -> Path:
        return Path(self.item.file).parent if self.item.file else Path(self.project.folder or ".")

    def action_choose_file(self) -> None:
        from tui.screens.filepicker import FilePicker

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.query_one("#app-file", Field).input.value = str(path)

        picker = FilePicker("Choose the installer", self._start_folder(), INSTALLERS)
        self.app.push_screen(picker, chosen)

    def action_add_dependency(self) -> None:
        from tui.screens.filepicker import FilePicker

        def chosen(path: Path | None) -> None:
            if path is not None:
                deps = self.query_one("#app-deps", Field)
                deps.input.value = "; ".join([*_paths(deps.value), str(path)])
                deps.input.focus()

        picker = FilePicker("Choose a file the installer needs", self._start_folder())
        self.app.push_screen(picker, chosen)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def _paths(text: str) -> list[str]:
    return [part.strip() for part in text.split(";")] if text.strip() else []


class ApplicationsScreen(StepScreen):
    STEP = "applications"
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("x", "remove", "Remove"),
        Binding("u", "move(-1)", "Up"),
        Binding("d", "move(1)", "Down"),
    ]

    def compose_form(self) -> ComposeResult:
        yield Static(
            "Installers run in this order during setup, as SYSTEM and silently.", classes="hint"
        )
        yield DataTable(id="items", cursor_type="row", zebra_stripes=True)
        yield Static("", id="empty")

    def form_ready(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "Name", "Installer", "Restart")
        self.fill()
        super().form_ready()
        table.focus()

    def fill(self, select: int | None = None) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for n, a in enumerate(self.project.applications, 1):
            table.add_row(str(n), a.name, Path(a.file).name, "yes" if a.restart_required else "")
        table.display = bool(self.project.applications)
        self.query_one("#empty", Static).update(
            "" if self.project.applications else "No applications: press a to add an installer."
        )
        if select is not None and self.project.applications:
            table.move_cursor(row=select)

    def _selected(self) -> int | None:
        return selected_index(self.query_one(DataTable).cursor_row, self.project.applications)

    def _edit(self, index: int, *, new: bool) -> None:
        apps = self.project.applications
        edit_item(self, apps, index, ApplicationDialog(index), self.fill, new=new)

    def action_add(self) -> None:
        self.project.applications.append(Application())
        self._edit(len(self.project.applications) - 1, new=True)

    def action_edit(self) -> None:
        if (index := self._selected()) is not None:
            self._edit(index, new=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit()

    def action_remove(self) -> None:
        if (index := self._selected()) is not None:
            remove_item(self, self.project.applications, index, self.fill)

    def action_move(self, step: int) -> None:
        apps = self.project.applications
        if (index := self._selected()) is None or not 0 <= index + step < len(apps):
            return
        apps[index], apps[index + step] = apps[index + step], apps[index]
        self.app.changed()  # type: ignore[attr-defined]
        self.fill(select=index + step)
