"""Removable drives: which USB sticks are there, mounted where, and what they already hold.

Discovery is psutil plus one probe per OS (Linux ``lsblk -J`` with a sysfs fallback, macOS
``diskutil info -plist``, Windows psutil's ``removable``). Each probe's raw output is parsed
by a pure function into ``BlockDevice`` records, and one rule (``offer``) decides which of
them a technician may write to: never the system disk, loop, optical or RAM devices; fixed
disks only with ``show_all``. Tests feed captured outputs to the same functions.
"""

from __future__ import annotations

import json
import os
import platform
import plistlib
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

LSBLK_COLUMNS = "NAME,KNAME,PKNAME,TYPE,RM,HOTPLUG,TRAN,MOUNTPOINT,FSTYPE,SIZE,LABEL,MODEL"

# Mount points that mark a disk as the one the system runs from.
SYSTEM_MOUNTPOINTS = frozenset(
    {"/", "/boot", "/boot/efi", "/efi", "/usr", "/var", "/home", "[SWAP]", "C:\\"}
)
_VIRTUAL_PREFIXES = ("loop", "sr", "ram", "zram", "nbd", "fd", "md", "dm-")
_VIRTUAL_TYPES = frozenset({"loop", "rom", "ram"})


@dataclass(frozen=True, slots=True)
class BlockDevice:
    """One filesystem-bearing device as a probe saw it, before deciding whether to offer it."""

    device: str  # /dev/sdb1, /dev/disk4s1, E:\
    disk: str  # the whole disk it lives on: /dev/sdb, /dev/disk4, E:\
    mountpoint: str | None
    fstype: str = ""
    label: str = ""
    size: int = 0
    bus: str = ""  # usb, nvme, sata, sd, ... ("" when the probe cannot tell)
    removable: bool = False  # removable media or hot-pluggable
    model: str = ""
    virtual: bool = False  # loop, optical, RAM, disk image
    system: bool = False  # on the disk the running system lives on


@dataclass(frozen=True, slots=True)
class Drive:
    """A drive the user may write a package to."""

    device: str
    mountpoint: str | None  # None: present but not mounted, see mount_command
    label: str
    fstype: str
    size: int  # bytes, 0 when unknown
    free: int | None  # bytes; None when not mounted or the filesystem does not say
    is_usb: bool
    removable: bool
    model: str = ""
    packages: tuple[str, ...] = ()  # .ppkg files already at the root
    mount_command: str | None = None

    @property
    def mounted(self) -> bool:
        return self.mountpoint is not None

    @property
    def title(self) -> str:
        """How the drive is named in lists: label, else model, else device."""
        return self.label or self.model or self.device

    def to_json(self) -> dict:
        return {
            "device": self.device,
            "mountpoint": self.mountpoint,
            "label": self.label,
            "fstype": self.fstype,
            "size": self.size,
            "free": self.free,
            "usb": self.is_usb,
            "removable": self.removable,
            "model": self.model,
            "packages": list(self.packages),
            "mount_command": self.mount_command,
        }


# --- the rule -------------------------------------------------------------------------------


def offer(dev: BlockDevice, show_all: bool = False) -> bool:
    """Whether a device may be listed as a write target."""
    if dev.virtual or dev.system:
        return False
    return show_all or dev.bus in {"usb", "sd"} or dev.removable


def mount_command(dev: BlockDevice, system: str) -> str:
    if system == "Darwin":
        return f"diskutil mount {dev.device}"
    return f"udisksctl mount -b {dev.device}"


# --- Linux: lsblk -J ------------------------------------------------------------------------


