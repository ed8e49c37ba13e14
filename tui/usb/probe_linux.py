"""The Linux probe: ``lsblk -J`` (tree form), with sysfs where lsblk is missing or odd.

Partitions inherit bus, removability and model from their disk; mount points and fstypes
lsblk misses (no udev, e.g. in containers) come from psutil.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from tui.usb.blockdevice import SYSTEM_MOUNTPOINTS, BlockDevice, as_int, run_probe

LSBLK_COLUMNS = "NAME,KNAME,PKNAME,TYPE,RM,HOTPLUG,TRAN,MOUNTPOINT,FSTYPE,SIZE,LABEL,MODEL"

_VIRTUAL_PREFIXES = ("loop", "sr", "ram", "zram", "nbd", "fd", "md", "dm-")
_VIRTUAL_TYPES = frozenset({"loop", "rom", "ram"})


def _flag(value: object) -> bool:
    """lsblk >= 2.33 prints JSON booleans, older versions the strings "0"/"1"."""
    if isinstance(value, str):
        return value.strip() == "1"
    return bool(value)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _bus(tran: str, name: str) -> str:
    if tran:
        return "sd" if tran == "mmc" else tran
    if name.startswith("mmcblk"):
        return "sd"
    if name.startswith("nvme"):
        return "nvme"
    return ""


def _virtual_name(name: str) -> bool:
    return name.startswith(_VIRTUAL_PREFIXES)


def _subtree_mountpoints(node: dict) -> Iterable[str]:
    for mp in [node.get("mountpoint"), *(node.get("mountpoints") or [])]:
        if mp:
            yield mp
    for child in node.get("children") or []:
        yield from _subtree_mountpoints(child)


def parse_lsblk(text: str) -> list[BlockDevice]:
    """The filesystem-bearing devices in ``lsblk -J -b -o LSBLK_COLUMNS`` output (tree form).

    Partitions inherit bus, removability and model from their disk; a disk without a partition
    table but with a filesystem (a "superfloppy" stick) is itself a candidate. A disk any of
    whose descendants (partition, LUKS, LVM) holds a system mount point is the system disk.
    """
    data = json.loads(text)
    found: list[BlockDevice] = []
    for disk in data.get("blockdevices") or []:
        name = _text(disk.get("kname") or disk.get("name"))
        kind = _text(disk.get("type"))
        tran = _text(disk.get("tran")).lower()
        system = any(mp in SYSTEM_MOUNTPOINTS for mp in _subtree_mountpoints(disk))
        common = dict(
            disk=f"/dev/{name}",
            bus=_bus(tran, name),
            removable=_flag(disk.get("rm")) or _flag(disk.get("hotplug")),
            model=_text(disk.get("model")),
            virtual=kind in _VIRTUAL_TYPES or _virtual_name(name),
            system=system,
        )
        children = [c for c in disk.get("children") or [] if _text(c.get("type")) != "md"]
        for node in children or [disk]:
            kname = _text(node.get("kname") or node.get("name"))
            if _virtual_name(kname) and not common["virtual"]:
                continue  # a crypt/LVM mapping on the disk, not a partition of it
            if children and "boot" in kname.removeprefix(name):
                continue  # mmcblk0boot0: eMMC hardware boot areas
            mountpoint = node.get("mountpoint") or next(iter(node.get("mountpoints") or []), None)
            found.append(
                BlockDevice(
                    device=f"/dev/{kname}",
                    mountpoint=mountpoint or None,
                    fstype=_text(node.get("fstype")),
                    label=_text(node.get("label")),
                    size=as_int(node.get("size")),
                    **common,
                )
            )
    return found


# --- Linux without udev: sysfs --------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def parse_sysfs(root: Path, mounts: dict[str, tuple[str, str]]) -> list[BlockDevice]:
    """The partitions (and unpartitioned disks) under ``root`` (normally ``/sys``).

    ``mounts`` maps a device path to (mountpoint, fstype), as psutil reports it. USB devices
    are those whose resolved ``class/block/<name>`` path goes through a ``usbN`` component.
    """
    block = root / "class" / "block"
    if not block.is_dir():
        return []
    entries = sorted(p.name for p in block.iterdir())
    disks: dict[str, list[str]] = {}
    for name in entries:
        real = (block / name).resolve()
        if (real / "partition").exists():
            disks.setdefault(real.parent.name, []).append(name)
        else:
            disks.setdefault(name, [])
    system_disks = {
        disk
        for disk, parts in disks.items()
        for n in [disk, *parts]
        if mounts.get(f"/dev/{n}", ("", ""))[0] in SYSTEM_MOUNTPOINTS
    }
    found = []
    for disk, parts in disks.items():
        real = (block / disk).resolve()
        usb = any(part.startswith("usb") for part in real.parts)
        bus = "usb" if usb else _bus("", disk)
        if bus == "sd" and _read(real / "device" / "type") not in {"", "SD"}:
            bus = "mmc"  # soldered-in eMMC storage, not a card in a slot
        for name in parts or [disk]:
            mountpoint, fstype = mounts.get(f"/dev/{name}", (None, ""))
            sectors = as_int(_read(block / name / "size"))
            found.append(
                BlockDevice(
                    device=f"/dev/{name}",
                    disk=f"/dev/{disk}",
                    mountpoint=mountpoint or None,
                    fstype=fstype,
                    size=sectors * 512,
                    bus=bus,
                    removable=_read(real / "removable") == "1",
                    model=_read(real / "device" / "model"),
                    virtual=_virtual_name(disk),
                    system=disk in system_disks,
                )
            )
    return found


def _psutil_mounts() -> dict[str, tuple[str, str]]:
    import psutil

    return {p.device: (p.mountpoint, p.fstype) for p in psutil.disk_partitions(all=False)}


def _with_psutil_mounts(devices: list[BlockDevice]) -> list[BlockDevice]:
    """lsblk without udev may miss a mount point or fstype that the kernel knows."""
    mounts = _psutil_mounts()
    out = []
    for dev in devices:
        mp, fstype = mounts.get(dev.device, (None, ""))
        out.append(
            replace(dev, mountpoint=dev.mountpoint or mp or None, fstype=dev.fstype or fstype)
        )
    return out


def mmc_card_types(devices: list[BlockDevice], sysfs_root: Path) -> list[BlockDevice]:
    """lsblk cannot tell an SD card from soldered eMMC; the card's ``device/type`` can."""
    out = []
    for dev in devices:
        name = dev.disk.removeprefix("/dev/")
        kind = _read(sysfs_root / "block" / name / "device" / "type")
        if dev.bus == "sd" and kind not in {"", "SD"}:
            dev = replace(dev, bus="mmc")
        out.append(dev)
    return out


def probe_linux(sysfs_root: Path = Path("/sys")) -> list[BlockDevice]:
    raw = run_probe(["lsblk", "-J", "-b", "-o", LSBLK_COLUMNS])
    if raw is not None:
        try:
            devices = parse_lsblk(raw.decode("utf-8", "replace"))
        except (ValueError, AttributeError, TypeError):
            pass  # unexpected output: fall back to sysfs
        else:
            return mmc_card_types(_with_psutil_mounts(devices), sysfs_root)
    return parse_sysfs(sysfs_root, _psutil_mounts())
