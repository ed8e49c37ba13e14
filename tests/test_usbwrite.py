"""The safe write: rules, the write/verify/rollback logic, and real mounted filesystems.

Real filesystems: an ext4 image on a loop device and a FAT32 image served by fusefat, both
created here and checked afterwards from outside (remounting, fsck.vfat -n, mtools). They
skip only where loop devices or /dev/fuse are missing (see tests/fakes/mounts.py).
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SAMPLES
from fakes import mounts

from tui.errors import UserError
from tui.usb import batch, checks, eject
from tui.usb import write as usbwrite
from tui.usb.checks import FAT_MAX_FILE, WIM_MAGIC, Target, preflight
from tui.usb.write import Progress

MB = mounts.MB
LOOP = mounts.loop_missing()
FUSE = mounts.fuse_missing()
needs_loop = pytest.mark.skipif(LOOP is not None, reason=LOOP or "")
needs_fuse = pytest.mark.skipif(FUSE is not None, reason=FUSE or "")


def make_package(path: Path, size: int, seed: int = 1) -> Path:
    body = random.Random(seed).randbytes(size - len(WIM_MAGIC))
    path.write_bytes(WIM_MAGIC + body)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temps(folder: Path) -> list[str]:
    return [n for n in os.listdir(folder) if n.startswith(usbwrite.TEMP_PREFIX)]


def target(**kw) -> Target:
    base = dict(
        mountpoint=Path("/media/STICK"),
        device="/dev/sdb1",
        fstype="vfat",
        free=100 * MB,
        read_only=False,
        packages=(),
    )
    return Target(**{**base, **kw})


# --- rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Contoso.ppkg", "bulk enroll (2).ppkg", "ÄÖÜ-Paket.ppkg"])
def test_windows_readable_names_pass(name):
    assert checks.name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a:b.ppkg", "characters"),
        ("what?.ppkg", "characters"),
        ('say "hi".ppkg', "characters"),
        ("tab\t.ppkg", "characters"),
        ("CON.ppkg", "reserves"),
        ("lpt1.ppkg", "reserves"),
        ("pkg.ppkg.", "dot"),
        ("x" * 256, "255"),
    ],
)
def test_names_windows_cannot_read_are_refused(name, why):
    assert why in checks.name_problem(name)


def test_preflight_refuses_read_only_before_anything_else():
    with pytest.raises(UserError, match="read-only"):
        preflight("a.ppkg", 10, target(read_only=True, free=0), replace=True)


def test_preflight_refuses_a_file_of_4_gib_on_fat32_but_not_on_exfat():
    with pytest.raises(UserError, match="FAT32.*4 GiB"):
        preflight("a.ppkg", FAT_MAX_FILE + 1, target(free=10 * FAT_MAX_FILE), replace=False)
    preflight("a.ppkg", FAT_MAX_FILE, target(free=10 * FAT_MAX_FILE), replace=False)
    preflight("a.ppkg", FAT_MAX_FILE + 1, target(fstype="exfat", free=10**12), replace=False)


def test_preflight_refuses_when_the_drive_is_full_and_skips_when_free_is_unknown():
    with pytest.raises(UserError, match=r"full: the package needs 2\.1 MB but only 1\.0 MB"):
        preflight("a.ppkg", 2 * MB, target(free=1_000_000), replace=False)
    preflight("a.ppkg", 2 * MB, target(free=None), replace=False)


def test_preflight_refuses_existing_packages_unless_replacing():
    existing = target(packages=("Old.ppkg", "A.PPKG"))
    with pytest.raises(UserError, match="already holds Old.ppkg, A.PPKG"):
        preflight("a.ppkg", 1, existing, replace=False)
    preflight("a.ppkg", 1, existing, replace=True)


def test_preflight_refuses_bad_package_names():
    with pytest.raises(UserError, match="'con.ppkg' uses a name Windows reserves"):
        preflight("con.ppkg", 1, target(), replace=False)


# --- the package and the target -------------------------------------------------------------


def test_package_must_be_an_existing_ppkg_with_a_wim_header(tmp_path):
    with pytest.raises(UserError, match="not a .ppkg file"):
        checks.check_package(tmp_path / "x.zip")
    with pytest.raises(UserError, match="does not exist"):
        checks.check_package(tmp_path / "missing.ppkg")
    (tmp_path / "dir.ppkg").mkdir()
    with pytest.raises(UserError, match="is a folder"):
        checks.check_package(tmp_path / "dir.ppkg")
    (tmp_path / "fake.ppkg").write_bytes(b"PK\x03\x04 a zip, not a wim")
    with pytest.raises(UserError, match="no WIM header"):
        checks.check_package(tmp_path / "fake.ppkg")
    assert checks.check_package(SAMPLES / "mosd.ppkg") == (SAMPLES / "mosd.ppkg").stat().st_size


def test_target_must_be_a_mounted_filesystem_not_a_folder_or_the_system_root(tmp_path):
    with pytest.raises(UserError, match="not a mounted drive"):
        checks.check_target(tmp_path)
    with pytest.raises(UserError, match="does not exist"):
        checks.check_target(tmp_path / "nope")
    with pytest.raises(UserError, match="system disk"):
        checks.check_target("/")
    assert checks.check_target(tmp_path, force=True).mountpoint == tmp_path.resolve()


# --- write, verify, roll back (in a plain folder, forced) -----------------------------------


def test_write_puts_a_verified_owner_only_copy_at_the_root_with_progress(tmp_path):
    pkg = make_package(tmp_path / "Contoso.ppkg", 9 * MB + 5)
    stick = tmp_path / "stick"
    stick.mkdir()
    events: list[Progress] = []
    result = usbwrite.write_package(pkg, stick, force=True, progress=events.append)
    written = stick / "Contoso.ppkg"
    assert written.read_bytes() == pkg.read_bytes()
    assert result.sha256 == sha(pkg) and result.size == pkg.stat().st_size
    assert result.path == str(written) and result.removed == ()
    assert written.stat().st_mode & 0o777 == 0o600  # the package holds the bulk token
    assert temps(stick) == []
    phases = [e.phase for e in events]
    # Read back past the cache, then flushed; or (no O_DIRECT here) flushed, then read back.
    orders = (["write", "verify", "sync"], ["write", "sync", "verify"])
    assert any(phases == sorted(phases, key=order.index) for order in orders)
    assert phases.count("sync") == 1
    for phase in ("write", "verify"):
        done = [e.done for e in events if e.phase == phase]
        assert done == sorted(done) and done[-1] == result.size and len(done) == 3


def test_existing_packages_are_kept_unless_replace_then_only_the_new_one_remains(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    make_package(stick / "Old.ppkg", 1000, seed=2)
    make_package(stick / "contoso.PPKG", 1000, seed=3)
    pkg = make_package(tmp_path / "Contoso.ppkg", 5000)
    before = {p.name: p.read_bytes() for p in stick.iterdir()}
    with pytest.raises(UserError, match="already holds"):
        usbwrite.write_package(pkg, stick, force=True)
    assert {p.name: p.read_bytes() for p in stick.iterdir()} == before
    result = usbwrite.write_package(pkg, stick, force=True, replace=True)
    assert sorted(result.removed) == ["Old.ppkg", "contoso.PPKG"]  # case-sensitive folder
    assert sorted(os.listdir(stick)) == ["Contoso.ppkg"]


def test_a_temp_file_left_by_a_crashed_run_is_cleaned_up(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    (stick / f"{usbwrite.TEMP_PREFIX}deadbeef0123{usbwrite.TEMP_SUFFIX}").write_bytes(b"half")
    usbwrite.write_package(make_package(tmp_path / "a.ppkg", 100), stick, force=True)
    assert os.listdir(stick) == ["a.ppkg"]


def test_cancelling_mid_write_keeps_the_previous_package_and_leaves_no_temp(tmp_path):
    stick = tmp_path / "stick"
    stick.mkdir()
    old = make_package(stick / "a.ppkg", 1000, seed=9).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", 10 * MB)

    def cancel(p: Progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        usbwrite.write_package(pkg, stick, force=True, replace=True, progress=cancel)
    assert os.listdir(stick) == ["a.ppkg"] and (stick / "a.ppkg").read_bytes() == old


def test_write_to_sticks_gives_a_result_per_stick_and_goes_on_after_a_failure(tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", 3 * MB)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    seen: list[str] = []
    results = batch.write_to_sticks(
        pkg, [one, tmp_path / "gone", two], force=True, progress=lambda mp, p: seen.append(mp)
    )
    assert [r.ok for r in results] == [True, False, True]
    assert "does not exist" in results[1].error and results[1].result is None
    assert (one / "a.ppkg").read_bytes() == (two / "a.ppkg").read_bytes() == pkg.read_bytes()
    assert set(seen) == {str(one), str(two)}


def test_eject_commands_by_platform_filesystem_and_installed_tools():
    cmd = eject.eject_command
    every = set(eject.EJECT_TOOLS)
    assert cmd("/Volumes/S", "/dev/disk4s1", "msdos", "darwin", set()) == [
        ["diskutil", "eject", "/Volumes/S"]
    ]
    assert cmd("/m", "fusefat", "fuse.fusefat", "linux", every) == [["fusermount", "-u", "/m"]]
    assert cmd("/m", "fusefat", "fuse.fusefat", "linux", {"fusermount3"}) == [
        ["fusermount3", "-u", "/m"]
    ]
    assert cmd("/m", "fusefat", "fuse.fusefat", "linux", set()) == [["umount", "/m"]]
    assert cmd("/m", "/dev/sdb1", "vfat", "linux", every) == [
        ["udisksctl", "unmount", "-b", "/dev/sdb1"],
        ["udisksctl", "power-off", "-b", "/dev/sdb1"],
    ]
    assert cmd("/m", "/dev/sdb1", "vfat", "linux", {"fusermount"}) == [["umount", "/m"]]


# --- a real ext4 filesystem on a loop device ------------------------------------------------


@dataclass
class Stick:
    image: Path
    mnt: Path


@pytest.fixture
def ext4(tmp_path):
    image = mounts.make_ext4(tmp_path / "ext4.img", 40)
    with mounts.mount_ext4(image, tmp_path / "ext4") as mnt:
        yield Stick(image, mnt)


def remounted_listing(stick: Stick) -> dict[str, bytes]:
    """Unmount, mount again, and read the root: what really reached the filesystem."""
    if os.path.ismount(stick.mnt):
        subprocess.run(["umount", str(stick.mnt)], check=True)
    with mounts.mount_ext4(stick.image, stick.mnt, read_only=True) as mnt:
        return {
            p.name: p.read_bytes() for p in mnt.iterdir() if p.is_file() and p.name != "lost+found"
        }


@needs_loop
def test_ext4_write_is_on_the_filesystem_after_remounting(ext4, tmp_path):
    pkg = make_package(tmp_path / "Contoso.ppkg", 12 * MB)
    result = usbwrite.write_package(pkg, ext4.mnt)  # not forced: a real mount point
    assert result.sha256 == sha(pkg)
    assert remounted_listing(ext4) == {"Contoso.ppkg": pkg.read_bytes()}


@needs_loop
def test_ext4_drive_full_is_refused_before_writing(tmp_path):
    image = mounts.make_ext4(tmp_path / "tiny.img", 8)
    with mounts.mount_ext4(image, tmp_path / "tiny") as mnt:
        old = make_package(mnt / "a.ppkg", 1000, seed=5).read_bytes()
        pkg = make_package(tmp_path / "a.ppkg", 12 * MB)
        with pytest.raises(UserError, match=r"tiny is full: the package needs 12\.6 MB"):
            usbwrite.write_package(pkg, mnt, replace=True)
    assert remounted_listing(Stick(image, tmp_path / "tiny")) == {"a.ppkg": old}


@needs_loop
def test_ext4_running_out_of_space_mid_write_keeps_the_previous_package(ext4, tmp_path):
    old = make_package(ext4.mnt / "a.ppkg", 1000, seed=5).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", 20 * MB)
    filler = ext4.mnt / "filler.bin"

    def fill_the_drive(p: Progress) -> None:
        if p.phase == "write" and not filler.exists():
            with filler.open("wb") as f:
                try:
                    while True:
                        f.write(b"\0" * MB)
                        f.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    with pytest.raises(UserError, match=r"ext4 is full: the package \(21\.0 MB\) does not fit"):
        usbwrite.write_package(pkg, ext4.mnt, replace=True, progress=fill_the_drive)
    filler.unlink()
    assert remounted_listing(ext4) == {"a.ppkg": old}


@needs_loop
def test_ext4_read_only_mount_is_refused_and_left_alone(tmp_path):
    image = mounts.make_ext4(tmp_path / "ro.img", 16)
    with mounts.mount_ext4(image, tmp_path / "ro") as mnt:
        old = make_package(mnt / "a.ppkg", 1000).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", MB)
    ro = mounts.mount_ext4(image, tmp_path / "ro", read_only=True)
    with ro as mnt, pytest.raises(UserError, match="read-only"):
        usbwrite.write_package(pkg, mnt, replace=True)
    assert remounted_listing(Stick(image, tmp_path / "ro")) == {"a.ppkg": old}


@needs_loop
def test_ext4_temp_file_deleted_mid_write_is_reported_as_vanished(ext4, tmp_path):
    old = make_package(ext4.mnt / "a.ppkg", 1000, seed=5).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", 12 * MB)

    def delete_temp(p: Progress) -> None:
        for name in temps(ext4.mnt):
            (ext4.mnt / name).unlink()

    with pytest.raises(UserError, match="vanished before it was complete"):
        usbwrite.write_package(pkg, ext4.mnt, replace=True, progress=delete_temp)
    assert remounted_listing(ext4) == {"a.ppkg": old}


@needs_loop
def test_ext4_unmounted_mid_write_is_reported_and_the_stick_keeps_no_temp(ext4, tmp_path):
    old = make_package(ext4.mnt / "a.ppkg", 1000, seed=5).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", 12 * MB)

    def pull_the_stick(p: Progress) -> None:
        if os.path.ismount(ext4.mnt):
            subprocess.run(["umount", "-l", str(ext4.mnt)], check=True)

    with pytest.raises(UserError, match="vanished before it was complete"):
        usbwrite.write_package(pkg, ext4.mnt, replace=True, progress=pull_the_stick)
    assert not os.path.ismount(ext4.mnt) and os.listdir(ext4.mnt) == []
    assert remounted_listing(ext4) == {"a.ppkg": old}


@pytest.fixture(params=["direct", "cached", "direct-refused"])
def read_back(request, monkeypatch):
    """Every way of reading the package back: past the page cache (Linux); as on a system
    without O_DIRECT (macOS, Windows: the attribute is missing there), fsync, drop the
    cache, read; and as on a filesystem that opens O_DIRECT but refuses its reads (EINVAL;
    none here does, so the read is made to refuse)."""
    if request.param == "cached":
        monkeypatch.delattr(os, "O_DIRECT")
    if request.param == "direct-refused":

        def refused(fd, buffers, offset):
            raise OSError(errno.EINVAL, "Invalid argument")

        monkeypatch.setattr(os, "preadv", refused)
    return request.param


@needs_loop
def test_ext4_each_read_back_reads_every_byte_from_the_stick(ext4, tmp_path, read_back):
    pkg = make_package(tmp_path / "a.ppkg", 12 * MB + 7)
    device = mounts.device_of(ext4.mnt)
    before = mounts.bytes_read_from(device)
    events: list[Progress] = []
    usbwrite.write_package(pkg, ext4.mnt, progress=events.append)
    assert mounts.bytes_read_from(device) - before >= pkg.stat().st_size
    phases = [e.phase for e in events]
    # Past the cache each part is read as it lands, then flushed; otherwise flushed first.
    order = ["write", "verify", "sync"] if read_back == "direct" else ["write", "sync", "verify"]
    assert phases == sorted(phases, key=order.index) and phases.count("sync") == 1
    assert [e.done for e in events if e.phase == "verify"][-1] == pkg.stat().st_size
    assert remounted_listing(ext4) == {"a.ppkg": pkg.read_bytes()}


@needs_loop
def test_ext4_verification_mismatch_keeps_the_previous_package(ext4, tmp_path, read_back):
    old = make_package(ext4.mnt / "a.ppkg", 1000, seed=5).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", 6 * MB)

    def corrupt(path: Path) -> None:  # test seam: a stick that returns other bytes
        with path.open("r+b") as f:
            f.seek(5 * MB)
            byte = f.read(1)
            f.seek(5 * MB)
            f.write(bytes([byte[0] ^ 0xFF]))

    with pytest.raises(UserError, match="Verification failed"):
        usbwrite.write_package(pkg, ext4.mnt, replace=True, before_verify=corrupt)
    assert remounted_listing(ext4) == {"a.ppkg": old}


@needs_loop
def test_ext4_other_bytes_on_the_stick_fail_verification_even_behind_a_mapped_cache(ext4, tmp_path):
    """The page cache holds the right bytes and the stick other ones. The mapped pages cannot
    be dropped from the cache (posix_fadvise DONTNEED leaves them), so only a read that
    bypasses the cache sees what the stick holds."""
    old = make_package(ext4.mnt / "a.ppkg", 1000, seed=5).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", 6 * MB)
    mapped = []

    def stick_holds_other_bytes(path: Path) -> None:
        with path.open("rb") as f:
            os.fsync(f.fileno())
            view = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        assert sum(view[i] for i in range(0, len(view), 4096)) >= 0  # every page cached
        mapped.append(view)
        where = mounts.physical_offset(path) + 4096
        with ext4.image.open("r+b") as image:  # the loop device reads the image itself
            image.seek(where)
            byte = image.read(1)
            image.seek(where)
            image.write(bytes([byte[0] ^ 0xFF]))

    try:
        with pytest.raises(UserError, match="Verification failed"):
            usbwrite.write_package(
                pkg, ext4.mnt, replace=True, before_verify=stick_holds_other_bytes
            )
    finally:
        for view in mapped:
            view.close()
    assert len(mapped) == 1
    assert remounted_listing(ext4) == {"a.ppkg": old}


@needs_loop
def test_ext4_eject_unmounts(ext4, tmp_path):
    usbwrite.write_package(make_package(tmp_path / "a.ppkg", MB), ext4.mnt)
    assert "can be removed safely" in eject.eject(ext4.mnt)
    assert not os.path.ismount(ext4.mnt)
    with pytest.raises(UserError, match="not mounted"):
        eject.eject(ext4.mnt)


@needs_loop
def test_ext4_eject_of_a_busy_stick_says_so_and_leaves_it_mounted(ext4):
    with (ext4.mnt / "open.txt").open("w"):
        with pytest.raises(UserError, match=r"Could not eject .*busy.*close anything using it"):
            eject.eject(ext4.mnt)
        assert os.path.ismount(ext4.mnt)


# --- a real FAT32 filesystem via fusefat ----------------------------------------------------


@pytest.fixture
def fat32(tmp_path):
    image = mounts.make_fat32(tmp_path / "fat.img", 40)
    with mounts.mount_fat32(image, tmp_path / "fat") as mnt:
        yield Stick(image, mnt)


def unmount(stick: Stick) -> None:
    mounts.unmount_fat32(stick.mnt)


@needs_fuse
def test_fat32_write_of_a_real_package_checks_clean_from_outside(fat32, tmp_path):
    make_package(fat32.mnt / "Old.ppkg", 3000, seed=4)
    sample = SAMPLES / "iot-adk-enroll.ppkg"
    result = usbwrite.write_package(sample, fat32.mnt, replace=True)
    assert result.removed == ("Old.ppkg",)
    unmount(fat32)
    fsck = mounts.fat_check(fat32.image)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert mounts.fat_names(fat32.image) == ["iot-adk-enroll.ppkg"]
    assert mounts.fat_read(fat32.image, "iot-adk-enroll.ppkg") == sample.read_bytes()


@needs_fuse
def test_fat32_replacing_a_package_spelled_in_other_case_keeps_the_new_one(fat32, tmp_path):
    make_package(fat32.mnt / "A.PPKG", 2000, seed=4)
    pkg = make_package(tmp_path / "a.ppkg", 9 * MB)
    result = usbwrite.write_package(pkg, fat32.mnt, replace=True)
    assert result.removed == ()
    unmount(fat32)
    assert mounts.fat_check(fat32.image).returncode == 0
    [name] = mounts.fat_names(fat32.image)
    assert name.lower() == "a.ppkg"
    assert mounts.fat_read(fat32.image, name) == pkg.read_bytes()


@needs_fuse
def test_fat32_file_of_4_gib_is_refused_before_writing(fat32, tmp_path):
    big = tmp_path / "big.ppkg"
    with big.open("wb") as f:  # sparse: costs no disk space
        f.write(WIM_MAGIC)
        f.truncate(FAT_MAX_FILE + 1)
    with pytest.raises(UserError, match="too big for the FAT32 drive"):
        usbwrite.write_package(big, fat32.mnt)
    assert os.listdir(fat32.mnt) == ["STICK"]  # fusefat shows the volume label as a file


@needs_fuse
def test_fat32_drive_full_mid_write_keeps_the_previous_package(fat32, tmp_path):
    old = make_package(fat32.mnt / "a.ppkg", 2000, seed=4).read_bytes()
    pkg = make_package(tmp_path / "a.ppkg", 48 * MB)  # fusefat does not report free space
    with pytest.raises(UserError, match="fat stopped accepting data.*probably full"):
        usbwrite.write_package(pkg, fat32.mnt, replace=True)
    unmount(fat32)
    fsck = mounts.fat_check(fat32.image)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert mounts.fat_names(fat32.image) == ["a.ppkg"]
    assert mounts.fat_read(fat32.image, "a.ppkg") == old


@needs_fuse
def test_fat32_read_only_mount_is_refused(tmp_path):
    image = mounts.make_fat32(tmp_path / "ro.img", 40)
    pkg = make_package(tmp_path / "a.ppkg", MB)
    ro = mounts.mount_fat32(image, tmp_path / "ro", read_only=True)
    with ro as mnt, pytest.raises(UserError, match="read-only"):
        usbwrite.write_package(pkg, mnt)
    assert mounts.fat_names(image) == []


@needs_fuse
def test_fat32_eject_unmounts_the_fuse_filesystem(fat32, tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", MB)
    usbwrite.write_package(pkg, fat32.mnt)
    eject.eject(fat32.mnt)
    assert not os.path.ismount(fat32.mnt)
    unmount(fat32)  # waits for fusefat to finish the image
    assert mounts.fat_check(fat32.image).returncode == 0
    assert mounts.fat_read(fat32.image, "a.ppkg") == pkg.read_bytes()


@needs_loop
@needs_fuse
def test_one_package_to_an_ext4_and_a_fat32_stick_and_a_folder(ext4, fat32, tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", 5 * MB)
    results = batch.write_to_sticks(pkg, [ext4.mnt, tmp_path, fat32.mnt])
    assert [r.ok for r in results] == [True, False, True]
    assert "not a mounted drive" in results[1].error
    unmount(fat32)
    assert mounts.fat_read(fat32.image, "a.ppkg") == pkg.read_bytes()
    assert remounted_listing(ext4) == {"a.ppkg": pkg.read_bytes()}


def failing_statvfs(monkeypatch, bad: Path) -> None:
    """os.statvfs answers EIO for ``bad``, as a stick failing under the probe does."""
    real = os.statvfs

    def statvfs(path, *args):
        if os.path.realpath(path) == os.path.realpath(bad):
            raise OSError(errno.EIO, "Input/output error")
        return real(path, *args)

    monkeypatch.setattr(os, "statvfs", statvfs)


def test_a_stick_failing_while_checked_is_one_result_and_the_next_is_still_tried(
    tmp_path, monkeypatch
):
    pkg = make_package(tmp_path / "a.ppkg", MB)
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir(), good.mkdir()
    failing_statvfs(monkeypatch, bad)
    results = batch.write_to_sticks(pkg, [bad, good], force=True)
    assert [r.ok for r in results] == [False, True]
    assert results[0].error == (
        f"The drive {bad} cannot be checked: Input/output error; try another port or stick."
    )
    assert (good / "a.ppkg").read_bytes() == pkg.read_bytes()


def wait_until(condition, what: str, timeout: float = 20.0) -> None:
    """Poll a condition another thread makes true (a wait on a condition, not a sleep)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@needs_loop
