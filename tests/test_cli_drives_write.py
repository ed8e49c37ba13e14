"""``bulk-enroll drives`` and ``bulk-enroll write`` on real mounted filesystems.

The only stand-in: for the drive list with a stick in it, lsblk's output is the captured one
from tests/fixtures/drives (this machine has no USB port), with the stick's mount point
pointed at a real loop-mounted ext4 image, so free space and packages are read for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import mounts
from test_usbwrite import MB, Stick, make_package, needs_fuse, needs_loop, remounted_listing

from tui.cli.main import main, table
from tui.usb import drives, probe_linux

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "drives"

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "drives"


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ext4(tmp_path):
    image = mounts.make_ext4(tmp_path / "ext4.img", 40)
    with mounts.mount_ext4(image, tmp_path / "ext4") as mnt:
        yield Stick(image, mnt)


@pytest.fixture
def fat32(tmp_path):
    image = mounts.make_fat32(tmp_path / "fat.img", 40)
    with mounts.mount_fat32(image, tmp_path / "fat") as mnt:
        yield Stick(image, mnt)


@pytest.fixture
def lsblk_with_stick_at(monkeypatch):
    """Make lsblk report the captured stick /dev/sda1 as mounted at a given folder."""

    def install(mountpoint: Path) -> None:
        data = json.loads((FIXTURES / "lsblk-new.json").read_text())
        stick = next(d for d in data["blockdevices"] if d["name"] == "sda")
        stick["children"][0]["mountpoint"] = str(mountpoint)
        captured = json.dumps(data).encode()
        real_run = probe_linux.run_probe
        monkeypatch.setattr(
            probe_linux,
            "run_probe",
            lambda argv: captured if argv[0] == "lsblk" else real_run(argv),
        )
        monkeypatch.setattr(drives.platform, "system", lambda: "Linux")

    return install


# --- drives ---------------------------------------------------------------------------------


def test_table_aligns_columns_two_spaces_apart_without_trailing_blanks():
    rows = [("Device", "FS", "Name"), ("/dev/sda1", "vfat", ""), ("/dev/sdb", "?", "STICK")]
    assert table(rows) == [
        "Device     FS    Name",
        "/dev/sda1  vfat",
        "/dev/sdb   ?     STICK",
    ]


def test_drives_on_this_machine_lists_no_system_disk_as_json(capsys):
    code, out, err = cli(capsys, "drives", "--all", "--json")
    assert code == 0 and err == ""
    listed = json.loads(out)
    assert all(d["mountpoint"] != "/" for d in listed)


def test_drives_all_lists_every_disk_but_the_system_disk(capsys, monkeypatch):
    """Not this machine's disks (it may have no second one): lsblk's output from a laptop
    with its system disk (NVMe behind LUKS, mounted at / and /boot/efi), a USB stick, a USB disk,
    a card reader and a fixed data disk (tests/fixtures/drives/lsblk-new.json)."""
    listing = (FIXTURES / "lsblk-new.json").read_text()
    system_disk = {"/dev/nvme0n1p1", "/dev/nvme0n1p2"}
    assert system_disk <= {d.device for d in probe_linux.parse_lsblk(listing)}
    assert any(d.system for d in probe_linux.parse_lsblk(listing))
    monkeypatch.setattr(drives, "probe", lambda system=None: probe_linux.parse_lsblk(listing))
    monkeypatch.setattr(drives, "inspect_mountpoint", lambda mountpoint: (None, ()))
    code, out, err = cli(capsys, "drives", "--all", "--json")
    assert code == 0 and err == ""
    listed = {d["device"]: d for d in json.loads(out)}
    assert system_disk.isdisjoint(listed) and "/" not in {d["mountpoint"] for d in listed.values()}
    assert {"/dev/sda1", "/dev/sdb1", "/dev/sdc1", "/dev/sdd1"} <= set(listed)
    code, out, _ = cli(capsys, "drives", "--json")
    assert code == 0 and system_disk.isdisjoint(d["device"] for d in json.loads(out))


def test_drives_without_sticks_says_how_to_get_one(capsys, monkeypatch):
    monkeypatch.setattr(drives, "find_drives", lambda show_all=False: [])
    code, out, _ = cli(capsys, "drives")
    assert code == 0
    assert out.strip() == (
        "No removable drive found: insert a USB stick (--all also lists fixed disks)."
    )


@needs_loop
def test_drives_json_reads_free_space_and_packages_of_the_mounted_stick(
    capsys, ext4, lsblk_with_stick_at
):
    make_package(ext4.mnt / "Old.ppkg", 1000)
    lsblk_with_stick_at(ext4.mnt)
    code, out, _ = cli(capsys, "drives", "--json")
    assert code == 0
    listed = {d["device"]: d for d in json.loads(out)}
    assert sorted(listed) == ["/dev/sda1", "/dev/sdb1", "/dev/sdc1"]
    stick = listed["/dev/sda1"]
    assert stick["mountpoint"] == str(ext4.mnt) and stick["packages"] == ["Old.ppkg"]
    assert stick["usb"] is True and 30 * MB < stick["free"] < 40 * MB
    assert listed["/dev/sdc1"]["mount_command"] == "udisksctl mount -b /dev/sdc1"


@needs_loop
def test_drives_table_names_unmounted_sticks_and_existing_packages(
    capsys, ext4, lsblk_with_stick_at
):
    make_package(ext4.mnt / "Old.ppkg", 1000)
    lsblk_with_stick_at(ext4.mnt)
    code, out, _ = cli(capsys, "drives", "--all")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["Device", "Mounted", "at", "FS", "Size", "Free", "Name", "Packages"]
    stick = next(line for line in lines if line.startswith("/dev/sda1"))
    assert str(ext4.mnt) in stick and "STICK" in stick and "Old.ppkg" in stick
    assert "data (not USB)" in out  # --all: the internal SATA data disk
    assert "/dev/sdc1 is not mounted; mount it with: udisksctl mount -b /dev/sdc1" in lines
    assert "nvme" not in out


# --- write ----------------------------------------------------------------------------------


@needs_loop
def test_write_exits_0_after_verifying_and_the_file_is_on_the_filesystem(capsys, ext4, tmp_path):
    pkg = make_package(tmp_path / "Contoso.ppkg", 6 * MB)
    code, out, err = cli(capsys, "write", str(pkg), "--drive", str(ext4.mnt))
    assert (code, err) == (0, "")
    assert "written and verified" in out and f"{ext4.mnt}/Contoso.ppkg" in out
    assert remounted_listing(ext4) == {"Contoso.ppkg": pkg.read_bytes()}


@needs_loop
def test_write_refuses_existing_package_without_replace_then_replaces(capsys, ext4, tmp_path):
    old = make_package(ext4.mnt / "Old.ppkg", 1000, seed=3).read_bytes()
    pkg = make_package(tmp_path / "New.ppkg", MB)
    code, out, err = cli(capsys, "write", str(pkg), "--drive", str(ext4.mnt))
    assert code == 2 and out == ""
    assert err == (
        f"bulk-enroll: The drive {ext4.mnt} already holds Old.ppkg; Windows would ask which "
        "package to apply, so replace them (--replace) to leave only this one there.\n"
    )
    assert (ext4.mnt / "Old.ppkg").read_bytes() == old
    code, out, err = cli(capsys, "write", str(pkg), "--drive", str(ext4.mnt), "--replace")
    assert code == 0 and "Removed Old.ppkg." in out
    assert sorted(os.listdir(ext4.mnt)) == ["New.ppkg", "lost+found"]


@needs_loop
def test_write_eject_unmounts_the_stick(capsys, ext4, tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", MB)
    code, out, _ = cli(capsys, "write", str(pkg), "--drive", str(ext4.mnt), "--eject")
    assert code == 0 and "can be removed safely" in out
    assert not os.path.ismount(ext4.mnt)


@needs_loop
@needs_fuse
def test_write_to_several_sticks_reports_each_and_fails_if_one_failed(
    capsys, ext4, fat32, tmp_path
):
    pkg = make_package(tmp_path / "a.ppkg", 3 * MB)
    folder = tmp_path / "folder"
    folder.mkdir()
    code, out, err = cli(
        capsys, "write", str(pkg), "--drive", str(ext4.mnt), "--drive", str(folder),
        "--drive", str(fat32.mnt),
    )  # fmt: skip
    assert code == 2
    assert err == "bulk-enroll: 1 of 3 drives failed; see the list above.\n"
    status = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
    assert status == ["OK", "FAILED", "OK"]
    assert f"FAILED  {folder}: {folder} is not a mounted drive" in out
    mounts.unmount_fat32(fat32.mnt)
    assert mounts.fat_read(fat32.image, "a.ppkg") == pkg.read_bytes()
    assert mounts.fat_check(fat32.image).returncode == 0


@needs_loop
@needs_fuse
def test_write_to_two_sticks_exits_0(capsys, ext4, fat32, tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", MB)
    code, out, _ = cli(
        capsys, "write", str(pkg), "--drive", str(ext4.mnt), "--drive", str(fat32.mnt)
    )
    assert code == 0 and out.count("written and verified") == 2


@needs_loop
def test_write_to_a_full_stick_fails_with_one_sentence_and_keeps_the_old_one(capsys, tmp_path):
    image = mounts.make_ext4(tmp_path / "tiny.img", 8)
    with mounts.mount_ext4(image, tmp_path / "tiny") as mnt:
        old = make_package(mnt / "a.ppkg", 1000).read_bytes()
        pkg = make_package(tmp_path / "a.ppkg", 12 * MB)
        code, out, err = cli(capsys, "write", str(pkg), "--drive", str(mnt), "--replace")
        assert code == 2 and out == "" and err.count("\n") == 1
        assert err.startswith(f"bulk-enroll: The drive {mnt} is full")
        assert sorted(os.listdir(mnt)) == ["a.ppkg", "lost+found"]
        assert (mnt / "a.ppkg").read_bytes() == old


def test_write_bad_input_is_one_sentence_without_traceback(tmp_path):
    """Through the real command in a subprocess: exit 2, one line, no traceback."""
    not_wim = tmp_path / "x.ppkg"
    not_wim.write_bytes(b"hello")
    cases = {
        (str(tmp_path / "missing.ppkg"), str(tmp_path)): "does not exist",
        (str(not_wim), str(tmp_path)): "no WIM header",
        (str(tmp_path / "x.zip"), str(tmp_path)): "not a .ppkg file",
        (str(make_package(tmp_path / "a.ppkg", 100)), str(tmp_path)): "not a mounted drive",
        (str(tmp_path / "a.ppkg"), "/"): "system disk",
    }
    for (pkg, drive), expected in cases.items():
        proc = subprocess.run(
            [sys.executable, "-m", "tui", "write", pkg, "--drive", drive],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("bulk-enroll: ") and expected in proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_write_tries_every_stick_when_one_fails_while_checked(capsys, tmp_path, monkeypatch):
    from test_usbwrite import failing_statvfs

    pkg = make_package(tmp_path / "a.ppkg", MB)
    bad, good = tmp_path / "bad", tmp_path / "good"
    bad.mkdir(), good.mkdir()
    failing_statvfs(monkeypatch, bad)
    code, out, err = cli(
        capsys, "write", str(pkg), "--drive", str(bad), "--drive", str(good), "--force"
    )
    assert code == 2
    assert f"FAILED  {bad}: The drive {bad} cannot be checked: Input/output error" in out
    assert f"OK      {good}/a.ppkg: written and verified" in out
    assert err == "bulk-enroll: 1 of 2 drives failed; see the list above.\n"
    assert (good / "a.ppkg").read_bytes() == pkg.read_bytes()


def test_log_file_option_prints_where_the_log_is(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code, out, _ = cli(capsys, "--log-file")
    assert code == 0 and out == f"{tmp_path}/state/bulk-enroll/bulk-enroll.log\n"


@needs_loop
def test_write_to_three_sticks_in_parallel_one_read_only(capsys, tmp_path):
    """Three real ext4 mounts, the middle one read-only: the other two are verified, the
    read-only one is one sentence naming it, the exit code is 2, no temporary file anywhere."""
    pkg = make_package(tmp_path / "a.ppkg", 4 * MB)
    images = [mounts.make_ext4(tmp_path / f"{n}.img", 24) for n in "abc"]
    with (
        mounts.mount_ext4(images[0], tmp_path / "a") as a,
        mounts.mount_ext4(images[1], tmp_path / "b", read_only=True) as b,
        mounts.mount_ext4(images[2], tmp_path / "c") as c,
    ):
        code, out, err = cli(
            capsys, "write", str(pkg), "--drive", str(a), "--drive", str(b), "--drive", str(c)
        )
        assert code == 2
        assert err == "bulk-enroll: 1 of 3 drives failed; see the list above.\n"
        status = [line.split()[0] for line in out.splitlines() if not line.startswith(" ")]
        assert status == ["OK", "FAILED", "OK"]
        assert (
            f"FAILED  {b}: The drive {b} is read-only; move the stick's write-protect switch "
            "or remount it read-write.\n" in out
        )
        assert out.count("written and verified") == 2
        for mnt in (a, b, c):
            assert not [n for n in os.listdir(mnt) if n.startswith(".bulk-enroll-")]
        assert (a / "a.ppkg").read_bytes() == (c / "a.ppkg").read_bytes() == pkg.read_bytes()
        assert not (b / "a.ppkg").exists()
        code, out, _ = cli(
            capsys,
            "write",
            str(pkg),
            "--drive",
            str(a),
            "--drive",
            str(c),
            "--jobs",
            "1",
            "--replace",
        )
        assert code == 0 and out.count("written and verified") == 2


def test_write_jobs_must_be_positive(capsys, tmp_path):
    pkg = make_package(tmp_path / "a.ppkg", 100)
    code, out, err = cli(capsys, "write", str(pkg), "--drive", str(tmp_path), "--jobs", "0")
    assert (code, out) == (2, "") and err == "bulk-enroll: --jobs must be at least 1, not 0.\n"


@needs_loop
def test_drives_all_lists_every_other_mounted_filesystem_but_never_the_system_disk(capsys, ext4):
    """A loop-mounted image is no USB stick: listed only with --all, under its mount point."""
    code, out, _ = cli(capsys, "drives", "--all", "--json")
    assert code == 0
    listed = {d["mountpoint"]: d for d in json.loads(out)}
    assert str(ext4.mnt) in listed and listed[str(ext4.mnt)]["fstype"] == "ext4"
    assert listed[str(ext4.mnt)]["device"].startswith("/dev/loop")
    assert "/" not in listed and not set(listed) & drives.SYSTEM_MOUNTPOINTS
    code, out, _ = cli(capsys, "drives", "--json")
    assert str(ext4.mnt) not in {d["mountpoint"] for d in json.loads(out)}


def test_other_mounts_skip_the_system_disk_pseudo_filesystems_and_offered_drives(tmp_path):
    from types import SimpleNamespace as P

    (tmp_path / "data").mkdir()
    parts = [
        P(device="/dev/vda", mountpoint="/", fstype="ext4"),
        P(device="proc", mountpoint="/proc", fstype="proc"),
        P(device="/dev/nvme0n1p3", mountpoint=str(tmp_path / "data"), fstype="ext4"),
        P(device="fusefat", mountpoint=str(tmp_path), fstype="fuse.fusefat"),
    ]
    system = drives.BlockDevice("/dev/nvme0n1p3", "/dev/nvme0n1", None, system=True)
    found = drives.other_mounts(parts, [system], root_dev=-1)
    assert [(d.device, d.mountpoint) for d in found] == [(str(tmp_path), str(tmp_path))]