def _flag(value: object) -> bool:
    """lsblk >= 2.33 prints JSON booleans, older versions the strings "0"/"1"."""
    if isinstance(value, str):
        return value.strip() == "1"
    return bool(value)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _size(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


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
                    size=_size(node.get("size")),
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
            sectors = _size(_read(block / name / "size"))
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


# --- macOS: diskutil info -plist ------------------------------------------------------------


def parse_diskutil_info(data: bytes) -> BlockDevice:
    """One volume from ``diskutil info -plist <identifier>``."""
    info = plistlib.loads(data)
    protocol = str(info.get("BusProtocol", ""))
    mountpoint = str(info.get("MountPoint") or "") or None
    node = str(info.get("DeviceNode") or f"/dev/{info.get('DeviceIdentifier', '')}")
    parent = str(info.get("ParentWholeDisk") or "")
    bus = {"USB": "usb", "Secure Digital": "sd", "PCI-Express": "nvme", "SATA": "sata"}.get(
        protocol, protocol.lower()
    )
    return BlockDevice(
        device=node,
        disk=f"/dev/{parent}" if parent else node,
        mountpoint=mountpoint,
        fstype=str(info.get("FilesystemType") or ""),
        label=str(info.get("VolumeName") or ""),
        size=_size(info.get("TotalSize") or info.get("Size")),
        bus=bus,
        removable=bool(info.get("RemovableMedia") or info.get("Ejectable"))
        or not info.get("Internal", True),
        model=str(info.get("MediaName") or ""),
        virtual=protocol == "Disk Image" or info.get("VirtualOrPhysical") == "Virtual",
        system=mountpoint is not None
        and (mountpoint == "/" or mountpoint.startswith("/System/Volumes")),
    )


def diskutil_identifiers(data: bytes) -> list[str]:
    """Every partition (or unpartitioned disk) in ``diskutil list -plist`` output."""
    listing = plistlib.loads(data)
    ids = []
    for disk in listing.get("AllDisksAndPartitions", []):
        parts = disk.get("Partitions") or [disk]
        ids.extend(p["DeviceIdentifier"] for p in parts)
    return ids


# --- Windows: psutil opts -------------------------------------------------------------------


def parse_windows_partitions(partitions: Sequence, system_drive: str = "C:") -> list[BlockDevice]:
    """psutil partitions on Windows: opts holds ``removable``, ``fixed`` or ``cdrom``."""
    found = []
    for p in partitions:
        opts = set(p.opts.split(","))
        system = p.mountpoint.rstrip("\\").upper() == system_drive.rstrip("\\").upper()
        found.append(
            BlockDevice(
                device=p.device,
                disk=p.device,
                mountpoint=p.mountpoint or None,
                fstype=p.fstype,
                removable="removable" in opts,
                virtual="cdrom" in opts or not p.fstype,
                system=system,
            )
        )
    return found


# --- from devices to drives -----------------------------------------------------------------


def packages_at(mountpoint: str) -> tuple[str, ...]:
    """Names of the ``.ppkg`` files at a drive's root (case-insensitive), sorted."""
    try:
        with os.scandir(mountpoint) as it:
            names = [
                e.name
                for e in it
                if e.name.lower().endswith(".ppkg") and e.is_file(follow_symlinks=False)
            ]
    except OSError:
        return ()
    return tuple(sorted(names, key=str.lower))


def free_space(mountpoint: str) -> int | None:
    """Free bytes, or None when the filesystem does not report its size (fusefat says 0)."""
    try:
        st = os.statvfs(mountpoint) if hasattr(os, "statvfs") else None
        if st is not None:
            return st.f_bavail * st.f_frsize if st.f_blocks else None
        return shutil.disk_usage(mountpoint).free
    except OSError:
        return None


def inspect_mountpoint(mountpoint: str) -> tuple[int | None, tuple[str, ...]]:
    return free_space(mountpoint), packages_at(mountpoint)


Inspector = Callable[[str], tuple[int | None, tuple[str, ...]]]


def to_drives(
    devices: Iterable[BlockDevice],
    show_all: bool = False,
    *,
    system: str = "Linux",
    inspect: Inspector = inspect_mountpoint,
) -> list[Drive]:
    drives = []
    for dev in devices:
        if not offer(dev, show_all):
            continue
        free, packages = inspect(dev.mountpoint) if dev.mountpoint else (None, ())
        drives.append(
            Drive(
                device=dev.device,
                mountpoint=dev.mountpoint,
                label=dev.label,
                fstype=dev.fstype,
                size=dev.size,
                free=free,
                is_usb=dev.bus == "usb",
                removable=dev.removable or dev.bus in {"usb", "sd"},
                model=dev.model,
                packages=packages,
                mount_command=None if dev.mountpoint else mount_command(dev, system),
            )
        )
    return sorted(drives, key=lambda d: d.device)


# --- probing this machine -------------------------------------------------------------------


def _run(argv: list[str]) -> bytes | None:
    try:
        out = subprocess.run(argv, capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


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
    raw = _run(["lsblk", "-J", "-b", "-o", LSBLK_COLUMNS])
    if raw is not None:
        try:
            devices = parse_lsblk(raw.decode("utf-8", "replace"))
        except (ValueError, AttributeError, TypeError):
            pass  # unexpected output: fall back to sysfs
        else:
            return mmc_card_types(_with_psutil_mounts(devices), sysfs_root)
    return parse_sysfs(sysfs_root, _psutil_mounts())


def probe_macos() -> list[BlockDevice]:
    listing = _run(["diskutil", "list", "-plist", "physical"])
    if listing is None:
        return []
    devices = []
    for ident in diskutil_identifiers(listing):
        info = _run(["diskutil", "info", "-plist", ident])
        if info is not None:
            devices.append(parse_diskutil_info(info))
    return devices


def probe_windows() -> list[BlockDevice]:
    import psutil

    system_drive = os.environ.get("SYSTEMDRIVE", "C:")  # case-insensitive on Windows
    return parse_windows_partitions(psutil.disk_partitions(all=False), system_drive)


def probe(system: str | None = None) -> list[BlockDevice]:
    system = system or platform.system()
    if system == "Linux":
        return probe_linux()
    if system == "Darwin":
        return probe_macos()
    if system == "Windows":
        return probe_windows()
    return []


_PSEUDO_FS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "mqueue", "overlay",
     "securityfs", "debugfs", "tracefs", "pstore", "bpf", "configfs", "fusectl", "autofs",
     "hugetlbfs", "binfmt_misc", "nsfs", "squashfs", "ramfs", "efivarfs", "rpc_pipefs"}
)  # fmt: skip
_PSEUDO_ROOTS = ("/proc", "/sys", "/dev", "/run", "/snap", "/boot")


