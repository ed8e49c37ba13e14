"""Every message the app's screens, widgets and workers post, as dataclasses (Textual calls
``__post_init__`` of a dataclass message in place of ``Message.__init__``)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class Edited(Message):
    """A field's value was changed by the user (the model already holds it)."""

    field: str


@dataclass
class BuildProgress(Message):
    """Bytes of the package written so far, posted from the build worker."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BuildProgress)


@dataclass
class AutosaveFailed(Message):
    """The project could not be saved: one sentence saying why."""

    text: str


@dataclass
class TokenEvent(Message):
    """A step of the bulk token flow, posted from the worker thread."""

    event: object


@dataclass
class GraphEvent(Message):
    """An event of the sign-in or the checks, posted from the worker thread."""

    event: object


@dataclass
class WriteProgress(Message):
    """One stick's write, sync or verify, so far."""

    phase: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WriteProgress) and message.phase == self.phase


@dataclass
class StickProgress(Message):
    """One of several sticks written at once: its phase and bytes so far."""

    mountpoint: str
    phase: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, StickProgress)
            and message.mountpoint == self.mountpoint
            and message.phase == self.phase
        )


@dataclass
class StickDone(Message):
    """One stick's result (a ``tui.usb.write.WriteResult``)."""

    result: object
