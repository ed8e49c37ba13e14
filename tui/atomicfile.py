"""Small files written all at once: a temporary file beside the target, then os.replace."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from tui.safefile import create_temp, output_target, remove_stale_beside

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
