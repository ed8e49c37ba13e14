"""``bulk-enroll write``: put a package on one or more USB sticks, verified."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.errors import UserError

NAME = "write"
HELP = (
    "Write a package to the root of USB sticks and verify it by reading it back; "
    "exits 0 only when every copy verified."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", type=Path, metavar="PKG.ppkg", help="the package to write")
    parser.add_argument(
        "--drive",
        action="append",
        required=True,
        metavar="MOUNTPOINT",
        help="where the stick is mounted (see `bulk-enroll drives`); repeat for several sticks",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="replace packages already at the stick's root (Windows would ask which to apply)",
    )
    parser.add_argument("--eject", action="store_true", help="unmount each stick once verified")
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow a folder that is not a mount point, or a drive of the system disk",
    )


class _ProgressLine:
    """One self-updating line on a terminal; silent when stderr is not one."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = ""

    def __call__(self, mountpoint: str, p) -> None:
        if not self.tty:
            return
        verb = {"write": "writing", "sync": "flushing to the stick", "verify": "verifying"}
        line = f"{mountpoint}: {verb[p.phase]} {p.fraction:4.0%}"
        if line != self.last:
            self.last = line
            print(f"\r{line}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty and self.last:
            print(file=sys.stderr)
            self.last = ""


def run(args: argparse.Namespace) -> int:
    from tui.usbwrite import check_package, eject, write_to_sticks

    check_package(args.package)  # a bad package is one error, not one per stick
    progress = _ProgressLine()
    failures = 0
    for mountpoint in args.drive:
        [result] = write_to_sticks(
            args.package, [mountpoint], replace=args.replace, force=args.force, progress=progress
        )
        progress.done()
        if result.result is None:
            if len(args.drive) == 1:
                raise UserError(result.error or "The write failed.")
            failures += 1
            print(f"FAILED  {mountpoint}: {result.error}")
            continue
        written = result.result
        removed = f" Removed {', '.join(written.removed)}." if written.removed else ""
        print(f"OK      {written.path}: written and verified (SHA-256 {written.sha256}).{removed}")
        if not args.eject:
            print("        Synced to the stick; unmount it (or use --eject) before pulling it out.")
            continue
        try:
            print(f"        {eject(mountpoint)}")
        except UserError as exc:
            if len(args.drive) == 1:
                raise
            failures += 1
            print(f"        {exc}")
    if failures:
        raise UserError(f"{failures} of {len(args.drive)} drives failed; see the list above.")
    return 0