def test_write_to_sticks_writes_all_at_once_and_one_failing_stops_none(tmp_path):
    """Three real ext4 mounts, one read-only. The first stick's first progress report waits
    until the last stick has begun (its temporary file, or already its package, is there):
    with writes one after another, in order, this would time out."""
    images = [mounts.make_ext4(tmp_path / f"{n}.img", 24) for n in "abc"]
    pkg = make_package(tmp_path / "a.ppkg", 6 * MB)
    with (
        mounts.mount_ext4(images[0], tmp_path / "a") as a,
        mounts.mount_ext4(images[1], tmp_path / "b", read_only=True) as b,
        mounts.mount_ext4(images[2], tmp_path / "c") as c,
    ):
        seen: dict[str, list[str]] = {}
        finished: list[str] = []

        def progress(mp: str, p: Progress) -> None:
            if mp == str(a) and not seen.get(mp):
                wait_until(lambda: temps(c) or (c / "a.ppkg").exists(), "stick c to start")
            seen.setdefault(mp, []).append(p.phase)

        results = batch.write_to_sticks(
            pkg, [a, b, c], progress=progress, done=lambda r: finished.append(r.mountpoint)
        )
        assert [r.mountpoint for r in results] == [str(a), str(b), str(c)]
        assert [r.ok for r in results] == [True, False, True]
        assert results[1].error == (
            f"The drive {b} is read-only; move the stick's write-protect switch or remount it "
            "read-write."
        )
        assert sorted(finished) == sorted(map(str, (a, b, c)))
        assert "verify" in seen[str(a)] and "verify" in seen[str(c)] and str(b) not in seen
        for mnt in (a, b, c):
            assert temps(mnt) == []
        assert (a / "a.ppkg").read_bytes() == (c / "a.ppkg").read_bytes() == pkg.read_bytes()


