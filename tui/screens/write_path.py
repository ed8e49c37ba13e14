"""The write step's typed mount point: Tab completes a folder as a shell does, and the path,
once checked (a mounted filesystem, not the system disk), becomes a Drive for the list."""

from __future__ import annotations

import os
from dataclasses import dataclass

SHOWN = 12  # candidates listed at most; the rest as a count


@dataclass(frozen=True, slots=True)
class Completion:
    text: str  # the field's text after Tab
    candidates: tuple[str, ...] = ()  # the folders it could still be, when more than one


def complete(text: str) -> Completion:
    """Complete the last part of ``text`` to a folder (hidden ones only when asked for with a
    leading dot): one match gets its trailing slash, several the prefix they share."""
    head, prefix = os.path.split(text)
    folder = os.path.expanduser(head) or os.curdir
    try:
        with os.scandir(folder) as it:
            names = sorted(
                e.name
                for e in it
                if e.name.startswith(prefix)
                and (prefix.startswith(".") or not e.name.startswith("."))
                and e.is_dir()
            )
    except OSError:
        names = []
    if not names:
        return Completion(text)
    if len(names) == 1:
        return Completion(os.path.join(head, names[0]) + os.sep)
    return Completion(os.path.join(head, os.path.commonprefix(names)), tuple(names))


def candidates_line(names: tuple[str, ...]) -> str:
    shown = "  ".join(names[:SHOWN])
    more = f"  … and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"Matching folders: {shown}{more}" if names else ""


def typed_drive(path: str):
    """A typed mount point as a Drive, once checked: a mounted filesystem, not the system
    disk (tui.usb.checks.check_target refuses both in one sentence)."""
    from tui.usb.checks import check_target
    from tui.usb.drives import Drive

    target = check_target(os.path.expanduser(path))
    return Drive(
        device=target.device or str(target.mountpoint),
        mountpoint=str(target.mountpoint),
        label="",
        fstype=target.fstype,
        size=0,
        free=target.free,
        is_usb=False,
        removable=False,
        packages=target.packages,
    )
