"""Recently used project files, remembered in the user's XDG config folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tui.safefile import write_atomic

MAX_RECENT = 10
FILE_NAME = "recent.json"


def default_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/bulk-enroll`` (``~/.config/bulk-enroll`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bulk-enroll"


def load_recent(config_dir: Path) -> list[Path]:
    """The remembered project files, newest first; a missing or damaged list is empty."""
    try:
        data = json.loads((config_dir / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [Path(item) for item in data if isinstance(item, str)]


def remember(config_dir: Path, project_file: Path) -> list[Path]:
    """Put ``project_file`` at the top of the list, written atomically; returns the new list."""
    path = Path(os.path.abspath(project_file))
    entries = [path] + [p for p in load_recent(config_dir) if p != path]
    entries = entries[:MAX_RECENT]
    _write(config_dir, entries)
    return entries


def forget(config_dir: Path, project_file: Path) -> list[Path]:
    """Drop ``project_file`` from the list (e.g. when it no longer exists)."""
    path = Path(os.path.abspath(project_file))
    entries = [p for p in load_recent(config_dir) if p != path]
    _write(config_dir, entries)
    return entries


def _write(config_dir: Path, entries: list[Path]) -> None:
    config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps([str(p) for p in entries], indent=1).encode("utf-8")
    write_atomic(config_dir / FILE_NAME, data)
