"""What a drive probe sees: one filesystem-bearing device, before deciding to offer it."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

# Mount points that mark a disk as the one the system runs from.
SYSTEM_MOUNTPOINTS = frozenset(
    {"/", "/boot", "/boot/efi", "/efi", "/usr", "/var", "/home", "[SWAP]", "C:\\"}
)


@dataclass(frozen=True, slots=True)
class BlockDevice:
    """One filesystem-bearing device as a probe saw it, before deciding whether to offer it."""

    device: str  # /dev/sdb1, /dev/disk4s1, E:\
    disk: str  # the whole disk it lives on: /dev/sdb, /dev/disk4, E:\
    mountpoint: str | None
    fstype: str = ""
    label: str = ""
    size: int = 0
    bus: str = ""  # usb, nvme, sata, sd, ... ("" when the probe cannot tell)
    removable: bool = False  # removable media or hot-pluggable
    model: str = ""
    virtual: bool = False  # loop, optical, RAM, disk image
    system: bool = False  # on the disk the running system lives on


def as_int(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def run_probe(argv: list[str]) -> bytes | None:
    """A probe tool's output, or None when it is missing or fails."""
    try:
        out = subprocess.run(argv, capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout
