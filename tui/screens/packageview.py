"""Inspect a .ppkg: what a package holds, secrets masked."""

from __future__ import annotations

from pathlib import Path

from tui.errors import UserError
from tui.screens.dialogs import MessageDialog


def package_view(path: Path) -> MessageDialog:
    from tui.package.inspect import describe, read_package

    try:
        text = describe(read_package(path))
    except UserError as exc:
        text = exc.message
    return MessageDialog(f"Package {path.name}", text)