def test_write_to_sticks_jobs_and_the_same_drive_twice(tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", MB)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    results = batch.write_to_sticks(pkg, [one, two, f"{one}/."], force=True, jobs=1)
    assert [r.ok for r in results] == [True, True, False]
    assert results[2].error == f"The drive {one}/. is the same as {one}; it is written once."
    assert temps(one) == temps(two) == []


def test_cancelling_write_to_sticks_leaves_no_temp_on_any_stick(tmp_path):
    import threading

    pkg = make_package(tmp_path / "a.ppkg", 3 * MB)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    stop = threading.Event()
    results = batch.write_to_sticks(
        pkg, [one, two], force=True, progress=lambda mp, p: stop.set(), cancel=stop
    )
    assert not any(r.ok for r in results)
    assert all("cancelled" in r.error and r.cancelled for r in results)
    assert os.listdir(one) == os.listdir(two) == []


def test_a_bug_in_one_stick_s_write_lets_the_others_finish_then_is_raised(tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", MB)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()

    def progress(mp: str, p: Progress) -> None:
        if mp == str(one):
            raise ZeroDivisionError("a bug in a callback")

    with pytest.raises(ZeroDivisionError):
        batch.write_to_sticks(pkg, [one, two], force=True, progress=progress)
    assert os.listdir(one) == [] and (two / "a.ppkg").read_bytes() == pkg.read_bytes()
