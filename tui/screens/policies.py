"""The Device step's Policies group: one three-way choice per optional policy of the
catalogue (``tui.wcd.catalogue.policy_rows``), so a policy needs a row and a model field
and nothing here. "Not set" (None) leaves the policy out of the package."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.project.model import Project
from tui.wcd.catalogue import Row, policy_rows
from tui.widgets.field import ChoiceField

NOT_SET = "Not set"
KEYS = {"unset": None, "true": True, "false": False}


def words(row: Row) -> tuple[str, str]:
    """The words for True and False: an Allow… policy allows or blocks, others are yes/no."""
    name = row.shape.rsplit("/", 1)[1]
    return ("Allow", "Block") if name.startswith("Allow") else ("Yes", "No")


def shown(row: Row, value: bool | None) -> str:
    """How the app shows the policy's value."""
    return NOT_SET if value is None else words(row)[0 if value else 1]


def choices(row: Row) -> tuple[tuple[str, str], ...]:
    return tuple((key, shown(row, value)) for key, value in KEYS.items())


def key_of(value: bool | None) -> str:
    return next(key for key, v in KEYS.items() if v is value)


def policy_id(row: Row) -> str:
    return "policy-" + row.field.replace("_", "-")


def compose_policies(project: Project) -> ComposeResult:
    yield Static("Policies", classes="section", id="policies")
    yield Static("Not set leaves a policy out of the package (Windows' default).", classes="hint")
    for row in policy_rows():
        yield ChoiceField(
            row.label,
            row.field,
            choices(row),
            key_of(getattr(project, row.field)),
            apply=lambda key, field=row.field: setattr(project, field, KEYS[key]),
            id=policy_id(row),
        )


def summary_rows(project: Project) -> list[tuple[str, str]]:
    """The review summary's rows for the policies the package carries."""
    return [
        ("Policy", f"{row.label}: {shown(row, value)}")
        for row in policy_rows()
        if (value := getattr(project, row.field)) is not None
    ]
