"""The token register: the bulk token of each recent project, soonest to run out first.

Read from the recent projects list (``tui.project.recent``) and each project file; the token itself
is never part of an entry. Used by the start screen and ``bulk-enroll tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tui.errors import UserError
from tui.project.recent import load_recent

WARN_DAYS = 14  # opening a project warns when its token has fewer days left than this


@dataclass(frozen=True, slots=True)
class TokenEntry:
    name: str
    project_file: Path
    package_user: str
    expires: date | None  # None: no token
    days_left: int | None  # None: no token
    revoked: date | None = None

    @property
    def has_token(self) -> bool:
        return self.expires is not None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "project_file": str(self.project_file),
            "package_user": self.package_user,
            "expires": self.expires.isoformat() if self.expires else None,
            "days_left": self.days_left,
            "revoked": self.revoked.isoformat() if self.revoked else None,
        }


def entry_for(project, path: Path, today: date) -> TokenEntry:
    e = project.entra
    expires = e.expires if e.bprt else None
    return TokenEntry(
        name=project.package.name or path.name,
        project_file=path,
        package_user=e.package_user if e.bprt else "",
        expires=expires,
        days_left=(expires - today).days if expires else None,
        revoked=e.revoked,
    )


def sort_key(entry: TokenEntry) -> tuple[int, int, str]:
    """Tokens first, the one that runs out first at the top; then the projects without."""
    if entry.days_left is None or entry.revoked is not None:
        return (1, 0, entry.name.lower())
    return (0, entry.days_left, entry.name.lower())


def token_register(config_dir: Path, today: date) -> list[TokenEntry]:
    """Every recent project that can be read, sorted by what runs out first."""
    from tui.project.file import load_project

    entries = []
    for path in load_recent(config_dir):
        if not path.is_file():
            continue
        try:
            entries.append(entry_for(load_project(path), path, today))
        except UserError:
            continue
    return sorted(entries, key=sort_key)


def days_text(entry: TokenEntry) -> str:
    """ "41 days left", "expires today", "expired 3 days ago", "revoked" or "no token"."""
    if entry.revoked is not None:
        return "token revoked"
    if entry.days_left is None:
        return "no token"
    if entry.days_left > 0:
        return f"{entry.days_left} day{'s' if entry.days_left != 1 else ''} left"
    if entry.days_left == 0:
        return "token expires today"
    return f"token expired {-entry.days_left} days ago"


def soon_warning(project, today: date) -> str | None:
    """One sentence when the project's token has fewer than WARN_DAYS days left, or expired."""
    e = project.entra
    if not e.bprt or e.expires is None or e.revoked is not None:
        return None
    days = (e.expires - today).days
    if days < 0:
        return f"The bulk token of this project expired on {e.expires}: get a new one."
    if days < WARN_DAYS:
        left = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        return f"The bulk token of this project expires {left} ({e.expires}): get a new one soon."
    return None
