"""``bulk-enroll write``: put a package on one or more USB sticks, verified."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tui.errors import UserError

NAME = "write"
HELP = (
    "Write a package to the root of USB sticks, in parallel, and verify each by reading it "
    "back; exits 0 only when every copy verified."
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
    parser.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="write at most N sticks at the same time (default: all of them)",
    )
    parser.add_argument("--eject", action="store_true", help="unmount each stick once verified")
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow a folder that is not a mount point, or a drive of the system disk",
    )


class _ProgressLine:
    """One self-updating status line on a terminal for every stick being written at once;
    silent when stderr is not a terminal. Called one update at a time (write_to_sticks)."""

    VERB = {"write": "writing", "sync": "flushing", "verify": "verifying"}

    def __init__(self, mountpoints: list[str]) -> None:
        self.tty = sys.stderr.isatty()
        self.state = {mp: "waiting" for mp in mountpoints}
        self.last = ""

    def __call__(self, mountpoint: str, p) -> None:
        self.state[mountpoint] = f"{self.VERB[p.phase]} {p.fraction:4.0%}"
        self._show()

    def finished(self, result) -> None:
        self.state[result.mountpoint] = "verified" if result.ok else "FAILED"
        self._show()

    def _show(self) -> None:
        if not self.tty:
            return
        line = "  ".join(f"{mp}: {state}" for mp, state in self.state.items())
        width = shutil.get_terminal_size().columns - 1  # a wrapped line would not be redrawn
        if len(line) > width:
            line = "  ".join(f"…{mp[-12:]}: {state}" for mp, state in self.state.items())
            line = line[:width]
        if line != self.last:
            pad = " " * max(0, len(self.last) - len(line))
            self.last = line
            print(f"\r{line}{pad}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty and self.last:
            print(file=sys.stderr)
            self.last = ""


def run(args: argparse.Namespace) -> int:
    from tui.project.logfile import log
    from tui.usb.batch import write_to_sticks
    from tui.usb.checks import check_package
    from tui.usb.eject import eject

    check_package(args.package)  # a bad package is one error, not one per stick
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, not {args.jobs}.")
    drives = [str(d) for d in args.drive]
    progress = _ProgressLine(drives)
    log.info("Writing %s to %d sticks at once", args.package, len(drives))
    try:
        results = write_to_sticks(
            args.package,
            drives,
            replace=args.replace,
            force=args.force,
            jobs=args.jobs,
            progress=progress,
            done=progress.finished,
        )
    finally:
        progress.done()
    if len(drives) == 1 and not results[0].ok:
        raise UserError(results[0].error or "The write failed.")
    failures = 0
    for result in results:
        if result.result is None:
            failures += 1
            log.info("Writing to %s failed: %s", result.mountpoint, result.error)
            print(f"FAILED  {result.mountpoint}: {result.error}")
            continue
        written = result.result
        log.info("Written and verified: %s (SHA-256 %s)", written.path, written.sha256)
        removed = f" Removed {', '.join(written.removed)}." if written.removed else ""
        print(f"OK      {written.path}: written and verified (SHA-256 {written.sha256}).{removed}")
        if not args.eject:
            print("        Synced to the stick; unmount it (or use --eject) before pulling it out.")
            continue
        log.info("Ejecting %s", result.mountpoint)
        try:
            print(f"        {eject(result.mountpoint)}")
        except UserError as exc:
            if len(drives) == 1:
                raise
            failures += 1
            print(f"        {exc}")
    if failures:
        raise UserError(f"{failures} of {len(drives)} drives failed; see the list above.")
    return 0
