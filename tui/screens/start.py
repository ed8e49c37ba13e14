"""Start: recent projects, new project, open a project file, import, inspect a package."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tui.project.recent import load_recent
from tui.project.session import drafts
from tui.project.tokens import days_text, token_register

INTRO = (
    "Prepare a provisioning package (.ppkg) that joins Windows devices to Entra ID "
    "(or Active Directory) during first boot, and write it to USB sticks."
)


class StartScreen(Screen):
    BINDINGS = [
        Binding("n", "new", "New project"),
        Binding("o", "open", "Open"),
        Binding("i", "import", "Import XML"),
        Binding("p", "inspect", "Inspect .ppkg"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("bulk-enroll · Windows bulk enrollment packages", id="heading")
        with Vertical(id="form"):
            yield Static(INTRO, id="intro")
            yield Static(
                "Recent projects, the bulk token that runs out first at the top (Enter opens):",
                classes="section",
            )
            yield OptionList(id="recent")
            yield Static("", id="recent-empty")
        yield Footer()

    def on_screen_resume(self) -> None:
        self.refresh_recent()

    def refresh_recent(self) -> None:
        # Resume can come before the first compose has mounted the list.
        found = self.query("#recent").results(OptionList)
        options = next(found, None)
        if options is None:
            self.call_after_refresh(self.refresh_recent)
            return
        config_dir = self.app.config_dir  # type: ignore[attr-defined]
        today = self.app.today  # type: ignore[attr-defined]
        # Soonest to run out first (tui.project.tokens); a file that cannot be read keeps its place
        # at the end, so opening it shows why.
        register = token_register(config_dir, today)
        listed = {e.project_file for e in register}
        recent = [
            Option(
                f"{e.project_file.name}  · {days_text(e)}  ({e.project_file.parent})",
                id=str(e.project_file),
            )
            for e in register
        ]
        recent += [
            Option(f"{p.name}  ({p.parent})", id=str(p))
            for p in load_recent(config_dir)
            if p.exists() and p not in listed
        ]
        recent += [
            Option(f"{name or 'Unnamed project'}  (draft: step 1 not finished)", id=str(p))
            for p, name in drafts(config_dir)
        ]
        options.clear_options()
        options.add_options(recent)
        options.display = bool(recent)
        if recent:
            options.highlighted = 0
            options.focus()
        self.query_one("#recent-empty", Static).update(
            "" if recent else "No recent projects yet: press n to start one."
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.app.open_project(Path(event.option.id))  # type: ignore[attr-defined]

    def action_new(self) -> None:
        self.app.new_project()  # type: ignore[attr-defined]

    def _pick(self, title: str, suffixes: tuple[str, ...], then) -> None:
        from tui.screens.filepicker import FilePicker

        def chosen(path: Path | None) -> None:
            if path is not None:
                then(path)

        self.app.push_screen(FilePicker(title, Path.cwd(), suffixes), chosen)

    def action_open(self) -> None:
        self._pick("Open a project file", (".toml",), self.app.open_project)  # type: ignore[attr-defined]

    def action_import(self) -> None:
        self._pick(
            "Import a WCD customizations.xml",
            (".xml",),
            self.app.import_customizations,  # type: ignore[attr-defined]
        )

    def action_inspect(self) -> None:
        self._pick("Inspect a provisioning package", (".ppkg",), self._inspect)

    def _inspect(self, path: Path) -> None:
        from tui.screens.packageview import package_view

        self.app.push_screen(package_view(path))
