"""The write step's progress panel for several sticks at once: a line per stick with its own
bar, replaced by its result (verified, FAILED, or cancelled), then one summary line."""

from __future__ import annotations

from tui.widgets.progress import ProgressPanel

BAR = 20
_VERB = {"write": "writing", "sync": "flushing", "verify": "verifying"}


def progress_line(name: str, phase: str, done: int, total: int) -> str:
    filled = round(BAR * done / total) if total else BAR
    percent = done * 100 // max(total, 1)
    return f"{name}: {'█' * filled}{'░' * (BAR - filled)} {_VERB[phase]} {percent:3d}%"


def result_line(name: str, result) -> str:
    """One stick's line once its write ended (a ``tui.usb.batch.StickResult``)."""
    if result.ok:
        written = result.result
        removed = f" Removed: {', '.join(written.removed)}." if written.removed else ""
        return f"{name}: verified (SHA-256 {written.sha256[:16]}…).{removed}"
    if result.cancelled:
        return f"{name}: cancelled; nothing was left on it."
    return f"{name}: FAILED. {result.error}"


def summary(results: list) -> str:
    ok = sum(r.ok for r in results)
    cancelled = sum(r.cancelled for r in results)
    failed = len(results) - ok - cancelled
    line = f"{ok} of {len(results)} sticks written and verified"
    others = [f"{n} {what}" for n, what in ((failed, "failed"), (cancelled, "cancelled")) if n]
    return line + (f"; {', '.join(others)}, left as they were." if others else ".")


class BatchPanel(ProgressPanel):
    """A ProgressPanel that also shows a parallel write, one line per stick."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sticks: dict[str, tuple[int, str]] = {}  # mountpoint -> (line, name)

    def start(self, package_name: str, drives: list) -> None:
        self.reset()
        self.step(f"Writing {package_name} to {len(drives)} sticks at once…")
        self.sticks = {}
        for d in drives:
            name = f"{d.title} ({d.mountpoint})"
            self.sticks[d.mountpoint] = (len(self.lines), name)
            self.step(f"{name}: waiting")

    def show_progress(self, mountpoint: str, phase: str, done: int, total: int) -> None:
        if mountpoint in self.sticks:
            index, name = self.sticks[mountpoint]
            self.set_line(index, progress_line(name, phase, done, total))

    def show_result(self, result) -> bool:
        """Show one stick's result; False when the stick is not in this batch."""
        if result.mountpoint not in self.sticks:
            return False
        index, name = self.sticks[result.mountpoint]
        self.set_line(index, result_line(name, result))
        return True


def eject_all(mountpoints: list[str]) -> list[tuple[bool, str]]:
    """Eject each stick; one that cannot be ejected is one sentence, the rest go on."""
    from tui.errors import UserError
    from tui.usb.eject import eject

    said = []
    for mp in mountpoints:
        try:
            said.append((True, eject(mp)))
        except UserError as exc:
            said.append((False, exc.message))
    return said
