"""Writing one package to several sticks at once, each verified, one failing never the others."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tui.errors import UserError
from tui.usb.write import Progress, ProgressCallback, WriteResult, write_package


@dataclass(frozen=True, slots=True)
class StickResult:
    mountpoint: str
    result: WriteResult | None = None
    error: str | None = None
    cancelled: bool = False  # stopped by ``cancel``: nothing was left on the stick

    @property
    def ok(self) -> bool:
        return self.result is not None


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
        return StickResult(
            mp, error=f"The write to {mp} was cancelled; nothing was left on it.", cancelled=True
        )
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
