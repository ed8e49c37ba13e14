"""Writing a package to the root of a USB stick so that it is either all there, or not at all.

The order: check the package, the target and the filesystem's limits; write to a temporary
name in the root; read the temporary file back from the stick, comparing SHA-256; fsync;
only then rename it onto the final name and fsync the directory. Verifying *before* the
rename means a bad write never replaces a good package already on the stick.

Where the filesystem allows it (Linux), the read-back bypasses the page cache (``O_DIRECT``):
each part is read from the stick as soon as its writeback has finished, while the stick is
still writing the parts after it, and no cached copy can stand in for what the stick holds.
Elsewhere (macOS, Windows, a filesystem refusing O_DIRECT) it is the classic sequence:
fsync, drop the cache, read all.

All file operations go through a descriptor of the stick's root directory (POSIX), so a stick
that is unmounted midway is noticed (the path now names another filesystem) and the temporary
file is still removed from the stick itself. The checks before writing are in
``tui.usb.checks``, several sticks at once in ``tui.usb.batch``, ejecting in ``tui.usb.eject``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import mmap
import os
import re
import secrets
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tui.errors import UserError
from tui.safefile import lock, open_regular, remove_stale_temps
from tui.usb import drives
from tui.usb.checks import check_package, check_target, mb, preflight

CHUNK = 4 * 1024 * 1024
TEMP_PREFIX = ".bulk-enroll-"
TEMP_SUFFIX = ".partial"
_VANISHED = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.ENOTCONN, errno.EBADF}


@dataclass(frozen=True, slots=True)
class Progress:
    phase: Literal["write", "sync", "verify"]  # sync: the final flush to the stick
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class WriteResult:
    mountpoint: str
    path: str  # the package on the stick
    size: int
    sha256: str
    removed: tuple[str, ...] = ()  # other packages removed from the root (replace=True)


# --- the write ------------------------------------------------------------------------------


class _Root:
    """The stick's root directory, held open so every operation lands on that filesystem."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY) if os.name == "posix" else None
        self.dev = os.fstat(self.fd).st_dev if self.fd is not None else os.stat(path).st_dev

    def at(self, name: str) -> str:
        return name if self.fd is not None else str(self.path / name)

    def open(self, name: str, flags: int, mode: int = 0o600) -> int:
        return os.open(self.at(name), flags | getattr(os, "O_BINARY", 0), mode, dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        os.unlink(self.at(name), dir_fd=self.fd)

    def rename(self, src: str, dst: str) -> None:
        os.replace(self.at(src), self.at(dst), src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def names(self) -> list[str]:
        return os.listdir(self.fd if self.fd is not None else self.path)

    def fsync(self) -> None:
        if self.fd is None:
            return
        try:
            os.fsync(self.fd)
        except OSError as exc:
            if exc.errno not in {errno.EINVAL, errno.ENOTSUP, errno.EBADF}:
                raise

    def still_mounted(self) -> bool:
        try:
            return os.stat(self.path).st_dev == self.dev
        except OSError:
            return False

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def _full_sync(fd: int) -> None:
    if sys.platform == "darwin":
        import fcntl

        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)  # fsync alone leaves data in the drive's cache
    else:
        os.fsync(fd)


def _drop_cache(fd: int) -> None:
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    elif sys.platform == "darwin":
        import fcntl

        fcntl.fcntl(fd, fcntl.F_NOCACHE, 1)


def _start_writeback(fd: int, offset: int, length: int) -> None:
    """Have the kernel start writing a chunk to the stick now (Linux: DONTNEED starts
    writeback of dirty pages without waiting), so the stick works while the rest is copied
    instead of idling until the fsync."""
    if sys.platform.startswith("linux"):
        os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


class _Sha256InBackground:
    """SHA-256 fed on a worker thread, so hashing overlaps the I/O (hashlib drops the GIL).

    A few chunks may wait for the worker (bounded memory); chunks must be immutable bytes.
    """

    BACKLOG = 4

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256")
        self._pending: deque[Future] = deque()

    def update(self, chunk: bytes) -> None:
        if len(self._pending) >= self.BACKLOG:
            self._pending.popleft().result()
        self._pending.append(self._worker.submit(self._digest.update, chunk))

    def hexdigest(self) -> str:
        while self._pending:
            self._pending.popleft().result()
        return self._digest.hexdigest()

    def __enter__(self) -> _Sha256InBackground:
        return self

    def __exit__(self, *exc: object) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)


