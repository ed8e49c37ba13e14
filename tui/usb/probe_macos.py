"""The macOS probe: ``diskutil list -plist physical``, then ``diskutil info -plist`` each."""

from __future__ import annotations

import plistlib

from tui.usb.blockdevice import BlockDevice, as_int, run_probe


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
        size=as_int(info.get("TotalSize") or info.get("Size")),
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


def probe_macos() -> list[BlockDevice]:
    listing = run_probe(["diskutil", "list", "-plist", "physical"])
    if listing is None:
        return []
    devices = []
    for ident in diskutil_identifiers(listing):
        info = run_probe(["diskutil", "info", "-plist", ident])
        if info is not None:
            devices.append(parse_diskutil_info(info))
    return devices
