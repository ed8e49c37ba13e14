"""Payload files for the WIM writer: large ones streamed into the WIM while being hashed,
small ones read whole; either is refused if the file changes meanwhile.

The data goes file to file inside the kernel (copy_file_range) while other threads hash it
from the page cache: a plain Python read/write loop costs more than twice a kernel copy.
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from tui.errors import UserError

COPY_BUFFER = 1 << 20


def copy_hashed(
    out: BinaryIO, path: Path, want_sha256: bool, advance: Callable[[int], None]
) -> tuple[bytes, int, bytes | None]:
    """Stream a file into out; its SHA-1 (and SHA-256 if asked), and its size."""
    try:
        src = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
        before = os.fstat(src.fileno())
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    hashers = [hashlib.sha1()] + ([hashlib.sha256()] if want_sha256 else [])
    stop = threading.Event()
    with src, ThreadPoolExecutor(len(hashers)) as pool:
        hashed = [pool.submit(_hash_file, path, h, before.st_size, stop) for h in hashers]
        try:
            copied = _copy_data(src, out, before.st_size, advance)
        except BaseException:
            stop.set()
            raise
        sizes = [f.result() for f in hashed]
    try:
        after = os.stat(path)
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    same = (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    if not same or any(n != copied for n in sizes):
        raise UserError(f"The file '{path}' changed while the package was being built.")
    sha256 = hashers[1].digest() if want_sha256 else None
    return hashers[0].digest(), copied, sha256


def read_small(path: Path, limit: int, advance: Callable[[int], None]) -> bytes:
    """A payload of at most limit bytes, whole; refused if it changes meanwhile."""
    try:
        with open(path, "rb", buffering=0) as src:
            before = os.fstat(src.fileno())
            data = src.read(limit + 1)
        advance(len(data))
        after = os.stat(path)
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    same = (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    if not same or len(data) != before.st_size:
        raise UserError(f"The file '{path}' changed while the package was being built.")
    return data


def _hash_file(path: Path, digest, limit: int, stop: threading.Event) -> int:
    buffer = bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    size = 0
    try:
        with open(path, "rb", buffering=0) as f:
            while size < limit and not stop.is_set() and (n := f.readinto(buffer)):
                n = min(n, limit - size)
                digest.update(view[:n])  # hashlib lets go of the GIL for large updates
                size += n
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    return size


def _copy_data(src, out: BinaryIO, limit: int, advance: Callable[[int], None]) -> int:
    """Append src's first limit bytes to out; in the kernel where possible. Returns bytes copied.

    Never more than limit: a file that grows while it is copied must not make this endless.
    """
    out.flush()
    start = out.tell()
    copied = 0
    try:
        out_fd = out.fileno()
    except (OSError, ValueError):  # not a real file (e.g. io.BytesIO)
        out_fd = None
    if out_fd is not None and hasattr(os, "copy_file_range"):
        try:
            while copied < limit and (
                n := os.copy_file_range(
                    src.fileno(),
                    out_fd,
                    min(COPY_RANGE, limit - copied),
                    offset_src=copied,
                    offset_dst=start + copied,
                )
            ):
                copied += n
                advance(n)
            out.seek(start + copied)
            return copied
        except OSError as e:
            if e.errno not in _NO_KERNEL_COPY:
                raise _read_or_write_error(src, e, copied) from e
    out.seek(start + copied)
    src.seek(copied)
    buffer = bytearray(COPY_BUFFER)
    view = memoryview(buffer)
    while copied < limit:
        try:
            n = src.readinto(view[: min(COPY_BUFFER, limit - copied)])
        except OSError as e:
            raise UserError(f"Cannot read '{src.name}': {e.strerror or e}.") from e
        if not n:
            break
        out.write(view[:n])  # write errors propagate as OSError for the caller to report
        copied += n
        advance(n)
    return copied


COPY_RANGE = 8 << 20
HASH_BUFFER = 256 << 10
# copy_file_range cannot do this pair of files: fall back to reading and writing.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ETXTBSY}


def _read_or_write_error(src, e: OSError, copied: int) -> Exception:
    """copy_file_range does not say which side failed: find out by reading the source."""
    try:
        os.pread(src.fileno(), 1, copied)
    except OSError as read_error:
        return UserError(f"Cannot read '{src.name}': {read_error.strerror or read_error}.")
    return e  # a write error (disk full, ...): OSError, reported by the caller


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
