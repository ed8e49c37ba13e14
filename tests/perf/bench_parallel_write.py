"""Writing N sticks at once ÷ writing one, and the safe write ÷ ``cp`` + ``sync``, on sticks
throttled to a USB stick's speed.

Each "stick" is an ext4 image on its own loop device, throttled in the kernel's block layer
(every bio the loop device gets, writeback and read-back alike) to ``--write-mbps`` for
writes and ``--read-mbps`` for reads. How it is throttled, in the order tried:

1. device-mapper's ``delay`` target: not here (the kernel has no device-mapper driver,
   ``/dev/mapper/control`` is missing), and it adds latency per request, not a bandwidth cap;
2. cgroup v2 ``io.max``: not here (the unified hierarchy offers no ``io`` controller);
3. what is used: cgroup v1 ``blkio.throttle.{write,read}_bps_device`` on the root cgroup for
   the loop device's major:minor, the same block-layer throttle as ``io.max``. Rules on the
   root cgroup apply to the flusher threads too, so buffered writes and ``fsync`` are capped.

The safe write reads each part back past the page cache as soon as it has reached the stick,
while the stick writes the next ones. The throttle budgets reads and writes apart, so here the
two overlap; a real stick serving one command at a time would still spend size/read on top of
size/write. The last line therefore also measures the other way, used where O_DIRECT is
missing: flush everything, then read it all back, about (1/write) / (1/write + 1/read) of
cp+sync. A typical USB 3 stick writes at 20-30 MB/s and reads at about 100 MB/s (the
defaults); ``--read-mbps 25`` models a stick as slow to read as to write. Needs root and
loop devices.
Run: python tests/perf/bench_parallel_write.py [--sticks 4] [--size-mb 48]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for fakes.mounts
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project

from fakes import mounts  # noqa: E402

from tui.usb.batch import write_to_sticks  # noqa: E402
from tui.usb.checks import WIM_MAGIC  # noqa: E402

MB = mounts.MB
BLKIO = Path("/sys/fs/cgroup/blkio")


def throttle_missing() -> str | None:
    if not (BLKIO / "blkio.throttle.write_bps_device").exists():
        return "no cgroup v1 blkio throttle (/sys/fs/cgroup/blkio) to slow a loop device down"
    return None


@contextlib.contextmanager
def throttled(mountpoint: Path, write_bps: int, read_bps: int) -> Iterator[None]:
    rdev = os.stat(mounts.device_of(mountpoint)).st_rdev
    key = f"{os.major(rdev)}:{os.minor(rdev)}"
    rules = {"write_bps_device": write_bps, "read_bps_device": read_bps}
    try:
        for name, bps in rules.items():
            (BLKIO / f"blkio.throttle.{name}").write_text(f"{key} {bps}\n")
        yield
    finally:
        for name in rules:
            with contextlib.suppress(OSError):
                (BLKIO / f"blkio.throttle.{name}").write_text(f"{key} 0\n")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def clear(sticks: list[Path], name: str) -> None:
    for mnt in sticks:
        (mnt / name).unlink(missing_ok=True)
    os.sync()


def ours(pkg: Path, sticks: list[Path]) -> None:
    results = write_to_sticks(pkg, sticks, replace=True)
    failed = [r.error for r in results if not r.ok]
    if failed:
        raise RuntimeError("; ".join(failed))


@contextlib.contextmanager
def without_o_direct() -> Iterator[None]:
    """The safe write as where O_DIRECT is missing (macOS, Windows): fsync, drop the cache,
    then read the whole package back."""
    saved = os.O_DIRECT
    del os.O_DIRECT
    try:
        yield
    finally:
        os.O_DIRECT = saved


def ours_after_flush(pkg: Path, sticks: list[Path]) -> None:
    with without_o_direct():
        ours(pkg, sticks)


def plain(pkg: Path, mnt: Path) -> None:
    shutil.copyfile(pkg, mnt / pkg.name)
    os.sync()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sticks", type=int, default=4)
    parser.add_argument("--size-mb", type=int, default=48)
    parser.add_argument("--write-mbps", type=float, default=25.0)
    parser.add_argument("--read-mbps", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    reason = mounts.loop_missing() or throttle_missing()
    if reason:
        print(f"cannot run: {reason}")
        return 1
    write_bps, read_bps = int(args.write_mbps * 1e6), int(args.read_mbps * 1e6)
    with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp, contextlib.ExitStack() as st:
        tmp_path = Path(tmp)
        pkg = tmp_path / "bench.ppkg"
        rng = random.Random(0)
        with pkg.open("wb") as f:
            f.write(WIM_MAGIC)
            f.write(rng.randbytes(args.size_mb * MB - len(WIM_MAGIC)))
        sticks = []
        for n in range(args.sticks):
            image = mounts.make_ext4(tmp_path / f"stick{n}.img", args.size_mb * 2 + 32)
            mnt = st.enter_context(mounts.mount_ext4(image, tmp_path / f"stick{n}"))
            st.enter_context(throttled(mnt, write_bps, read_bps))
            sticks.append(mnt)
        print(
            f"{args.sticks} ext4 sticks on loop devices, throttled to {args.write_mbps:g} MB/s "
            f"write and {args.read_mbps:g} MB/s read (cgroup v1 blkio); package "
            f"{args.size_mb} MiB; best of {args.rounds}"
        )
        one, many, cp, after_flush = [], [], [], []
        device = mounts.device_of(sticks[0])
        read_back = []
        for _ in range(args.rounds):
            clear(sticks, pkg.name)
            cp.append(timed(lambda: plain(pkg, sticks[0])))
            clear(sticks, pkg.name)
            before = mounts.bytes_read_from(device)
            one.append(timed(lambda: ours(pkg, sticks[:1])))
            read_back.append(mounts.bytes_read_from(device) - before)
            clear(sticks, pkg.name)
            many.append(timed(lambda: ours(pkg, sticks)))
            clear(sticks, pkg.name)
            after_flush.append(timed(lambda: ours_after_flush(pkg, sticks[:1])))
        clear(sticks, pkg.name)
        t_one, t_many, t_cp, t_after = min(one), min(many), min(cp), min(after_flush)
        size_mb = args.size_mb * MB / 1e6
        print(
            f"one stick {t_one:.2f} s, {args.sticks} sticks in parallel {t_many:.2f} s: "
            f"ratio {t_many / t_one:.2f} (target <= 1.3)"
        )
        print(
            f"one stick: cp+sync {size_mb / t_cp:.1f} MB/s, safe write+verify "
            f"{size_mb / t_one:.1f} MB/s: ratio {t_cp / t_one:.2f} (target >= 0.8)"
        )
        print(
            f"read from the stick during the safe write: {min(read_back) / MB:.1f} MiB of "
            f"{args.size_mb} MiB (the verify reads past the page cache)"
        )
        ceiling = (1 / args.write_mbps) / (1 / args.write_mbps + 1 / args.read_mbps)
        print(
            f"read back after the flush instead (as without O_DIRECT): ratio {t_cp / t_after:.2f}"
            f" (about {ceiling:.2f} expected at these speeds)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