def other_mounts(
    partitions: Iterable, devices: Iterable[BlockDevice], root_dev: int | None = None
) -> list[BlockDevice]:
    """Mounted filesystems the probe did not offer, for "all drives": loop images, FUSE
    filesystems, anything mounted by hand. Never the system disk: not a device the probe
    marked as system, not a system mount point, not on the root filesystem itself."""
    known = list(devices)
    refused = {d.device for d in known if d.system}
    offered = {d.mountpoint for d in known if not d.system and not d.virtual}
    if root_dev is None:
        root_dev = os.stat("/").st_dev
    found, seen = [], set()
    for p in partitions:
        mp = p.mountpoint
        if (
            mp in SYSTEM_MOUNTPOINTS
            or mp in offered
            or mp in seen
            or p.device in refused
            or p.fstype in _PSEUDO_FS
            or any(mp == r or mp.startswith(r + "/") for r in _PSEUDO_ROOTS)
        ):
            continue
        try:
            if not os.path.isdir(mp) or os.stat(mp).st_dev == root_dev:
                continue
        except OSError:
            continue
        seen.add(mp)
        device = p.device if p.device.startswith("/dev/") else mp
        found.append(BlockDevice(device=device, disk=device, mountpoint=mp, fstype=p.fstype))
    return found


def find_drives(show_all: bool = False) -> list[Drive]:
    """The drives of this machine a package may be written to; with ``show_all`` also fixed
    disks and every other mounted filesystem (but never the system disk)."""
    system = platform.system()
    devices = probe(system)
    found = to_drives(devices, show_all, system=system)
    if show_all and system in ("Linux", "Darwin"):
        import psutil

        listed = {d.mountpoint for d in found}
        extra = [
            d
            for d in other_mounts(psutil.disk_partitions(all=True), devices)
            if d.mountpoint not in listed
        ]
        found += to_drives(extra, show_all=True, system=system)
        # the same device twice (a loop image mounted at two places): keep the first
        unique = {}
        for d in found:
            unique.setdefault(d.device, d)
        found = list(unique.values())
    return sorted(found, key=lambda d: (not d.removable, d.device))


# --- watching -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DriveChanges:
    added: list[Drive] = field(default_factory=list)
    removed: list[Drive] = field(default_factory=list)
    changed: list[Drive] = field(default_factory=list)  # e.g. mounted, or packages differ

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def kernel_fingerprint() -> bytes | None:
    """What changes when a stick comes, goes, or is (un)mounted; None where not available."""
    try:
        return Path("/proc/partitions").read_bytes() + Path("/proc/self/mounts").read_bytes()
    except OSError:
        return None


class DriveWatcher:
    """Polls for drives being inserted, removed, or (un)mounted. No threads: call ``poll()``.

    On Linux a poll first compares /proc/partitions and the mount table and probes only when
    they changed, so polling every second or two costs two small reads.
    """

    def __init__(
        self,
        show_all: bool = False,
        *,
        lister: Callable[[bool], list[Drive]] = find_drives,
        fingerprint: Callable[[], bytes | None] = kernel_fingerprint,
    ) -> None:
        self.show_all = show_all
        self._lister = lister
        self._fingerprint = fingerprint
        self._last_print: bytes | None = None
        self.drives: dict[str, Drive] = {}

    def poll(self, force: bool = False) -> DriveChanges:
        fp = self._fingerprint()
        if not force and fp is not None and fp == self._last_print:
            return DriveChanges()
        self._last_print = fp
        now = {d.device: d for d in self._lister(self.show_all)}
        before = self.drives
        self.drives = now
        return DriveChanges(
            added=[d for k, d in now.items() if k not in before],
            removed=[d for k, d in before.items() if k not in now],
            changed=[d for k, d in now.items() if k in before and before[k] != d],
        )
