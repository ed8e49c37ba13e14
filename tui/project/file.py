"""The project file: human-readable TOML, read with tomllib, written by the small writer below.

The file mirrors ``tui.project.model`` one to one: each dataclass is a table, each list of
dataclasses an array of tables, and a field left out keeps its default. The shape is
derived from the model's type hints, so the file and the model cannot drift apart.
The file holds secrets (bulk token, passwords, Wi-Fi key): it is always written 0600.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import tempfile
import tomllib
import types
import typing
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from tui.errors import UserError
from tui.project.model import Project
from tui.safefile import read_regular, write_atomic

PROJECT_SUFFIX = ".bulkenroll.toml"
FORMAT = 1
# Limits no project approaches (a project is a few KB, nested three levels); docs/project-file.md.
MAX_BYTES = 16 << 20
MAX_NESTING = 32

_HEADER = (
    "# bulk-enroll project file (format described in docs/project-file.md).\n"
    "# It holds secrets (bulk token, passwords, Wi-Fi key): keep it private.\n"
)
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


# --- writing -----------------------------------------------------------------------------


def _toml_string(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, StrEnum):
        return _toml_string(value.value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _is_table(value: Any) -> bool:
    return dataclasses.is_dataclass(value) or (
        isinstance(value, list) and bool(value) and dataclasses.is_dataclass(value[0])
    )


def _scalar_lines(obj: Any) -> list[str]:
    lines = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if value is None or _is_table(value) or _hint(type(obj), f.name) is not None:
            continue
        lines.append(f"{f.name} = {_toml_value(value)}")
    return lines


def _hint(cls: type, name: str) -> type | None:
    """The dataclass a field holds (alone, optional or in a list), or None for scalars."""
    hint = typing.get_type_hints(cls)[name]
    for arg in (hint, *typing.get_args(hint)):
        if isinstance(arg, type) and dataclasses.is_dataclass(arg):
            return arg
    return None


def dumps_project(project: Project) -> str:
    """The project file text."""
    lines = [_HEADER + f"format = {FORMAT}", *_scalar_lines(project)]
    for f in dataclasses.fields(project):
        value = getattr(project, f.name)
        if _hint(Project, f.name) is None or value is None:
            continue
        items = value if isinstance(value, list) else [value]
        header = f"[[{f.name}]]" if isinstance(value, list) else f"[{f.name}]"
        for item in items:
            lines += ["", header, *_scalar_lines(item)]
    return "\n".join(lines) + "\n"


def save_project(project: Project, path: str | os.PathLike[str]) -> None:
    """Write the project atomically, owner-only (0600): a failed save leaves the old file."""
    write_project_bytes(path, encode_project(project, path))


def encode_project(project: Project, path: str | os.PathLike[str]) -> bytes:
    """The project file's bytes; ``path`` names the file in the error."""
    try:
        return dumps_project(project).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UserError(
            f"Cannot save project file {path}: a value holds a character that is not valid "
            f"text (position {exc.start})."
        ) from None


def write_project_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write what encode_project gave, atomically and owner-only."""
    path = Path(path)
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise UserError(f"Cannot save project file {path}: {exc.strerror or exc}.") from None


def check_can_save(path: str | os.PathLike[str]) -> None:
    """Fail now, with save_project's sentence, when no file can be created beside ``path``:
    before a sign-in whose token would otherwise be lost."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserError(f"Cannot save project file {path}: {exc.strerror or exc}.") from None
    os.close(fd)
    os.unlink(tmp)


# --- reading -----------------------------------------------------------------------------


class _FieldError(Exception):
    """A value of the wrong kind; ``where`` is the dotted field path."""


def _describe(hint: Any) -> str:
    if hint is str:
        return "text"
    if hint is bool:
        return "true or false"
    if hint is int:
        return "a whole number"
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return "one of " + ", ".join(f'"{m.value}"' for m in hint)
    if typing.get_origin(hint) is list:
        return "a list of text"
    return "a date like 2027-05-31"


