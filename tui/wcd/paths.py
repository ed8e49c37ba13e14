"""Setting paths as structured values: a tuple of (element name, list key or None) segments.

A path is relative to ``Settings/Customizations/Common``. A list item keeps its key apart
from its name, so a key may hold any character (``CommandConfig["Office [x64]/Visio"]``);
the bracketed text form (:func:`text`) is only for showing a path to a person.
"""

from __future__ import annotations

from collections.abc import Iterable

Segment = tuple[str, str | None]


class SettingPath(tuple[Segment, ...]):
    """A tuple of segments; ``str()`` gives the form people read (:func:`text`)."""

    __slots__ = ()

    def __str__(self) -> str:
        return text(self)

    def __add__(self, other) -> SettingPath:
        return SettingPath(tuple(self) + tuple(other))


def path(*parts: str | Segment) -> SettingPath:
    """A path from literal parts: ``path("Accounts/Users", ("User", "admin"), "Password")``.

    A string part is element names joined by ``/`` (never a key); a pair is a list item.
    """
    segments: list[Segment] = []
    for part in parts:
        if isinstance(part, str):
            segments += [(name, None) for name in part.split("/") if name]
        else:
            segments.append((part[0], part[1]))
    return SettingPath(segments)


def child(p: SettingPath, *parts: str | Segment) -> SettingPath:
    """``p`` followed by ``parts`` (as :func:`path` reads them)."""
    return p + path(*parts)


def names(p: SettingPath) -> str:
    """The path without its list keys, as WCD 2024+ writes a parm's SettingsPath."""
    return "/".join(name for name, _ in p)


def text(p: SettingPath) -> str:
    """The path as people read it: ``Accounts/Users/User[admin]/Password``."""
    return "/".join(name if key is None else f"{name}[{key}]" for name, key in p)


def keys(p: SettingPath) -> tuple[str, ...]:
    """The list keys along the path, outermost first."""
    return tuple(key for _, key in p if key is not None)


def shape(p: SettingPath) -> str:
    """The path with each list key replaced by ``[]``: how the catalogue names a setting."""
    return "/".join(name if key is None else f"{name}[]" for name, key in p)


def under(p: SettingPath, prefix: Iterable[Segment]) -> bool:
    prefix = tuple(prefix)
    return p[: len(prefix)] == prefix