def _copy(src: Path, fd: int, where: Path, total: int, progress: ProgressCallback | None) -> str:
    """Write ``src`` to ``fd``, starting the stick's writeback chunk by chunk; no fsync."""
    done = 0
    with (
        _Sha256InBackground() as digest,
        open(open_regular(src, f"The package {src}"), "rb", buffering=0) as f,
    ):
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[_write(fd, view, where, done, total) :]
            _start_writeback(fd, done, len(chunk))
            done += len(chunk)
            if progress:
                progress(Progress("write", done, total))
        hexdigest = digest.hexdigest()
    if done != total:
        raise UserError(f"The package {src} changed while it was being written; try again.")
    return hexdigest


def _write(fd: int, data: memoryview, where: Path, done: int, total: int) -> int:
    try:
        return os.write(fd, data)
    except OSError as exc:
        if exc.errno in {errno.EPERM, errno.EACCES}:
            # The file was created, so this is not about permissions: fusefat, for one,
            # answers EPERM when it runs out of clusters.
            raise UserError(
                f"The drive {where} stopped accepting data after {mb(done)} of "
                f"{mb(total)}; it is probably full."
            ) from None
        raise


def _verify(root: _Root, name: str, fd: int, total: int, progress: ProgressCallback | None) -> str:
    """The SHA-256 of the temporary file as read back from the stick, which is fsynced by the
    time this returns (``fd`` is the writer's descriptor)."""
    direct = _open_direct(root, name)
    digest = None
    if direct is not None:
        try:
            digest = _read_direct(direct, total, progress)
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # a filesystem that opens O_DIRECT but cannot read so
                raise
        finally:
            os.close(direct)
    _sync(fd, total, progress)
    if digest is None:
        _drop_cache(fd)
        digest = _read_back(root, name, total, progress)
    return digest


def _sync(fd: int, total: int, progress: ProgressCallback | None) -> None:
    if progress:
        progress(Progress("sync", total, total))
    _full_sync(fd)


def _open_direct(root: _Root, name: str) -> int | None:
    """A descriptor reading past the page cache, or None where the filesystem cannot."""
    if not hasattr(os, "O_DIRECT"):
        return None
    try:
        return root.open(name, os.O_RDONLY | os.O_DIRECT)
    except OSError as exc:
        if exc.errno in {errno.EINVAL, errno.EOPNOTSUPP}:
            return None
        raise


def _read_direct(fd: int, total: int, progress: ProgressCallback | None) -> str:
    # A direct read of a range first waits for that range's writeback, so each part is read
    # as soon as it is on the stick. The buffer is page-aligned (mmap), as O_DIRECT needs;
    # reading a whole chunk at the end of the file returns what is there.
    digest = hashlib.sha256()
    done = 0
    with mmap.mmap(-1, CHUNK) as buffer, memoryview(buffer) as view:
        while n := os.preadv(fd, [buffer], done):
            digest.update(view[:n])
            done += n
            if progress:
                progress(Progress("verify", done, total))
    return digest.hexdigest()


def _read_back(root: _Root, name: str, total: int, progress: ProgressCallback | None) -> str:
    done = 0
    fd = root.open(name, os.O_RDONLY)
    try:
        _drop_cache(fd)
        with _Sha256InBackground() as digest:
            while chunk := os.read(fd, CHUNK):
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(Progress("verify", done, total))
            return digest.hexdigest()
    finally:
        os.close(fd)


