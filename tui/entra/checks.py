"""What every Microsoft Graph check answers: a ``Check`` with a status, reason and fix.

Shared by the readiness check (``tui.entra.readiness``), the newer tenant rules
(``tui.entra.tenantrules``), the package-user checks and the enrollment verification.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum

from tui.entra.graph import GraphClient, GraphError

# What a 403 means for each check: the permission and the least-privileged roles that read it.
# Each module that defines checks adds its names here.
NEEDS: dict[str, str] = {}


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    NOT_CHECKED = "not-checked"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    reason: str
    fix: str = ""

    def to_json(self) -> dict:
        return {**asdict(self), "status": str(self.status)}


@dataclass(frozen=True, slots=True)
class Checking:
    """Progress event: this check is being read now."""

    name: str


@dataclass(frozen=True, slots=True)
class Checked:
    """Progress event: one check finished."""

    check: Check


def not_checked(name: str, error: GraphError | None = None) -> Check:
    if error is None or error.forbidden:
        return Check(
            name,
            Status.NOT_CHECKED,
            f"Not checked: the signed-in account may not read this (needs {NEEDS[name]}).",
            f"Sign in with an account that has {NEEDS[name]}, or check it in the Entra admin "
            "center.",
        )
    return unanswered(name, error, "check it in the Entra admin center")


def unanswered(name: str, error: GraphError, by_hand: str) -> Check:
    """Graph failed for a reason other than rights (throttled, down): try again or look by hand."""
    return Check(
        name,
        Status.NOT_CHECKED,
        f"Not checked: Microsoft Graph answered {error.status} {error.code}".rstrip() + ".",
        f"Try again later, or {by_hand}.",
    )


def read_or_error(call: Callable[[], dict | list]) -> dict | list | GraphError:
    """Graph's answer, or its refusal as a value (each check that needs it says so itself)."""
    try:
        return call()
    except GraphError as error:
        return error


def answered(answer: dict | list | GraphError):
    if isinstance(answer, GraphError):
        raise answer
    return answer


def run_checks(
    graph: GraphClient,
    rules: Mapping[str, Callable[[], Check]],
    emit: Callable[[object], None],
) -> list[Check]:
    """Apply each rule in order, cancellable between them: ``Checking`` then ``Checked`` per
    check; a Graph refusal makes that check "not checked"."""
    checks = []
    for name, rule in rules.items():
        graph.cancel.check()
        emit(Checking(name))
        try:
            checks.append(rule())
        except GraphError as error:
            checks.append(not_checked(name, error))
        emit(Checked(checks[-1]))
    return checks


def worst(checks: Iterable[Check]) -> Status:
    order = [Status.PASS, Status.NOT_CHECKED, Status.WARN, Status.FAIL]
    return max((c.status for c in checks), key=order.index, default=Status.PASS)


# --- plain-text form, for the command line -----------------------------------------------

LABELS = {
    Status.PASS: "pass",
    Status.WARN: "WARN",
    Status.FAIL: "FAIL",
    Status.NOT_CHECKED: "not checked",
}


def render_checks(checks: Iterable[Check]) -> str:
    """One line per check, with the fix under anything that did not pass."""
    lines = []
    for check in checks:
        lines.append(f"{LABELS[check.status]:<12}{check.name}: {check.reason}")
        if check.fix and check.status is not Status.PASS:
            lines.append(f"{'':<12}  fix: {check.fix}")
    return "\n".join(lines)


def exit_status(checks: Iterable[Check]) -> int:
    """0 when nothing failed, 1 when a check failed (2 is left for errors)."""
    return 1 if any(check.status is Status.FAIL for check in checks) else 0
