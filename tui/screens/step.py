"""What every step of the procedure shares: heading, form, problem list, Next/Back keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.project.model import Project
from tui.screens.messages import Edited
from tui.screens.steplist import StepList, shown, step_marks
from tui.screens.steps import STEPS, number, owns, step
from tui.widgets.field import Field


class Form(VerticalScroll, can_focus=False):
    """The scrolling body of a step; Tab goes straight to its fields."""

    def on_mount(self) -> None:
        # The step's own Mount can come before this nested form has mounted its fields;
        # this one comes after, so the step sets itself up from here.
        screen = self.screen
        if isinstance(screen, StepScreen):
            screen.form_ready()


class StepScreen(Screen):
    """One step. Subclasses set STEP and write ``compose_form``; the rules field ids the
    step edits are its ``Step.fields`` (tui/screens/steps.py)."""

    STEP: ClassVar[str]
    BINDINGS = [
        Binding("ctrl+n", "next", "Next"),
        Binding("escape", "back", "Back"),
    ]

    @property
    def project(self) -> Project:
        project = self.app.project  # type: ignore[attr-defined]
        assert project is not None
        return project

    @property
    def checked(self) -> Project:
        """The project as the rules see it: payload paths relative to the project file."""
        from tui.project.session import as_checked

        return as_checked(self.project, self.app.project_path)  # type: ignore[attr-defined]

    @property
    def today(self):
        return self.app.today  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Static(
            f"Step {number(self.STEP)} of {len(STEPS)} · {step(self.STEP).title}",
            id="heading",
        )
        with Horizontal(id="body"):
            yield StepList(id="step-list", markup=False)
            with Form(id="form"):
                yield from self.compose_form()
        yield from self.compose_status()
        yield Static("", id="problems")
        yield Footer()

    def compose_form(self) -> ComposeResult:
        yield from ()

    def compose_status(self) -> ComposeResult:
        """Hook: widgets below the form that never scroll away (a step's own status)."""
        yield from ()

    def form_ready(self) -> None:
        """Called once the form's widgets are mounted: fill in what depends on them."""
        self.recheck()

    # --- checking -----------------------------------------------------------------

    def step_problems(self) -> list:
        from tui.project.rules import validate

        problems = validate(self.checked, today=self.today, for_build=False)
        return [p for p in problems if owns(step(self.STEP).fields, p.field)]

    def recheck(self, *, everything: bool = False) -> None:
        """Show the rule's sentence under each touched field, and refresh extras."""
        from tui.project.rules import check_field

        checked = self.checked
        for field in self.query(Field):
            if field.touched or everything:
                field.show_problem(check_field(checked, field.field, today=self.today))
        panel = self.query_one("#problems", Static)
        if panel.has_class("-shown"):
            self.show_problems(self.step_problems())
        self.refresh_extras()
        self.refresh_step_list()

    def refresh_step_list(self) -> None:
        """The marks beside the form (shown on a wide terminal only)."""
        from tui.project.rules import validate

        step_list = self.query_one(StepList)
        step_list.display = shown(self.STEP, self.app.size.width)
        if not step_list.display:
            return
        problems = validate(self.checked, today=self.today, for_build=False)
        visited = self.app.visited  # type: ignore[attr-defined]
        step_list.show(step_marks((p.field for p in problems), visited), self.STEP)

    def on_resize(self) -> None:
        self.refresh_step_list()

    def refresh_extras(self) -> None:
        """Hook: update previews and sections that depend on the model."""

    def show_problems(self, problems: list) -> None:
        panel = self.query_one("#problems", Static)
        if problems:
            lines = "\n".join(f"• {p.message}" for p in problems)
            panel.update(f"Cannot go on yet:\n{lines}")
        panel.set_class(bool(problems), "-shown")

    def on_edited(self, message: Edited) -> None:
        self.app.changed()  # type: ignore[attr-defined]
        self.recheck()

    # --- moving -------------------------------------------------------------------

    def action_next(self) -> None:
        problems = self.step_problems()
        if problems:
            self.recheck(everything=True)
            self.show_problems(problems)
            self.focus_problem(problems[0].field)
            self.app.bell()
            return
        if self.leave():
            self.app.next_step(self.STEP)  # type: ignore[attr-defined]

    def leave(self) -> bool:
        """Hook run before Next moves on; return False to stay."""
        return True

    def focus_problem(self, field_id: str) -> None:
        for field in self.query(Field):
            if field.field == field_id:
                field.input.focus()
                return

    def action_back(self) -> None:
        self.app.previous_step(self.STEP)  # type: ignore[attr-defined]
