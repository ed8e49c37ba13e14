"""Cancelling a sign-in or a Graph call from any other thread, and giving up in time."""

from __future__ import annotations

import threading

from tui.errors import UserError


class CancelToken:
    """Set from any thread; every wait in the sign-in and bulk token flows watches it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile."""
        return self._event.wait(max(0.0, seconds))

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class Cancelled(UserError):
    def __init__(self) -> None:
        super().__init__("Cancelled before it finished.", code="cancelled")


class TimedOut(UserError):
    pass
