"""Step 6, Certificates: root certificates (.cer) to install on the device."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui.project.model import Certificate
from tui.screens.step import StepScreen


class CertificatesScreen(StepScreen):
    STEP = "certificates"
    BINDINGS = [
        Binding("a", "add", "Add .cer"),
        Binding("x", "remove", "Remove"),
    ]

    def compose_form(self) -> ComposeResult:
        yield Static(
            "Root certificates (.cer, DER or Base-64) installed on every device.", classes="hint"
        )
        yield DataTable(id="items", cursor_type="row", zebra_stripes=True)
        yield Static("", id="empty")

    def form_ready(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "File")
        self.fill()
        super().form_ready()
        table.focus()

    def fill(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for c in self.project.certificates:
            table.add_row(c.name, c.path)
        table.display = bool(self.project.certificates)
        self.query_one("#empty", Static).update(
            "" if self.project.certificates else "No certificates: press a to add a .cer file."
        )

    def recheck(self, *, everything: bool = False) -> None:
        super().recheck(everything=everything)
        if everything:
            self.show_problems(self.step_problems())

    def action_add(self) -> None:
        from tui.screens.filepicker import FilePicker

        def chosen(path: Path | None) -> None:
            if path is None:
                return
            self.project.certificates.append(Certificate(name=path.stem, path=str(path)))
            self.app.changed()  # type: ignore[attr-defined]
            self.fill()
            self.recheck(everything=True)

        start = Path(self.project.folder or ".").expanduser()
        self.app.push_screen(FilePicker("Add a certificate", start, (".cer", ".crt")), chosen)

    def action_remove(self) -> None:
        certs = self.project.certificates
        if not certs:
            return
        table = self.query_one(DataTable)
        del certs[min(table.cursor_row, len(certs) - 1)]
        self.app.changed()  # type: ignore[attr-defined]
        self.fill()
        self.recheck()
