"""Drive discovery: the classification rules on captured probe outputs, and the watcher."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakes import mounts

from tui.usb import drives, probe_linux, probe_macos, probe_windows, watch
from tui.usb.drives import BlockDevice, Drive
from tui.usb.watch import DriveWatcher

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "drives"


def no_inspect(mountpoint: str):
    return (123, ("old.ppkg",))


def by_device(found: list[Drive]) -> dict[str, Drive]:
    return {d.device: d for d in found}


# --- lsblk, new util-linux (JSON booleans and numbers) --------------------------------------


@pytest.fixture
def new_devices() -> list[BlockDevice]:
    return probe_linux.parse_lsblk((FIXTURES / "lsblk-new.json").read_text())


def test_new_lsblk_offers_usb_stick_usb_disk_and_card_reader_only(new_devices):
    found = by_device(drives.to_drives(new_devices, inspect=no_inspect))
    assert sorted(found) == ["/dev/sda1", "/dev/sdb1", "/dev/sdc1"]


def test_new_lsblk_usb_stick_has_everything_the_list_shows(new_devices):
    stick = by_device(drives.to_drives(new_devices, inspect=no_inspect))["/dev/sda1"]
    assert stick == Drive(
        device="/dev/sda1",
        mountpoint="/media/tech/STICK",
        label="STICK",
        fstype="vfat",
        size=31036801024,
        free=123,
        is_usb=True,
        removable=True,
        model="Ultra Fit",
        packages=("old.ppkg",),
        mount_command=None,
    )


def test_usb_hard_disk_is_offered_as_usb_but_not_removable(new_devices):
    hdd = by_device(drives.to_drives(new_devices, inspect=no_inspect))["/dev/sdb1"]
    assert (hdd.is_usb, hdd.fstype, hdd.label) == (True, "exfat", "BACKUP")
    assert next(d for d in new_devices if d.device == "/dev/sdb1").removable  # hotplug


def test_unmounted_card_reader_is_reported_with_the_command_that_mounts_it(new_devices):
    card = by_device(drives.to_drives(new_devices, inspect=no_inspect))["/dev/sdc1"]
    assert card.mountpoint is None and not card.mounted
    assert card.free is None and card.packages == ()
    assert card.mount_command == "udisksctl mount -b /dev/sdc1"
    assert card.title == "CAMERA"


def test_system_nvme_loop_optical_and_zram_are_never_offered_even_with_show_all(new_devices):
    found = by_device(drives.to_drives(new_devices, show_all=True, inspect=no_inspect))
    for hidden in ["/dev/nvme0n1p1", "/dev/nvme0n1p2", "/dev/loop0", "/dev/sr0", "/dev/zram0"]:
        assert hidden not in found
    system = {d.device for d in new_devices if d.system}
    # the root is on dm-0 inside a LUKS partition: the whole NVMe disk is the system disk
    assert system == {"/dev/nvme0n1p1", "/dev/nvme0n1p2", "/dev/zram0"}


def test_internal_sata_data_disk_only_with_show_all(new_devices):
    assert "/dev/sdd1" not in by_device(drives.to_drives(new_devices, inspect=no_inspect))
    shown = by_device(drives.to_drives(new_devices, show_all=True, inspect=no_inspect))
    assert shown["/dev/sdd1"].is_usb is False and shown["/dev/sdd1"].removable is False


# --- lsblk, old util-linux (everything a string, "rm": "1") ---------------------------------


@pytest.fixture
def old_devices() -> list[BlockDevice]:
    return probe_linux.parse_lsblk((FIXTURES / "lsblk-old.json").read_text())


def test_old_lsblk_strings_are_read_as_flags_and_numbers(old_devices):
    stick = next(d for d in old_devices if d.device == "/dev/sdb1")
    system = next(d for d in old_devices if d.device == "/dev/sda1")
    assert (stick.removable, stick.bus, stick.size) == (True, "usb", 8003256320)
    assert (system.removable, system.system) == (False, True)


def test_old_lsblk_offers_unmounted_stick_superfloppy_and_sd_card(old_devices):
    found = by_device(drives.to_drives(old_devices, show_all=True, inspect=no_inspect))
    assert sorted(found) == ["/dev/mmcblk0p1", "/dev/sdb1", "/dev/sdc"]
    assert found["/dev/sdb1"].mount_command == "udisksctl mount -b /dev/sdb1"
    assert found["/dev/sdc"].mountpoint == "/media/usb0"  # no partition table
    assert found["/dev/mmcblk0p1"].removable and not found["/dev/mmcblk0p1"].is_usb


def test_loop_device_is_never_offered_even_when_mounted_with_fat(old_devices):
    loop = next(d for d in old_devices if d.device == "/dev/loop0")
    assert loop.virtual and loop.fstype == "vfat"
    assert not drives.offer(loop, show_all=True)


def test_lsblk_mountpoints_array_form_is_accepted():
    text = (
        '{"blockdevices": [{"name": "sde", "kname": "sde", "type": "disk", "rm": true,'
        ' "hotplug": true, "tran": "usb", "mountpoints": [null], "children": [{"name":'
        ' "sde1", "kname": "sde1", "type": "part", "mountpoints": ["/run/media/t/X"],'
        ' "fstype": "vfat", "size": 10}]}]}'
    )
    [dev] = probe_linux.parse_lsblk(text)
    assert (dev.device, dev.mountpoint, dev.bus) == ("/dev/sde1", "/run/media/t/X", "usb")


# --- sysfs fallback (a fake /sys built here) ------------------------------------------------


def _add_disk(sys: Path, device_path: str, disk: str, parts: dict[str, int], **attrs: str):
    real = sys / "devices" / device_path / "block" / disk
    real.mkdir(parents=True)
    for key, value in attrs.items():
        target = real / (f"device/{key}" if key in {"model", "type"} else key)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(value + "\n")
    (sys / "class" / "block").mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(real, sys / "class" / "block"), sys / "class" / "block" / disk)
    for part, sectors in parts.items():
        (real / part).mkdir()
        (real / part / "partition").write_text("1\n")
        (real / part / "size").write_text(f"{sectors}\n")
        os.symlink(
            os.path.relpath(real / part, sys / "class" / "block"), sys / "class" / "block" / part
        )


@pytest.fixture
def fake_sys(tmp_path: Path) -> Path:
    sys = tmp_path / "sys"
    usb = "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0"
    _add_disk(sys, usb, "sdb", {"sdb1": 60_000_000}, removable="1", model="Ultra Fit")
    usb_hdd = "pci0000:00/0000:00:14.0/usb2/2-2/2-2:1.0/host7/target7:0:0/7:0:0:0"
    _add_disk(sys, usb_hdd, "sdc", {"sdc1": 1_953_000_000}, removable="0", model="Elements")
    nvme = "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0"
    _add_disk(sys, nvme, "nvme0n1", {"nvme0n1p1": 1_000_000, "nvme0n1p2": 900_000_000})
    sd_slot = "pci0000:00/0000:00:14.5/mmc_host/mmc0/mmc0:aaaa"
    _add_disk(sys, sd_slot, "mmcblk0", {"mmcblk0p1": 10}, type="SD")
    emmc = "platform/emmc/mmc_host/mmc1/mmc1:0001"
    _add_disk(sys, emmc, "mmcblk1", {"mmcblk1p1": 10}, type="MMC")
    _add_disk(sys, "virtual", "loop0", {}, removable="0")
    _add_disk(sys, "virtual", "ram0", {}, removable="0")
    _add_disk(sys, "usb9/9-1/host9/target9:0:0/9:0:0:0", "sdd", {"sdd1": 16_000_000})
    return sys


MOUNTS = {
    "/dev/nvme0n1p2": ("/", "ext4"),
    "/dev/nvme0n1p1": ("/boot/efi", "vfat"),
    "/dev/sdb1": ("/media/STICK", "vfat"),
    "/dev/sdc1": ("/media/BACKUP", "ntfs3"),
    "/dev/loop0": ("/snap/x", "squashfs"),
}


def test_sysfs_finds_usb_by_the_usb_component_of_the_device_path(fake_sys):
    devices = {d.device: d for d in probe_linux.parse_sysfs(fake_sys, MOUNTS)}
    stick, hdd = devices["/dev/sdb1"], devices["/dev/sdc1"]
    assert (stick.bus, stick.removable, stick.disk, stick.model) == (
        "usb",
        True,
        "/dev/sdb",
        "Ultra Fit",
    )
    assert stick.size == 60_000_000 * 512 and stick.mountpoint == "/media/STICK"
    assert (hdd.bus, hdd.removable) == ("usb", False)
    assert devices["/dev/nvme0n1p1"].system and devices["/dev/nvme0n1p2"].bus == "nvme"


def test_sysfs_offers_sticks_sd_and_unmounted_usb_never_system_loop_or_ram(fake_sys):
    found = by_device(
        drives.to_drives(
            probe_linux.parse_sysfs(fake_sys, MOUNTS), show_all=True, inspect=no_inspect
        )
    )
    # show_all: the soldered eMMC too, as a fixed disk that is not the system disk
    assert sorted(found) == [
        "/dev/mmcblk0p1",
        "/dev/mmcblk1p1",
        "/dev/sdb1",
        "/dev/sdc1",
        "/dev/sdd1",
    ]
    assert found["/dev/sdd1"].mount_command == "udisksctl mount -b /dev/sdd1"


def test_sysfs_tells_an_sd_card_from_soldered_emmc_by_the_card_type(fake_sys):
    devices = {d.device: d for d in probe_linux.parse_sysfs(fake_sys, MOUNTS)}
    assert devices["/dev/mmcblk0p1"].bus == "sd" and drives.offer(devices["/dev/mmcblk0p1"])
    assert devices["/dev/mmcblk1p1"].bus == "mmc" and not drives.offer(devices["/dev/mmcblk1p1"])


def test_lsblk_mmc_device_is_checked_against_the_card_type_in_sysfs(old_devices, tmp_path):
    device = tmp_path / "sys" / "block" / "mmcblk0" / "device"
    device.mkdir(parents=True)
    (device / "type").write_text("MMC\n")
    refined = {d.device: d for d in probe_linux.mmc_card_types(old_devices, tmp_path / "sys")}
    assert refined["/dev/mmcblk0p1"].bus == "mmc" and not drives.offer(refined["/dev/mmcblk0p1"])
    assert refined["/dev/sdb1"] == next(d for d in old_devices if d.device == "/dev/sdb1")
    (device / "type").write_text("SD\n")
    [card] = [
        d for d in probe_linux.mmc_card_types(old_devices, tmp_path / "sys") if "mmc" in d.device
    ]
    assert card.bus == "sd" and drives.offer(card)


def test_sysfs_without_class_block_finds_nothing(tmp_path):
    assert probe_linux.parse_sysfs(tmp_path, {}) == []


# --- macOS diskutil plists ------------------------------------------------------------------


def _mac(name: str) -> BlockDevice:
    return probe_macos.parse_diskutil_info((FIXTURES / f"diskutil-{name}.plist").read_bytes())


def test_diskutil_usb_stick_and_sd_card_are_offered():
    stick, card = _mac("usb-stick"), _mac("sd-card")
    assert (stick.bus, stick.removable, stick.fstype, stick.label) == (
        "usb",
        True,
        "msdos",
        "STICK",
    )
    assert (stick.device, stick.disk, stick.mountpoint) == (
        "/dev/disk4s1",
        "/dev/disk4",
        "/Volumes/STICK",
    )
    assert card.bus == "sd" and drives.offer(card)
    assert drives.offer(stick)


def test_diskutil_usb_hard_disk_is_offered_because_it_is_external():
    hdd = _mac("usb-hdd")
    assert hdd.removable and drives.offer(hdd)


def test_diskutil_system_volumes_and_disk_images_are_never_offered():
    for name in ["internal-ssd", "internal-data", "disk-image"]:
        assert not drives.offer(_mac(name), show_all=True), name


def test_diskutil_unmounted_stick_gets_diskutil_mount_command():
    [drive] = drives.to_drives([_mac("usb-unmounted")], system="Darwin", inspect=no_inspect)
    assert drive.mountpoint is None
    assert drive.mount_command == "diskutil mount /dev/disk8s1"


def test_diskutil_list_yields_partitions_and_unpartitioned_disks():
    ids = probe_macos.diskutil_identifiers((FIXTURES / "diskutil-list.plist").read_bytes())
    assert ids == ["disk0s1", "disk0s2", "disk4s1", "disk9"]


# --- Windows psutil opts --------------------------------------------------------------------


def test_windows_removable_offered_fixed_only_with_show_all_system_and_cdrom_never():
    parts = [
        SimpleNamespace(device="C:\\", mountpoint="C:\\", fstype="NTFS", opts="rw,fixed"),
        SimpleNamespace(device="D:\\", mountpoint="D:\\", fstype="CDFS", opts="ro,cdrom"),
        SimpleNamespace(device="E:\\", mountpoint="E:\\", fstype="FAT32", opts="rw,removable"),
        SimpleNamespace(device="F:\\", mountpoint="F:\\", fstype="exFAT", opts="rw,fixed"),
    ]
    devices = probe_windows.parse_windows_partitions(parts, "C:")
    assert [d.device for d in drives.to_drives(devices, inspect=no_inspect)] == ["E:\\"]
    shown = drives.to_drives(devices, show_all=True, inspect=no_inspect)
    assert [d.device for d in shown] == ["E:\\", "F:\\"]


# --- inspecting a real directory ------------------------------------------------------------


def test_packages_at_lists_only_ppkg_files_at_the_root_case_insensitively(tmp_path):
    (tmp_path / "b.PPKG").write_bytes(b"x")
    (tmp_path / "a.ppkg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_bytes(b"x")
    (tmp_path / "dir.ppkg").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.ppkg").write_bytes(b"x")
    assert drives.packages_at(str(tmp_path)) == ("a.ppkg", "b.PPKG")
    assert drives.packages_at(str(tmp_path / "missing")) == ()


def test_free_space_of_a_real_filesystem_is_positive(tmp_path):
    free = drives.free_space(str(tmp_path))
    assert free is not None and free > 0
    assert drives.free_space(str(tmp_path / "missing")) is None


def test_this_machine_probe_never_offers_the_system_disk():
    import psutil

    root = next(p.device for p in psutil.disk_partitions() if p.mountpoint == "/")
    assert all(d.device != root and d.mountpoint != "/" for d in drives.find_drives(True))


@pytest.mark.skipif(mounts.loop_missing() is not None, reason=mounts.loop_missing() or "")
def test_this_machine_probe_offers_a_mounted_loop_image_only_among_all_drives(tmp_path):
    """A real ext4 image on a loop device: present in psutil, never offered as a stick, but
    choosable behind "all drives" like any other mounted filesystem that is not the system's."""
    import psutil

    image = mounts.make_ext4(tmp_path / "disk.img", 8)
    with mounts.mount_ext4(image, tmp_path / "mnt") as mnt:
        assert any(p.mountpoint == str(mnt) for p in psutil.disk_partitions())
        assert all(d.mountpoint != str(mnt) for d in drives.find_drives(show_all=False))
        assert any(d.mountpoint == str(mnt) for d in drives.find_drives(show_all=True))
        assert all(d.mountpoint != "/" for d in drives.find_drives(show_all=True))


