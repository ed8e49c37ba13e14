"""The write step's drive list: the drives found (removable first) and the mount points typed
in, with a ``[x]`` column for the sticks chosen to be written at once."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable


def size_text(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "?"


def drive_note(d) -> str:
    """What the highlighted drive needs said: how to mount it, or what it already holds."""
    if d is not None and not d.mounted:
        return f"{d.device} is not mounted; mount it with: {d.mount_command}"
    if d is not None and d.packages:
        return (
            f"{d.title} already holds {', '.join(d.packages)}: setup would ask which to "
            "apply. Writing offers to replace them."
        )
    return ""


class DriveList(DataTable):
    """Rows keyed by device; ``chosen`` holds the devices chosen with space or ``a``."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.found: dict[str, object] = {}  # what the watcher lists, by device
        self.typed: dict[str, object] = {}  # mount points typed in (m), as Drives
        self.chosen: set[str] = set()

    def on_mount(self) -> None:
        self.add_columns(" ", "Drive", "Mounted at", "FS", "Free", "Packages on it")

    def drives(self) -> list:
        """Removable drives first, then fixed ones (s) and mount points typed in (m)."""
        found = dict(self.found)
        listed = {d.mountpoint for d in found.values()}  # type: ignore[attr-defined]
        for key, d in self.typed.items():
            if d.mountpoint not in listed:  # type: ignore[attr-defined]
                found[key] = d
        return sorted(found.values(), key=lambda d: (not d.removable, d.device))  # type: ignore[attr-defined]

    def chosen_drives(self) -> list:
        return [d for d in self.drives() if d.device in self.chosen]

    def selected(self):
        drives = self.drives()
        return drives[min(self.cursor_row, len(drives) - 1)] if drives else None

    def show(self) -> None:
        row = self.cursor_row
        self.clear()
        drives = self.drives()
        for d in drives:
            self.add_row(
                Text("[x]" if d.device in self.chosen else "[ ]"),
                f"{d.title} ({d.device})"[:28],
                d.mountpoint or "not mounted",
                d.fstype,
                size_text(d.free),
                ", ".join(d.packages) or "-",
                key=d.device,
            )
        self.chosen &= {d.device for d in drives}  # a stick pulled out is no longer chosen
        if drives:
            self.move_cursor(row=min(row, len(drives) - 1))
        self.display = bool(drives)

    def toggle(self) -> None:
        d = self.selected()
        if d is not None:
            self.chosen ^= {d.device}
            self.show()

    def choose_all(self) -> None:
        mounted = {d.device for d in self.drives() if d.mounted}
        self.chosen = set() if mounted and mounted <= self.chosen else mounted
        self.show()

    def add_typed(self, d) -> None:
        self.typed[d.device] = d
        self.chosen.add(d.device)
        self.show()


def replace_question(drives: list, package_name: str) -> str | None:
    """The question to ask before writing where a drive holds other packages, else None (a
    package of the same name, FAT being case-insensitive, is simply rewritten)."""
    holding = {
        d.title: names
        for d in drives
        if (names := [n for n in d.packages if n.casefold() != package_name.casefold()])
    }
    if not holding:
        return None
    if len(drives) == 1:
        [(title, names)] = holding.items()
        return (
            f"{title} already holds {', '.join(names)}. Setup would ask which "
            f"package to apply. Replace them with {package_name}? (y/n)"
        )
    listed = "; ".join(f"{title} holds {', '.join(names)}" for title, names in holding.items())
    return (
        f"{listed}. Setup would ask which package to apply. Replace them with "
        f"{package_name} on every chosen stick? (y/n)"
    )
