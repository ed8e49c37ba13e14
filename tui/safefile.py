"""Files at the edges: inputs that are only ever regular files, outputs that only ever replace
regular files, and the temporary files an interrupted save, build or write leaves behind.

Inputs: a path is stat'ed before it is opened, and opened with O_NONBLOCK, so a FIFO or a
device is refused at once instead of blocking or reading without end; its size is checked
against a limit before a byte is read.

Outputs: a device, FIFO, socket or folder at the output path is refused. A symlink is
followed: the file it points to is replaced atomically (a temporary file beside it, then a
rename) and the link itself is kept.

Temporary files: each is created under an exclusive flock() that its writer holds until it
is renamed or removed. The next save, build or write removes the temporary files of its own
recognisable name pattern in that folder whose lock it can take without waiting, i.e. whose
writer is gone (the kernel drops a killed process's locks). A file that is still empty and
new may be one another process has just created and not yet locked, so it is left for an
hour. Where there is no flock (Windows) only files older than a day count as stale.
See docs/project-file.md ("Saving").
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from tui.errors import UserError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

EMPTY_GRACE_SECONDS = 3600
NO_LOCK_STALE_SECONDS = 86400
_MKSTEMP_NAME = "[a-z0-9_]{8}"  # tempfile's random part: 8 of [a-z0-9_]


# --- inputs -------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_regular(label: str, mode: int) -> UserError:
    if stat.S_ISDIR(mode):
        return UserError(f"{label} is a folder, not a file.")
    return UserError(f"{label} is {_kind(mode)}, not a regular file, so it is not read.")


def _size_text(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def check_regular(path: str | os.PathLike[str], label: str, limit: int | None = None) -> int:
    """The size of a regular file at ``path`` (links followed); UserError for anything else."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{label} does not exist.") from None
    except OSError as exc:
        raise UserError(f"{label} cannot be read: {exc.strerror or exc}.") from None
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(label, st.st_mode)
    if limit is not None and st.st_size > limit:
        raise UserError(
            f"{label} is larger than {_size_text(limit)}, the limit for such a file; "
            "it is not read."
        )
    return st.st_size


def open_regular(path: str | os.PathLike[str], label: str) -> int:
    """A descriptor of a regular file; opening never blocks, whatever ``path`` names."""
    check_regular(path, label)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UserError(f"{label} cannot be read: {exc.strerror or exc}.") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):  # swapped for something else since the stat
        os.close(fd)
        raise _not_regular(label, mode)
    return fd


def read_regular(
    path: str | os.PathLike[str], limit: int, label: str, *, whole: bool = True
) -> bytes:
    """A regular file's content, at most ``limit`` bytes: the whole file (refused when larger)
    or, with ``whole=False``, its first ``limit`` bytes."""
    if whole:
        check_regular(path, label, limit)
    fd = open_regular(path, label)
    try:
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1 if whole else limit)
    except OSError as exc:
        raise UserError(f"{label} cannot be read: {exc.strerror or exc}.") from None
    if len(data) > limit and whole:
        raise UserError(
            f"{label} is larger than {_size_text(limit)}, the limit for such a file; "
            "it is not read."
        )
    return data


# --- outputs ------------------------------------------------------------------------------


def output_target(path: str | os.PathLike[str], label: str) -> Path:
    """The file an output at ``path`` replaces: ``path``, or what a symlink there points to.

    Only a regular file (or nothing) is ever replaced."""
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real
    except OSError as exc:
        raise UserError(f"{label} cannot be checked: {exc.strerror or exc}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserError(f"{label} is a folder; give a file name.")
    if not stat.S_ISREG(st.st_mode):
        raise UserError(
            f"{label} is {_kind(st.st_mode)}, not a regular file; refusing to replace it."
        )
    return real


# --- temporary files ----------------------------------------------------------------------


def temp_pattern(prefix: str, suffix: str) -> re.Pattern[str]:
    """The names mkstemp gives with this prefix and suffix, and no others."""
    return re.compile(re.escape(prefix) + _MKSTEMP_NAME + re.escape(suffix))


def lock(fd: int) -> None:
    """Mark a temporary file as in use for as long as this process holds ``fd``."""
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a filesystem without locks: age decides
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def create_temp(directory: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new owner-only temporary file, locked as in use (see the module docstring)."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=prefix, suffix=suffix)
    lock(fd)
    return fd, Path(name)


def is_stale(fd: int, now: float) -> bool:
    """Whether the temporary file open at ``fd`` belongs to no live writer."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return False
    age = now - st.st_mtime
    if fcntl is None:
        return age > NO_LOCK_STALE_SECONDS
    if st.st_size == 0 and age < EMPTY_GRACE_SECONDS:
        return False  # perhaps created a moment ago, its lock not yet taken
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # its writer is alive
    return True


def remove_stale_temps(
    names: Iterable[str], pattern: re.Pattern[str], dir_fd: int | None, directory: Path
) -> list[str]:
    """Remove the stale temporary files among ``names`` that match ``pattern`` (see
    is_stale); returns the names removed. ``dir_fd`` (or ``directory``) is their folder."""
    removed = []
    now = time.time()
    for name in names:
        if not pattern.fullmatch(name):
            continue
        at = name if dir_fd is not None else str(directory / name)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(at, flags, dir_fd=dir_fd)
        except OSError:
            continue
        try:
            if is_stale(fd, now):
                os.unlink(at, dir_fd=dir_fd)
                removed.append(name)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def remove_stale_beside(target: Path, prefix: str, suffix: str) -> list[str]:
    """Remove stale temporary files named ``prefix``XXXXXXXX``suffix`` beside ``target``."""
    try:
        names = os.listdir(target.parent)
    except OSError:
        return []
    return remove_stale_temps(names, temp_pattern(prefix, suffix), None, target.parent)


# Small files written all at once: a temporary file beside the target, then os.replace.

TEMP_SUFFIX = ".tmp"


def temp_prefix(target: Path) -> str:
    return f".{target.name}."


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, owner-only (0600): the project file and the WCD export
    hold the bulk token and passwords. A failure (OSError) leaves the old file as it was and
    no temporary file behind; the stale temporary files of an interrupted earlier write are
    removed first. Only a regular file is replaced (UserError otherwise); through a symlink,
    the file it points to is replaced and the link kept."""
    target = output_target(path, f"'{path}'")
    remove_stale_beside(target, temp_prefix(target), TEMP_SUFFIX)
    fd, tmp = create_temp(target.parent, temp_prefix(target), TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if os.name == "posix":
                os.replace(tmp, target)  # with the lock held, so never taken for stale
        if os.name != "posix":
            os.replace(tmp, target)  # Windows renames no open file
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable, where the platform lets a directory be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # the data is already synced
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
