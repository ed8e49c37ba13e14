"""The list of checks a Microsoft Graph screen shows: one row per check, its state in text
(pass, warn, FAIL, not checked) as well as in colour, and the one-line summary."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui.entra.readiness import Check, Status

STATUS_LABELS = {
    Status.PASS: "✓ pass",
    Status.WARN: "! warn",
    Status.FAIL: "✗ FAIL",
    Status.NOT_CHECKED: "? not checked",
}
WAITING = "· waiting"
CHECKING = "… checking"


def summary_text(checks: Sequence[Check]) -> str:
    """One line: how many checks ended how."""
    counts = {status: sum(c.status is status for c in checks) for status in Status}
    parts = [f"{counts[Status.PASS]} passed"]
    if counts[Status.WARN]:
        parts.append(f"{counts[Status.WARN]} warning{'s' if counts[Status.WARN] > 1 else ''}")
    if counts[Status.FAIL]:
        parts.append(f"{counts[Status.FAIL]} failed")
    if counts[Status.NOT_CHECKED]:
        parts.append(f"{counts[Status.NOT_CHECKED]} not checked")
    return f"Done: {len(checks)} checks, " + ", ".join(parts) + "."


class CheckRow(Horizontal):
    """One check: its state on the left; name, reason and fix on the right.

    The parts exist from the start, so a row mounted while the checks run (one this screen did
    not list beforehand) takes its state before it is composed.
    """

    def __init__(self, name: str) -> None:
        super().__init__(classes="-waiting")
        self.check_name = name
        self.check: Check | None = None
        self._status_part = Static(WAITING, classes="check--status", markup=False)
        self._reason_part = Static("", classes="check--reason", markup=False)
        self._fix_part = Static("", classes="check--fix", markup=False)

    def compose(self) -> ComposeResult:
        yield self._status_part
        with Vertical(classes="check--text"):
            yield Static(self.check_name, classes="check--name", markup=False)
            yield self._reason_part
            yield self._fix_part

    @property
    def status_text(self) -> str:
        return str(self._status_part.content)

    @property
    def reason_text(self) -> str:
        return str(self._reason_part.content)

    @property
    def fix_text(self) -> str:
        return str(self._fix_part.content)

    def _state(self, state: str, label: str) -> None:
        for old in ("-waiting", "-checking", *(f"-{s}" for s in Status)):
            self.remove_class(old)
        self.add_class(state)
        self._status_part.update(label)

    def waiting(self) -> None:
        self.check = None
        self._state("-waiting", WAITING)
        self._text("", "")

    def checking(self) -> None:
        self._state("-checking", CHECKING)

    def show(self, check: Check) -> None:
        self.check = check
        self._state(f"-{check.status}", STATUS_LABELS[check.status])
        fix = f"Fix: {check.fix}" if check.fix and check.status is not Status.PASS else ""
        self._text(check.reason, fix)

    def _text(self, reason: str, fix: str) -> None:
        self._reason_part.update(reason)
        self._fix_part.update(fix)
        self._fix_part.display = bool(fix)