# --- the watcher ----------------------------------------------------------------------------


def _drive(device: str, mountpoint: str | None = None) -> Drive:
    return Drive(device, mountpoint, "", "vfat", 1, None, True, True)


class FakeMachine:
    """Stands in for sticks being plugged in: no USB port exists on the test machine."""

    def __init__(self) -> None:
        self.drives: list[Drive] = []
        self.probes = 0

    def lister(self, show_all: bool) -> list[Drive]:
        self.probes += 1
        return list(self.drives)

    def fingerprint(self) -> bytes:
        return repr(self.drives).encode()


def test_watcher_reports_insertion_mounting_and_removal():
    machine = FakeMachine()
    watcher = DriveWatcher(lister=machine.lister, fingerprint=machine.fingerprint)
    assert not watcher.poll()
    machine.drives = [_drive("/dev/sdb1")]
    changes = watcher.poll()
    assert [d.device for d in changes.added] == ["/dev/sdb1"] and not changes.removed
    machine.drives = [_drive("/dev/sdb1", "/media/STICK")]
    changes = watcher.poll()
    assert [d.mountpoint for d in changes.changed] == ["/media/STICK"] and not changes.added
    machine.drives = []
    changes = watcher.poll()
    assert [d.device for d in changes.removed] == ["/dev/sdb1"]
    assert watcher.drives == {}


def test_watcher_does_not_probe_while_the_kernel_view_is_unchanged():
    machine = FakeMachine()
    watcher = DriveWatcher(lister=machine.lister, fingerprint=machine.fingerprint)
    watcher.poll()
    for _ in range(5):
        watcher.poll()
    assert machine.probes == 1
    watcher.poll(force=True)
    assert machine.probes == 2


def test_kernel_fingerprint_changes_when_a_filesystem_is_mounted(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    before = watch.kernel_fingerprint()
    assert before is not None
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tmp_path)], check=True)
    try:
        assert watch.kernel_fingerprint() != before
    finally:
        subprocess.run(["umount", str(tmp_path)], check=True)
    assert watch.kernel_fingerprint() == before
