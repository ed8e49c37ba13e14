"""The Windows probe: psutil partitions, whose ``opts`` say removable, fixed or cdrom."""

from __future__ import annotations

import os
from collections.abc import Sequence

from tui.usb.blockdevice import BlockDevice


def parse_windows_partitions(partitions: Sequence, system_drive: str = "C:") -> list[BlockDevice]:
    """psutil partitions on Windows: opts holds ``removable``, ``fixed`` or ``cdrom``."""
    found = []
    for p in partitions:
        opts = set(p.opts.split(","))
        system = p.mountpoint.rstrip("\\").upper() == system_drive.rstrip("\\").upper()
        found.append(
            BlockDevice(
                device=p.device,
                disk=p.device,
                mountpoint=p.mountpoint or None,
                fstype=p.fstype,
                removable="removable" in opts,
                virtual="cdrom" in opts or not p.fstype,
                system=system,
            )
        )
    return found


def probe_windows() -> list[BlockDevice]:
    import psutil

    system_drive = os.environ.get("SYSTEMDRIVE", "C:")  # case-insensitive on Windows
    return parse_windows_partitions(psutil.disk_partitions(all=False), system_drive)
