"""The list of steps beside the form on a wide terminal (as WCD shows its steps on the left):
each step marked in text, not only colour — ``✓`` done, ``!`` has problems, ``-`` not
visited — and the current one pointed at with ``>``. The marks differ from a checkbox's
``[x]``/``[ ]``: a step is not something to tick.

A step is *visited* once shown (a reopened project counts the steps up to where it resumes);
a visited step has problems while the rules object to a field it edits; a step that edits no
field (review, write, next steps) is done once visited.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from textual.widgets import Static

from tui.screens.steps import STEPS, owns

DONE, PROBLEMS, NOT_VISITED = "✓", "!", "-"
WIDE = 100  # columns from which the list is shown; below, the form has the whole width
# Steps shown without the list: the write step's drive table needs every column for the
# mount points and their results.
FULL_WIDTH = ("write",)


def shown(step_id: str, width: int) -> bool:
    return width >= WIDE and step_id not in FULL_WIDTH


def step_marks(problem_fields: Iterable[str], visited: Collection[str]) -> dict[str, str]:
    """Each step's mark, from the fields the rules object to and the steps visited."""
    fields = list(problem_fields)
    marks = {}
    for s in STEPS:
        if s.id not in visited:
            marks[s.id] = NOT_VISITED
        elif any(owns(s.fields, f) for f in fields):
            marks[s.id] = PROBLEMS
        else:
            marks[s.id] = DONE
    return marks


LEGEND = f"{DONE} done\n{PROBLEMS} has problems\n{NOT_VISITED} not visited\n> this step"


def step_lines(marks: dict[str, str], current: str) -> str:
    steps = "\n".join(
        f"{'>' if s.id == current else ' '} {marks[s.id]} {n} {s.title}"
        for n, s in enumerate(STEPS, 1)
    )
    return f"{steps}\n\n{LEGEND}"


class StepList(Static):
    """The steps and their marks; shown from ``WIDE`` columns on."""

    def show(self, marks: dict[str, str], current: str) -> None:
        self.update(step_lines(marks, current))
