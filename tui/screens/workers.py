"""The one handler for work that ended in a thread: the app and every screen use it.

A class lists, per worker group, the method to call when a worker of that group ends and
what the work was; a failure is logged (with its traceback when it is a bug) and told in one
sentence, never a traceback or a secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual.worker import Worker, WorkerState

from tui.errors import UserError
from tui.project.logfile import log

ENDED = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
# In the app the CA bundle is a field of the tenant connection, not a command's option.
APP_CA_ADVICE = (
    "if a proxy inspects TLS, give its CA in the tenant connection's CA bundle field "
    "(Ctrl+K on the accounts step)."
)


def failure_sentence(
    error: BaseException | None, doing: str, outcome: str, log_file: Path | None
) -> str:
    """One sentence for work that failed; an error that is not a UserError is a bug, logged
    with its traceback. ``doing``: "Building"; ``outcome``: what was left."""
    from tui.entra.signin import UntrustedCertificate

    if isinstance(error, UserError):
        log.info("%s failed: %s", doing, error.message)
        if isinstance(error, UntrustedCertificate):
            return error.advised(APP_CA_ADVICE)
        return error.message
    if error is not None:
        log.error("%s failed", doing, exc_info=(type(error), error, error.__traceback__))
    where = f"the log file {log_file}" if log_file else "the log file"
    return f"{doing} failed unexpectedly; {outcome}. The details are in {where}."


@dataclass(frozen=True, slots=True)
class Ended:
    """What to do when a worker of one group ends: call ``handler(worker, failure)``.

    ``failure`` is the sentence for a worker that raised (None otherwise); with no
    ``doing`` a failure is expected and quiet (the handler looks at the worker itself).
    """

    handler: str
    doing: str = ""  # "Building"
    outcome: str = ""  # "no package was written"


class WorkerEnds:
    """Mixed into the app or a screen: ``WORKERS`` maps a worker group to its ``Ended``."""

    WORKERS: ClassVar[dict[str, Ended]] = {}

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        ended = self.WORKERS.get(event.worker.group)
        if ended is None or event.state not in ENDED:
            return
        failure = None
        if event.state == WorkerState.ERROR and ended.doing:
            log_file = getattr(self.app, "log_file", None)  # type: ignore[attr-defined]
            failure = failure_sentence(event.worker.error, ended.doing, ended.outcome, log_file)
        getattr(self, ended.handler)(event.worker, failure)
