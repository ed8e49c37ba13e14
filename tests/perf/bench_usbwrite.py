"""Throughput of the safe, verified write ÷ a plain copy plus ``sync``, to the same filesystem.

Both go to a real ext4 image on a loop device (and, where /dev/fuse exists, a FAT32 image via
fusefat), alternating, best of a few rounds each. Needs root and loop devices.
Run: python tests/perf/bench_usbwrite.py [--size-mb 128] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for fakes.mounts
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project

from fakes import mounts  # noqa: E402

from tui.usb.checks import WIM_MAGIC  # noqa: E402
from tui.usb.write import write_package  # noqa: E402

MB = mounts.MB


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def compare(label: str, pkg: Path, mnt: Path, rounds: int) -> float:
    size = pkg.stat().st_size
    dest = mnt / pkg.name

    def plain() -> None:
        shutil.copyfile(pkg, dest)
        os.sync()

    def ours() -> None:
        write_package(pkg, mnt, replace=True)

    def clear() -> None:
        dest.unlink(missing_ok=True)
        os.sync()

    plain_times, our_times = [], []
    for _ in range(rounds):
        clear()
        plain_times.append(timed(plain))
        clear()
        our_times.append(timed(ours))
    clear()
    t_plain, t_ours = min(plain_times), min(our_times)
    ratio = t_plain / t_ours  # throughput ours / throughput plain
    print(
        f"{label}: {size / MB:.0f} MiB  plain copy+sync {size / MB / t_plain:7.1f} MiB/s  "
        f"safe write+verify {size / MB / t_ours:7.1f} MiB/s  ratio {ratio:.2f} (target >= 0.8)"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reason = mounts.loop_missing()
    if reason:
        print(f"cannot run: {reason}")
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-usbwrite-") as tmp:
        tmp_path = Path(tmp)
        pkg = tmp_path / "bench.ppkg"
        rng = random.Random(0)
        with pkg.open("wb") as f:
            f.write(WIM_MAGIC)
            for _ in range(args.size_mb):
                f.write(rng.randbytes(MB))
        image = mounts.make_ext4(tmp_path / "ext4.img", args.size_mb * 2 + 32)
        with mounts.mount_ext4(image, tmp_path / "ext4") as mnt:
            compare("ext4 on loop", pkg, mnt, args.rounds)
        if mounts.fuse_missing() is None:
            small = tmp_path / "small.ppkg"
            with pkg.open("rb") as f:
                small.write_bytes(f.read(32 * MB))
            fat = mounts.make_fat32(tmp_path / "fat.img", 96)
            with mounts.mount_fat32(fat, tmp_path / "fat") as mnt:
                compare("FAT32 via fusefat", small, mnt, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
