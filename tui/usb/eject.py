"""Making a stick safe to pull out: unmount it, then power it off where that is possible."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Collection

from tui.errors import UserError
from tui.usb.checks import mount_entry

EJECT_TOOLS = ("udisksctl", "fusermount", "fusermount3")


def eject_command(
    mountpoint: str, device: str, fstype: str, platform: str, tools: Collection[str]
) -> list[list[str]]:
    """The commands that make a stick safe to pull out, given which of EJECT_TOOLS exist:
    the first unmounts, any next one (powering the stick off) may fail without harm."""
    if platform == "darwin":
        return [["diskutil", "eject", mountpoint]]
    if fstype.startswith("fuse"):
        fusermount = next((t for t in ("fusermount", "fusermount3") if t in tools), None)
        if fusermount:
            return [[fusermount, "-u", mountpoint]]
    elif device.startswith("/dev/") and "udisksctl" in tools:
        return [["udisksctl", "unmount", "-b", device], ["udisksctl", "power-off", "-b", device]]
    return [["umount", mountpoint]]


def eject(mountpoint: str | os.PathLike) -> str:
    """Unmount (and power off where possible) the drive; returns a sentence saying so."""
    if os.name == "nt":
        return "Use Safely Remove Hardware before pulling the stick out."
    real = os.path.realpath(mountpoint)
    entry = mount_entry(real)
    if entry is None:
        raise UserError(f"{mountpoint} is not mounted, so there is nothing to eject.")
    tools = {t for t in EJECT_TOOLS if shutil.which(t)}
    unmount, *courtesy = eject_command(real, entry.device, entry.fstype, sys.platform, tools)
    try:
        out = subprocess.run(unmount, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserError(f"Could not eject {mountpoint}: {unmount[0]} failed ({exc}).") from None
    if out.returncode != 0:
        lines = (out.stderr or out.stdout).strip().splitlines()
        reason = lines[0] if lines else f"{unmount[0]} failed"
        raise UserError(
            f"Could not eject {mountpoint} ({reason}); close anything using it and unmount "
            "it before pulling the stick out."
        )
    for argv in courtesy:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(argv, capture_output=True, timeout=60)
    return f"{mountpoint} is unmounted; the stick can be removed safely."