def _explain(exc: OSError, where: Path, size: int) -> UserError:
    code = exc.errno
    if code in {errno.ENOSPC, errno.EDQUOT}:
        return UserError(f"The drive {where} is full: the package ({mb(size)}) does not fit.")
    if code == errno.EFBIG:
        return UserError(f"The package ({mb(size)}) is too big for the filesystem on {where}.")
    if code == errno.EROFS:
        return UserError(f"The drive {where} is read-only; nothing was written.")
    if code in {errno.EACCES, errno.EPERM}:
        return UserError(f"Cannot write to the drive {where}: permission denied.")
    if code in _VANISHED:
        return _vanished(where)
    if code == errno.EIO:
        return UserError(
            f"The drive {where} reported an input/output error; the stick may be failing "
            "or was pulled out."
        )
    return UserError(f"Writing to the drive {where} failed: {exc.strerror or exc}.")


def _vanished(where: Path) -> UserError:
    return UserError(
        f"The package being written to {where} vanished before it was complete (stick "
        "removed or unmounted, or the file deleted); write it again."
    )


_TEMP_NAME = re.compile(re.escape(TEMP_PREFIX) + "[0-9a-f]{12}" + re.escape(TEMP_SUFFIX))


def _remove_stale_temps(root: _Root) -> list[str]:
    """The temporary files of interrupted writes, whose writer is gone (tui.safefile)."""
    return remove_stale_temps(root.names(), _TEMP_NAME, root.fd, root.path)


def write_package(
    package: str | os.PathLike,
    mountpoint: str | os.PathLike,
    *,
    replace: bool = False,
    force: bool = False,
    progress: ProgressCallback | None = None,
    before_verify: Callable[[Path], None] | None = None,
) -> WriteResult:
    """Write ``package`` to the root of the drive at ``mountpoint`` and verify it.

    Returns only after the copy read back from the drive matched; raises UserError otherwise,
    leaving any package that was on the drive as it was and no temporary file behind.
    ``replace`` allows overwriting a same-named package and removes other packages at the
    root after the new one is verified. ``force`` allows a folder that is not a mount point,
    or the system disk. ``before_verify`` is a test seam, called with the temporary file's
    path between the write and the read-back.
    """
    src = Path(package)
    size = check_package(src)
    target = check_target(mountpoint, force)
    where = target.mountpoint
    name = src.name
    temp = f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
    try:
        root = _Root(where)
    except OSError as exc:
        raise _explain(exc, where, size) from None
    try:
        try:
            # Before the space check: an interrupted write's temporary file takes the space.
            if _remove_stale_temps(root):
                target = dataclasses.replace(target, free=drives.free_space(str(where)))
            preflight(name, size, target, replace)
            fd = root.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            try:
                lock(fd)  # held until the rename: a later write knows this file is in use
                digest = _copy(src, fd, where, size, progress)
                if not root.still_mounted():
                    raise _vanished(where)
                if before_verify:
                    before_verify(where / temp)
                if _verify(root, temp, fd, size, progress) != digest:
                    raise UserError(
                        f"Verification failed on {where}: the package read back differs from "
                        "the one written; the stick may be faulty, try another one."
                    )
                if not root.still_mounted():
                    raise _vanished(where)
                root.rename(temp, name)
            finally:
                os.close(fd)
            root.fsync()
        except BaseException as exc:
            with contextlib.suppress(OSError):
                root.unlink(temp)
            if isinstance(exc, OSError):
                raise _explain(exc, where, size) from None
            raise
        removed = _remove_other_packages(root, name) if replace else ()
    finally:
        root.close()
    return WriteResult(str(where), str(where / name), size, digest, removed)


def _remove_other_packages(root: _Root, keep: str) -> tuple[str, ...]:
    removed = []
    present = drives.packages_at(str(root.path))
    for other in present:
        # On FAT, "A.PPKG" may be the entry the new "a.ppkg" was renamed onto: it is a
        # different file only where both spellings are listed (a case-sensitive filesystem).
        if other != keep and (other.casefold() != keep.casefold() or keep in present):
            try:
                root.unlink(other)
                removed.append(other)
            except OSError as exc:
                raise UserError(
                    f"The package was written and verified, but the old package {other} on "
                    f"{root.path} could not be removed: {exc.strerror}."
                ) from None
    if removed:
        root.fsync()
    return tuple(removed)
