"""Removable drives: which USB sticks are there, mounted where, and what they already hold.

Discovery is psutil plus one probe per OS (``probe_linux``: ``lsblk -J`` with a sysfs
fallback; ``probe_macos``: ``diskutil info -plist``; ``probe_windows``: psutil's
``removable``). Each probe's raw output is parsed by a pure function into ``BlockDevice``
records, and one rule (``offer``) decides which of them a technician may write to: never the
system disk, loop, optical or RAM devices; fixed disks only with ``show_all``. Tests feed
captured outputs to the same functions. Watching for changes is ``tui.usb.watch``.
"""

from __future__ import annotations

import os
import platform
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tui.usb.blockdevice import SYSTEM_MOUNTPOINTS, BlockDevice
from tui.usb.probe_linux import probe_linux
from tui.usb.probe_macos import probe_macos
from tui.usb.probe_windows import probe_windows

__all__ = ["SYSTEM_MOUNTPOINTS", "BlockDevice", "Drive", "find_drives", "offer", "to_drives"]


@dataclass(frozen=True, slots=True)
class Drive:
    """A drive the user may write a package to."""

    device: str
    mountpoint: str | None  # None: present but not mounted, see mount_command
    label: str
    fstype: str
    size: int  # bytes, 0 when unknown
    free: int | None  # bytes; None when not mounted or the filesystem does not say
    is_usb: bool
    removable: bool
    model: str = ""
    packages: tuple[str, ...] = ()  # .ppkg files already at the root
    mount_command: str | None = None

    @property
    def mounted(self) -> bool:
        return self.mountpoint is not None

    @property
    def title(self) -> str:
        """How the drive is named in lists: label, else model, else device."""
        return self.label or self.model or self.device

    def to_json(self) -> dict:
        return {
            "device": self.device,
            "mountpoint": self.mountpoint,
            "label": self.label,
            "fstype": self.fstype,
            "size": self.size,
            "free": self.free,
            "usb": self.is_usb,
            "removable": self.removable,
            "model": self.model,
            "packages": list(self.packages),
            "mount_command": self.mount_command,
        }


# --- the rule -------------------------------------------------------------------------------


def offer(dev: BlockDevice, show_all: bool = False) -> bool:
    """Whether a device may be listed as a write target."""
    if dev.virtual or dev.system:
        return False
    return show_all or dev.bus in {"usb", "sd"} or dev.removable


def mount_command(dev: BlockDevice, system: str) -> str:
    if system == "Darwin":
        return f"diskutil mount {dev.device}"
    return f"udisksctl mount -b {dev.device}"


# --- from devices to drives -----------------------------------------------------------------


def packages_at(mountpoint: str) -> tuple[str, ...]:
    """Names of the ``.ppkg`` files at a drive's root (case-insensitive), sorted."""
    try:
        with os.scandir(mountpoint) as it:
            names = [
                e.name
                for e in it
                if e.name.lower().endswith(".ppkg") and e.is_file(follow_symlinks=False)
            ]
    except OSError:
        return ()
    return tuple(sorted(names, key=str.lower))


def free_space(mountpoint: str) -> int | None:
    """Free bytes, or None when the filesystem does not report its size (fusefat says 0)."""
    try:
        st = os.statvfs(mountpoint) if hasattr(os, "statvfs") else None
        if st is not None:
            return st.f_bavail * st.f_frsize if st.f_blocks else None
        return shutil.disk_usage(mountpoint).free
    except OSError:
        return None


def inspect_mountpoint(mountpoint: str) -> tuple[int | None, tuple[str, ...]]:
    return free_space(mountpoint), packages_at(mountpoint)


Inspector = Callable[[str], tuple[int | None, tuple[str, ...]]]


def to_drives(
    devices: Iterable[BlockDevice],
    show_all: bool = False,
    *,
    system: str = "Linux",
    inspect: Inspector = inspect_mountpoint,
) -> list[Drive]:
    drives = []
    for dev in devices:
        if not offer(dev, show_all):
            continue
        free, packages = inspect(dev.mountpoint) if dev.mountpoint else (None, ())
        drives.append(
            Drive(
                device=dev.device,
                mountpoint=dev.mountpoint,
                label=dev.label,
                fstype=dev.fstype,
                size=dev.size,
                free=free,
                is_usb=dev.bus == "usb",
                removable=dev.removable or dev.bus in {"usb", "sd"},
                model=dev.model,
                packages=packages,
                mount_command=None if dev.mountpoint else mount_command(dev, system),
            )
        )
    return sorted(drives, key=lambda d: d.device)


def probe(system: str | None = None) -> list[BlockDevice]:
    system = system or platform.system()
    if system == "Linux":
        return probe_linux()
    if system == "Darwin":
        return probe_macos()
    if system == "Windows":
        return probe_windows()
    return []


_PSEUDO_FS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "mqueue", "overlay",
     "securityfs", "debugfs", "tracefs", "pstore", "bpf", "configfs", "fusectl", "autofs",
     "hugetlbfs", "binfmt_misc", "nsfs", "squashfs", "ramfs", "efivarfs", "rpc_pipefs"}
)  # fmt: skip
_PSEUDO_ROOTS = ("/proc", "/sys", "/dev", "/run", "/snap", "/boot")


def other_mounts(
    partitions: Iterable, devices: Iterable[BlockDevice], root_dev: int | None = None
) -> list[BlockDevice]:
    """Mounted filesystems the probe did not offer, for "all drives": loop images, FUSE
    filesystems, anything mounted by hand. Never the system disk: not a device the probe
    marked as system, not a system mount point, not on the root filesystem itself."""
    known = list(devices)
    refused = {d.device for d in known if d.system}
    offered = {d.mountpoint for d in known if not d.system and not d.virtual}
    if root_dev is None:
        root_dev = os.stat("/").st_dev
    found, seen = [], set()
    for p in partitions:
        mp = p.mountpoint
        if (
            mp in SYSTEM_MOUNTPOINTS
            or mp in offered
            or mp in seen
            or p.device in refused
            or p.fstype in _PSEUDO_FS
            or any(mp == r or mp.startswith(r + "/") for r in _PSEUDO_ROOTS)
        ):
            continue
        try:
            if not os.path.isdir(mp) or os.stat(mp).st_dev == root_dev:
                continue
        except OSError:
            continue
        seen.add(mp)
        device = p.device if p.device.startswith("/dev/") else mp
        found.append(BlockDevice(device=device, disk=device, mountpoint=mp, fstype=p.fstype))
    return found


def find_drives(show_all: bool = False) -> list[Drive]:
    """The drives of this machine a package may be written to; with ``show_all`` also fixed
    disks and every other mounted filesystem (but never the system disk)."""
    system = platform.system()
    devices = probe(system)
    found = to_drives(devices, show_all, system=system)
    if show_all and system in ("Linux", "Darwin"):
        import psutil

        listed = {d.mountpoint for d in found}
        extra = [
            d
            for d in other_mounts(psutil.disk_partitions(all=True), devices)
            if d.mountpoint not in listed
        ]
        found += to_drives(extra, show_all=True, system=system)
        # the same device twice (a loop image mounted at two places): keep the first
        unique = {}
        for d in found:
            unique.setdefault(d.device, d)
        found = list(unique.values())
    return sorted(found, key=lambda d: (not d.removable, d.device))
