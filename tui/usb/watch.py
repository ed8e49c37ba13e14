"""Watching for sticks being inserted, removed or (un)mounted, by polling (no threads)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tui.usb.drives import Drive, find_drives


@dataclass(frozen=True, slots=True)
class DriveChanges:
    added: list[Drive] = field(default_factory=list)
    removed: list[Drive] = field(default_factory=list)
    changed: list[Drive] = field(default_factory=list)  # e.g. mounted, or packages differ

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def kernel_fingerprint() -> bytes | None:
    """What changes when a stick comes, goes, or is (un)mounted; None where not available."""
    try:
        return Path("/proc/partitions").read_bytes() + Path("/proc/self/mounts").read_bytes()
    except OSError:
        return None


class DriveWatcher:
    """Polls for drives being inserted, removed, or (un)mounted. No threads: call ``poll()``.

    On Linux a poll first compares /proc/partitions and the mount table and probes only when
    they changed, so polling every second or two costs two small reads.
    """

    def __init__(
        self,
        show_all: bool = False,
        *,
        lister: Callable[[bool], list[Drive]] = find_drives,
        fingerprint: Callable[[], bytes | None] = kernel_fingerprint,
    ) -> None:
        self.show_all = show_all
        self._lister = lister
        self._fingerprint = fingerprint
        self._last_print: bytes | None = None
        self.drives: dict[str, Drive] = {}

    def poll(self, force: bool = False) -> DriveChanges:
        fp = self._fingerprint()
        if not force and fp is not None and fp == self._last_print:
            return DriveChanges()
        self._last_print = fp
        now = {d.device: d for d in self._lister(self.show_all)}
        before = self.drives
        self.drives = now
        return DriveChanges(
            added=[d for k, d in now.items() if k not in before],
            removed=[d for k, d in before.items() if k not in now],
            changed=[d for k, d in now.items() if k in before and before[k] != d],
        )