def _convert(hint: Any, value: Any, where: str) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = next(a for a in args if a is not type(None))
        return _convert(inner, value, where)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _FieldError(f"{where} must be a table ([{where}])")
        return _read_dataclass(hint, value, where)
    if typing.get_origin(hint) is list:
        (item,) = args
        if not isinstance(value, list):
            raise _FieldError(f"{where} must be {_describe(hint)}")
        return [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    ok = {
        str: lambda v: isinstance(v, str),
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        date: lambda v: isinstance(v, date) and not isinstance(v, datetime),
    }
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        try:
            return hint(value)
        except ValueError:
            raise _FieldError(f"{where} must be {_describe(hint)}") from None
    if hint is date and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if not ok[hint](value):
        raise _FieldError(f"{where} must be {_describe(hint)}")
    return value


def _read_dataclass(cls: type, table: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in table.items():
        path = f"{where}.{key}" if where else key
        if key not in hints:
            raise _FieldError(f"{path} is not a known setting (known here: {', '.join(known)})")
        hint = hints[key]
        is_tables = isinstance(value, list) and all(isinstance(v, dict) for v in value)
        if typing.get_origin(hint) is list and _hint(cls, key) is not None and not is_tables:
            raise _FieldError(f"{path} must be written as [[{path}]] tables")
        values[key] = _convert(hint, value, path)
    return cls(**values)


def loads_project(text: str, *, source: str) -> Project:
    """Parse project file text; ``source`` names the file in error messages."""
    if (line := _too_deep(text)) is not None:
        raise UserError(
            f"Project file {source}: line {line}: arrays or tables are nested more than "
            f"{MAX_NESTING} deep."
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"Project file {source}: {_toml_error(str(exc), text)}.") from None
    except ValueError:  # tomllib lets int()'s limit through (4,300 digits)
        raise UserError(
            f"Project file {source}: a number has more than {sys.get_int_max_str_digits():,} "
            "digits."
        ) from None
    except RecursionError:  # _too_deep should have caught it; a deep caller's stack may not
        raise UserError(f"Project file {source}: values are nested too deeply.") from None
    version = data.pop("format", FORMAT)
    if version != FORMAT:
        raise UserError(
            f"Project file {source}: format {version!r} is not one this version reads "
            f"(it reads format {FORMAT})."
        )
    try:
        return _read_dataclass(Project, data, "")
    except _FieldError as exc:
        raise UserError(f"Project file {source}: {exc}.") from None


# Strings and comments (skipped whole) or one bracket: enough to bound TOML's nesting.
_TOKENS = re.compile(
    "|".join(
        [
            r'"""[\s\S]*?"""',  # multi-line basic string
            r"'''[\s\S]*?'''",  # multi-line literal string
            r'"(?:[^"\\\n]|\\.)*"',  # basic string
            r"'[^'\n]*'",  # literal string
            r"#[^\n]*",  # comment
            r"[\[\]{}]",
        ]
    )
)


def _too_deep(text: str) -> int | None:
    """The line where arrays and tables first nest more than MAX_NESTING deep, or None.

    Counted without recursion before tomllib (which recurses) sees the text; a table
    header's brackets open and close on its line, so they never add up."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_NESTING:
                return text.count("\n", 0, match.start()) + 1
        elif token in ("]", "}"):
            depth = max(depth - 1, 0)
    return None


def _toml_error(message: str, text: str) -> str:
    """tomllib's "Invalid value (at line 2, column 5)" as "line 2: invalid value"."""
    match = re.fullmatch(r"(.*) \(at line (\d+), column \d+\)", message)
    if match:
        text = match.group(1)
        return f"line {match.group(2)}: {text[:1].lower()}{text[1:]}"
    match = re.fullmatch(r"(.*) \(at end of document\)", message)
    if match:
        last_line = text.count("\n") + (0 if text.endswith("\n") else 1)
        return f"line {max(last_line, 1)}: {match.group(1)[:1].lower()}{match.group(1)[1:]}"
    return message[:1].lower() + message[1:]


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project file; every problem is a UserError naming the file (and line or key)."""
    path = Path(path)
    raw = read_regular(path, MAX_BYTES, f"Project file {path}")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"Project file {path}: line {line}: not UTF-8 text.") from None
    return loads_project(text, source=str(path))
