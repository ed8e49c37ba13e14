"""``bulk-enroll drives``: the USB sticks a package can be written to."""

from __future__ import annotations

import argparse
import json

NAME = "drives"
HELP = "List the removable drives (USB sticks, SD cards) a package can be written to."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--all",
        action="store_true",
        help="also list fixed disks (USB disks that report as fixed); never the system disk",
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def render(drives) -> str:
    from tui.cli.main import table

    rows = [("Device", "Mounted at", "FS", "Size", "Free", "Name", "Packages")]
    for d in drives:
        rows.append(
            (
                d.device,
                d.mountpoint or "(not mounted)",
                d.fstype or "?",
                human_size(d.size or None),
                human_size(d.free),
                d.title + ("" if d.is_usb else " (not USB)"),
                ", ".join(d.packages) or "-",
            )
        )
    lines = table(rows)
    for d in drives:
        if not d.mounted:
            lines.append(f"{d.device} is not mounted; mount it with: {d.mount_command}")
        elif len(d.packages) > 0:
            lines.append(f"{d.mountpoint} already holds a package; `write --replace` replaces it.")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from tui.usb.drives import find_drives

    drives = find_drives(show_all=args.all)
    if args.json:
        print(json.dumps([d.to_json() for d in drives], indent=2))
    elif drives:
        print(render(drives))
    else:
        hint = "" if args.all else " (--all also lists fixed disks)"
        print(f"No removable drive found: insert a USB stick{hint}.")
    return 0
