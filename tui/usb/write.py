"""Writing a package to the root of a USB stick so that it is either all there, or not at all.

The order: check the package, the target and the filesystem's limits; write to a temporary
name in the root; fsync; drop the cache and read the temporary file back, comparing SHA-256;
only then rename it onto the final name and fsync the directory. Verifying *before* the
rename means a bad write never replaces a good package already on the stick.

All file operations go through a descriptor of the stick's root directory (POSIX), so a stick
that is unmounted midway is noticed (the path now names another filesystem) and the temporary
file is still removed from the stick itself.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tui.errors import UserError
from tui.package.wim.header import MAGIC as WIM_MAGIC
from tui.safefile import lock, open_regular, remove_stale_temps
from tui.usb import drives

CHUNK = 4 * 1024 * 1024
FAT_MAX_FILE = 4 * 1024**3 - 1
FAT_FSTYPES = frozenset({"vfat", "msdos", "fat", "fat12", "fat16", "fat32", "fuse.fusefat"})
TEMP_PREFIX = ".bulk-enroll-"
TEMP_SUFFIX = ".partial"
_BAD_NAME_CHARS = frozenset('<>:"/\\|?*') | {chr(c) for c in range(32)}
_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)]
)
_VANISHED = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.ENOTCONN, errno.EBADF}


@dataclass(frozen=True, slots=True)
class Progress:
    phase: Literal["write", "sync", "verify"]  # sync: waiting for the stick to take it all
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True, slots=True)
class Target:
    """A mounted filesystem to write to, as found before writing."""

    mountpoint: Path
    device: str
    fstype: str
    free: int | None  # None: the filesystem does not report it
    read_only: bool
    packages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WriteResult:
    mountpoint: str
    path: str  # the package on the stick
    size: int
    sha256: str
    removed: tuple[str, ...] = ()  # other packages removed from the root (replace=True)


@dataclass(frozen=True, slots=True)
class StickResult:
    mountpoint: str
    result: WriteResult | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


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
    if name.split(".")[0].upper() in _RESERVED_NAMES:
        return "uses a name Windows reserves for devices"
    return None


def _mb(n: int) -> str:
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
            f"The package is {_mb(size)}, too big for the FAT32 drive {where} "
            "(at most 4 GiB per file); format the stick as exFAT or NTFS."
        )
    if target.free is not None and size > target.free:
        raise UserError(
            f"The drive {where} is full: the package needs {_mb(size)} "
            f"but only {_mb(target.free)} are free."
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


def _mount_entry(real: str):
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
    entry = _mount_entry(real)
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


def _copy(src: Path, root: _Root, name: str, total: int, progress: ProgressCallback | None) -> str:
    done = 0
    fd = root.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    lock(fd)  # held until the rename: a later write knows this temporary file is in use
    try:
        with (
            _Sha256InBackground() as digest,
            open(open_regular(src, f"The package {src}"), "rb", buffering=0) as f,
        ):
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[_write(fd, view, root.path, done, total) :]
                done += len(chunk)
                if progress:
                    progress(Progress("write", done, total))
            if progress:
                progress(Progress("sync", done, total))
            _full_sync(fd)
            _drop_cache(fd)
            hexdigest = digest.hexdigest()
    finally:
        os.close(fd)
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
                f"The drive {where} stopped accepting data after {_mb(done)} of "
                f"{_mb(total)}; it is probably full."
            ) from None
        raise


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
        return UserError(f"The drive {where} is full: the package ({_mb(size)}) does not fit.")
    if code == errno.EFBIG:
        return UserError(f"The package ({_mb(size)}) is too big for the filesystem on {where}.")
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
            digest = _copy(src, root, temp, size, progress)
            if not root.still_mounted():
                raise _vanished(where)
            if before_verify:
                before_verify(where / temp)
            if _read_back(root, temp, size, progress) != digest:
                raise UserError(
                    f"Verification failed on {where}: the package read back differs from "
                    "the one written; the stick may be faulty, try another one."
                )
            if not root.still_mounted():
                raise _vanished(where)
            root.rename(temp, name)
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


class Cancelled(Exception):
    """Raised inside a stick's write when ``write_to_sticks`` is told to stop."""


def _one_stick(
    package: str | os.PathLike,
    mp: str,
    *,
    replace: bool,
    force: bool,
    progress: ProgressCallback,
) -> StickResult:
    try:
        result = write_package(package, mp, replace=replace, force=force, progress=progress)
    except UserError as exc:
        return StickResult(mp, error=exc.message)
    except Cancelled:
        return StickResult(mp, error=f"The write to {mp} was cancelled; nothing was left on it.")
    except OSError as exc:  # whatever else a failing stick raises: the others go on
        return StickResult(mp, error=f"{mp}: {exc.strerror or exc}.")
    return StickResult(mp, result=result)


def write_to_sticks(
    package: str | os.PathLike,
    mountpoints: Sequence[str | os.PathLike],
    *,
    replace: bool = False,
    force: bool = False,
    jobs: int | None = None,
    progress: Callable[[str, Progress], None] | None = None,
    done: Callable[[StickResult], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[StickResult]:
    """Write one package to several sticks in parallel, ``jobs`` at a time (default: all).

    Each stick gets its own thread, temporary file, fsync and read-back (``write_package``);
    one stick failing (read-only, full, pulled out) never stops the others. Results come back
    in the order of ``mountpoints``. ``progress(mountpoint, Progress)`` and ``done(result)``
    are called from the writing threads, one call at a time (a lock serialises them), so a
    caller may update shared state from them without locking. Setting ``cancel`` (or an
    interrupt, e.g. Ctrl+C, while waiting) stops every write at its next chunk, each removing
    its temporary file. The same drive given twice (by any path) is written once.
    """
    names = [str(mp) for mp in mountpoints]
    cancel = cancel or threading.Event()
    serial = threading.Lock()
    results: dict[int, StickResult] = {}
    first_at: dict[str, int] = {}
    todo: list[int] = []
    for i, mp in enumerate(names):
        key = os.path.realpath(mp)
        if key in first_at:
            results[i] = StickResult(
                mp,
                error=f"The drive {mp} is the same as {names[first_at[key]]}; it is written once.",
            )
        else:
            first_at[key] = i
            todo.append(i)
    if done:
        for result in results.values():
            done(result)

    def run(i: int) -> StickResult:
        mp = names[i]

        def per_stick(p: Progress) -> None:
            if cancel.is_set():
                raise Cancelled
            if progress:
                with serial:
                    progress(mp, p)

        result = _one_stick(package, mp, replace=replace, force=force, progress=per_stick)
        if done:
            with serial:
                done(result)
        return result

    workers = max(1, min(jobs or len(todo) or 1, len(todo) or 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stick")
    bug: Exception | None = None
    try:
        futures = {i: pool.submit(run, i) for i in todo}
        for i, future in futures.items():
            try:
                results[i] = future.result()
            except Exception as exc:  # a bug, not a stick's failure: the others still finish
                bug = bug or exc
    except BaseException:
        cancel.set()  # every write stops at its next chunk and removes its temporary file
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if bug is not None:
        raise bug
    return [results[i] for i in range(len(names))]


# --- after the write ------------------------------------------------------------------------


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
    entry = _mount_entry(real)
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
