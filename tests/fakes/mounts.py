"""Real filesystems for the USB write tests: images we create, mounted under temp dirs.

An ext4 image on a loop device (needs root and loop devices) and a FAT32 image served by
fusefat (needs /dev/fuse; the kernel here has no vfat driver). Each context manager always
unmounts on exit. Nothing here ever touches a real disk of the machine.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MB = 1024 * 1024
MTOOLS_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}


@functools.cache
def loop_missing() -> str | None:
    """Why an ext4 image cannot be loop-mounted here, or None (tried once, for real)."""
    if os.geteuid() != 0:
        return "loop-mounting an ext4 image needs root"
    if not Path("/dev/loop-control").exists():
        return "no loop devices (/dev/loop-control) on this machine"
    if not shutil.which("mkfs.ext4"):
        return "mkfs.ext4 (e2fsprogs) is not installed"
    with tempfile.TemporaryDirectory(prefix="loop-probe-") as tmp:
        try:
            image = make_ext4(Path(tmp) / "probe.img", 4)
            with mount_ext4(image, Path(tmp) / "mnt"):
                pass
        except (OSError, subprocess.CalledProcessError) as exc:
            return f"loop-mounting an ext4 image fails here ({exc})"
    return None


@functools.cache
def fuse_missing() -> str | None:
    """Why a FAT32 image cannot be mounted with fusefat here, or None (tried once, for real)."""
    if not Path("/dev/fuse").exists():
        return "no /dev/fuse on this machine"
    for tool in ("fusefat", fusermount(), "mkfs.vfat", "fsck.vfat", "mcopy", "mdir"):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt: fusefat dosfstools mtools)"
    with tempfile.TemporaryDirectory(prefix="fuse-probe-") as tmp:
        try:
            image = make_fat32(Path(tmp) / "probe.img", 34)
            with mount_fat32(image, Path(tmp) / "mnt"):
                pass
        except (OSError, RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
            return f"mounting a FAT32 image with fusefat fails here ({exc})"
    return None


def _image(path: Path, size_mb: int) -> None:
    with path.open("wb") as f:
        f.truncate(size_mb * MB)


def _wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.01)


def make_ext4(image: Path, size_mb: int = 40) -> Path:
    _image(image, size_mb)
    # No reserved blocks and no journal: the free space we compute is what the test expects.
    subprocess.run(
        ["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal", str(image)], check=True
    )
    return image


@contextmanager
def mount_ext4(image: Path, mountpoint: Path, read_only: bool = False) -> Iterator[Path]:
    mountpoint.mkdir(exist_ok=True)
    opts = "loop,ro" if read_only else "loop"
    subprocess.run(["mount", "-o", opts, str(image), str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        if os.path.ismount(mountpoint):
            subprocess.run(["umount", str(mountpoint)], check=True)


def device_of(mountpoint: Path) -> str:
    """The block device mounted at ``mountpoint`` (for a loop mount: /dev/loopN)."""
    real = os.path.realpath(mountpoint)
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, *_ = line.split()
            if mnt == real:
                return dev
    raise RuntimeError(f"{mountpoint} is not mounted")


def bytes_read_from(device: str) -> int:
    """How many bytes the kernel has read from ``device`` since it appeared (its block
    statistics: the third field is sectors read, in units of 512 bytes)."""
    name = os.path.basename(os.path.realpath(device))
    return int(Path(f"/sys/block/{name}/stat").read_text().split()[2]) * 512


def physical_offset(path: Path) -> int:
    """Where the first byte of ``path`` lies on its device (filefrag, from e2fsprogs)."""
    out = subprocess.run(
        ["filefrag", "-v", "-b4096", str(path)], check=True, capture_output=True, text=True
    ).stdout
    for line in out.splitlines():
        fields = line.replace(":", " ").replace("..", " ").split()
        if fields and fields[0] == "0":  # extent 0: logical start, end, physical start, ...
            return int(fields[3]) * 4096
    raise RuntimeError(f"filefrag found no extent for {path}:\n{out}")


def make_fat32(image: Path, size_mb: int = 40, label: str = "STICK") -> Path:
    _image(image, size_mb)
    subprocess.run(
        ["mkfs.vfat", "-F", "32", "-n", label, str(image)], check=True, capture_output=True
    )
    return image


_FUSEFAT: dict[Path, subprocess.Popen] = {}


@contextmanager
def mount_fat32(image: Path, mountpoint: Path, read_only: bool = False) -> Iterator[Path]:
    """fusefat in the foreground, so that unmounting can wait until the image is final."""
    mountpoint.mkdir(exist_ok=True)
    mode = "ro" if read_only else "rw+"
    proc = subprocess.Popen(
        ["fusefat", "-f", "-o", mode, str(image), str(mountpoint)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _FUSEFAT[mountpoint] = proc
    try:
        _wait_for(lambda: os.path.ismount(mountpoint) or proc.poll() is not None, "fusefat")
        if proc.poll() is not None:
            raise RuntimeError(f"fusefat exited with {proc.returncode}")
        yield mountpoint
    finally:
        unmount_fat32(mountpoint)


def unmount_fat32(mountpoint: Path) -> None:
    """Unmount (unless already done, e.g. by eject) and wait for fusefat to finish the image:
    it writes the FAT's free-cluster count and clears the dirty bit on its way out."""
    if os.path.ismount(mountpoint):
        subprocess.run([fusermount(), "-u", str(mountpoint)], check=True)
    proc = _FUSEFAT.pop(mountpoint, None)
    if proc is not None:
        proc.wait(timeout=10)


def fusermount() -> str:
    """fuse (2) installs fusermount, fuse3 only fusermount3."""
    return "fusermount" if shutil.which("fusermount") else "fusermount3"


def fat_check(image: Path) -> subprocess.CompletedProcess:
    """fsck.vfat -n on the unmounted image: returncode 0 means a consistent filesystem."""
    return subprocess.run(["fsck.vfat", "-n", str(image)], capture_output=True, text=True)


def fat_names(image: Path) -> list[str]:
    """Long file names at the image's root, read by mtools."""
    out = subprocess.run(
        ["mdir", "-b", "-i", str(image), "::/"],
        capture_output=True,
        text=True,
        check=True,
        env=MTOOLS_ENV,
    )
    return sorted(line.removeprefix("::/") for line in out.stdout.splitlines() if line.strip())


def fat_read(image: Path, name: str) -> bytes:
    """A file's bytes, copied out of the image by mtools."""
    return subprocess.run(
        ["mcopy", "-n", "-i", str(image), f"::/{name}", "-"],
        capture_output=True,
        check=True,
        env=MTOOLS_ENV,
    ).stdout
