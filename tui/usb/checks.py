"""What is refused before a byte is written: the package, the target, the filesystem's limits.

The rules are pure (``preflight``, ``name_problem``, ``is_fat``); ``check_package`` and
``check_target`` look at the file and the mount.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tui.errors import UserError
from tui.package.wim.header import MAGIC as WIM_MAGIC
from tui.project.names import CONTROL_CHARACTERS, FILE_NAME_FORBIDDEN, is_reserved_file_name
from tui.safefile import open_regular
from tui.usb import drives

FAT_MAX_FILE = 4 * 1024**3 - 1
FAT_FSTYPES = frozenset({"vfat", "msdos", "fat", "fat12", "fat16", "fat32", "fuse.fusefat"})
_BAD_NAME_CHARS = FILE_NAME_FORBIDDEN | CONTROL_CHARACTERS


@dataclass(frozen=True, slots=True)
class Target:
    """A mounted filesystem to write to, as found before writing."""

    mountpoint: Path
    device: str
    fstype: str
    free: int | None  # None: the filesystem does not report it
    read_only: bool
    packages: tuple[str, ...]


# --- rules (pure) ---------------------------------------------------------------------------


def is_fat(fstype: str) -> bool:
    return fstype.lower() in FAT_FSTYPES


def name_problem(name: str) -> str | None:
    """Why Windows could not read a file of this name from a stick, or None."""
    if not name or len(name) > 255:
        return "must be 1 to 255 characters long"
    bad = sorted({c for c in name if c in _BAD_NAME_CHARS})
    if bad:
        shown = " ".join(repr(c)[1:-1] for c in bad)
        return f"contains characters Windows does not allow in file names ({shown})"
    if name[-1] in ". ":
        return "ends with a dot or a space"
    if is_reserved_file_name(name):
        return "uses a name Windows reserves for devices"
    return None


def mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def preflight(name: str, size: int, target: Target, replace: bool) -> None:
    """Everything that can be refused before a byte is written."""
    where = str(target.mountpoint)
    if target.read_only:
        raise UserError(
            f"The drive {where} is read-only; move the stick's write-protect switch "
            "or remount it read-write."
        )
    problem = name_problem(name)
    if problem:
        raise UserError(f"The package name {name!r} {problem}; rename the package.")
    if is_fat(target.fstype) and size > FAT_MAX_FILE:
        raise UserError(
            f"The package is {mb(size)}, too big for the FAT32 drive {where} "
            "(at most 4 GiB per file); format the stick as exFAT or NTFS."
        )
    if target.free is not None and size > target.free:
        raise UserError(
            f"The drive {where} is full: the package needs {mb(size)} "
            f"but only {mb(target.free)} are free."
        )
    others = [p for p in target.packages if p.casefold() != name.casefold()]
    same = [p for p in target.packages if p.casefold() == name.casefold()]
    if (others or same) and not replace:
        listed = ", ".join(others + same)
        raise UserError(
            f"The drive {where} already holds {listed}; Windows would ask which package to "
            "apply, so replace them (--replace) to leave only this one there."
        )


# --- checks with I/O ------------------------------------------------------------------------


def check_package(path: Path) -> int:
    """The package's size, after making sure it is a readable .ppkg with a WIM header."""
    if path.suffix.lower() != ".ppkg":
        raise UserError(f"{path} is not a .ppkg file; Windows only applies packages named *.ppkg.")
    fd = open_regular(path, f"The package {path}")
    try:
        with open(fd, "rb") as f:
            head = f.read(len(WIM_MAGIC))
            size = os.fstat(f.fileno()).st_size
    except OSError as exc:
        raise UserError(f"The package {path} cannot be read: {exc.strerror}.") from None
    if head != WIM_MAGIC:
        raise UserError(f"{path} is not a provisioning package (it has no WIM header).")
    return size


def mount_entry(real: str):
    import psutil

    for part in psutil.disk_partitions(all=True):
        if part.mountpoint == real:
            return part
    return None


def check_target(mountpoint: str | os.PathLike, force: bool = False) -> Target:
    """The mounted filesystem at ``mountpoint``; refuses folders and the system disk."""
    try:
        return _check_target(Path(mountpoint), force)
    except OSError as exc:  # a stick failing as it is looked at (EIO), or pulled out
        raise UserError(
            f"The drive {mountpoint} cannot be checked: {exc.strerror or exc}; try another "
            "port or stick."
        ) from None


def _check_target(path: Path, force: bool) -> Target:
    if not path.is_dir():
        raise UserError(f"The drive {path} does not exist or is not a folder.")
    real = os.path.realpath(path)
    entry = mount_entry(real)
    if not force:
        if entry is None and not os.path.ismount(real):
            raise UserError(
                f"{path} is not a mounted drive; give the mount point of the USB stick "
                "(see `bulk-enroll drives`)."
            )
        if real in drives.SYSTEM_MOUNTPOINTS or os.stat(real).st_dev == os.stat("/").st_dev:
            raise UserError(f"{path} is on the system disk, not a USB stick; refusing to write.")
    read_only = "ro" in (entry.opts.split(",") if entry else [])
    if hasattr(os, "statvfs"):
        read_only = read_only or bool(os.statvfs(real).f_flag & os.ST_RDONLY)
    return Target(
        mountpoint=Path(real),
        device=entry.device if entry else "",
        fstype=entry.fstype if entry else "",
        free=drives.free_space(real),
        read_only=read_only,
        packages=drives.packages_at(real),
    )
