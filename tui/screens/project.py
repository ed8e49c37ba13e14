"""Step 1, Project: name, folder, description; owner type, rank and version under Advanced."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Collapsible, Label, Select

from tui.errors import UserError
from tui.project.model import OwnerType
from tui.project.session import DEFAULT_PARENT, default_folder
from tui.screens.messages import Edited
from tui.screens.step import StepScreen
from tui.widgets.field import Field


class ProjectScreen(StepScreen):
    STEP = "project"

    def compose_form(self) -> ComposeResult:
        p = self.project
        yield Field(
            "Name",
            "package.name",
            p.package.name,
            apply=lambda v: setattr(p.package, "name", v),
            placeholder="e.g. Contoso-Laptops",
            id="name",
        )
        yield Field(
            "Project folder (created if missing)",
            "folder",
            p.folder,
            apply=lambda v: setattr(p, "folder", v),
            placeholder=f"empty: {DEFAULT_PARENT}/<name>",
            id="folder",
        )
        yield Field(
            "Description (optional)",
            "package.description",
            p.package.description,
            apply=lambda v: setattr(p.package, "description", v),
            id="description",
        )
        with Collapsible(title="Advanced: owner type, rank, version", id="advanced"):
            yield Label("Owner type (with the rank, decides which package wins a conflict)")
            yield Select(
                [(o.value, o) for o in OwnerType],
                value=p.package.owner_type,
                allow_blank=False,
                id="owner-type",
            )
            yield Field(
                "Rank (0-99: higher wins among packages of the same owner)",
                "package.rank",
                str(p.package.rank),
                apply=self._set_rank,
                restrict=r"[0-9]*",  # no length limit: "150" stays, and the rule says why not
                id="rank",
            )
            yield Field(
                "Version",
                "package.version",
                p.package.version,
                apply=lambda v: setattr(p.package, "version", v),
                id="version",
            )

    def _set_rank(self, text: str) -> None:
        self.project.package.rank = int(text) if text else 0

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.project.package.owner_type:
            self.project.package.owner_type = OwnerType(event.value)
            self.post_message(Edited("package.owner_type"))

    def leave(self) -> bool:
        if not self.project.folder.strip():
            folder = default_folder(self.project.package.name)
            # Into the model now: the field's Changed message would come after the file is
            # settled below, which would then go to the current directory.
            self.project.folder = folder
            self.query_one("#folder", Field).input.value = folder
        try:
            self.app.settle_project_file()  # type: ignore[attr-defined]
        except UserError as exc:
            self.query_one("#folder", Field).show_problem(exc.message)
            return False
        return True
