"""The rules of names: device names (with their %SERIAL% and %RAND:x% macros), local user
names, and Windows file names, with the characters and the names Windows refuses in each.

Windows' file-name rule lives here once: the package name's rule, the USB writer's and the
WIM writer's checks read ``FILE_NAME_FORBIDDEN``, ``CONTROL_CHARACTERS`` and
``is_reserved_file_name`` from here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from pathlib import PureWindowsPath

from tui.project.fieldrules import XML_FORBIDDEN, xml_text

MAX_DEVICE_NAME = 15
MAX_LOCAL_USER_NAME = 20
MAX_PACKAGE_NAME = 100
PREVIEW_SERIAL = "0123456789ABCDEF"

_DEVICE_NAME_FORBIDDEN = set("{|}~[\\]^':;<=>?@!\"#$%`()+/.,*& ")
_USER_NAME_FORBIDDEN = set('/\\[]:;|=,+*?<>@"')
# What Windows refuses in any file name: these characters, the control characters, and
# the device names (with or without an extension).
FILE_NAME_FORBIDDEN = frozenset('<>:"/\\|?*')
CONTROL_CHARACTERS = frozenset(chr(c) for c in range(32))
RESERVED_FILE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
)
MACRO = re.compile(r"%(SERIAL|RAND:(\d+))%", re.IGNORECASE)


def is_reserved_file_name(name: str) -> bool:
    """Whether Windows keeps this name for a device: ``CON``, ``nul.txt``, ``COM1.ppkg``…"""
    return name.split(".")[0].upper() in RESERVED_FILE_NAMES


def _listing(chars: list[str]) -> str:
    quoted = [f'"{c}"' if c != " " else "spaces" for c in chars]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


# --- device name -------------------------------------------------------------------------


def _random_digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def expand_device_name(
    name: str, *, serial: str = PREVIEW_SERIAL, rand: Callable[[int], str] | None = None
) -> str:
    """The name a device would get: %RAND:x% becomes x digits, %SERIAL% the serial number,
    cut from the front so the whole name stays within 15 characters (as Windows does)."""
    rand = rand or _random_digits
    parts: list[str | None] = []  # None marks where the serial goes
    pos = 0
    for match in MACRO.finditer(name):
        parts.append(name[pos : match.start()])
        parts.append(None if match.group(2) is None else rand(int(match.group(2))))
        pos = match.end()
    parts.append(name[pos:])
    fixed = sum(len(p) for p in parts if p is not None)
    serial_slots = parts.count(None)
    room = max(MAX_DEVICE_NAME - fixed, 0) // serial_slots if serial_slots else 0
    cut = serial[len(serial) - room :] if room else ""
    return "".join(cut if p is None else p for p in parts)


def device_name(name: str) -> str | None:
    if not name:
        return None  # optional: Windows then picks a name itself
    macros = list(MACRO.finditer(name))
    for match in macros:
        digits = match.group(2)
        if digits is not None and not 1 <= int(digits) <= MAX_DEVICE_NAME:
            return f"%RAND:x% needs x between 1 and 15 (this one has {int(digits)})."
    plain = MACRO.sub("", name)
    if "%" in plain:
        return "a % may only start a macro, %SERIAL% or %RAND:x% with x digits (e.g. %RAND:4%)."
    if " " in plain:
        return "must not contain spaces."
    bad = sorted(set(plain) & _DEVICE_NAME_FORBIDDEN)
    if bad:
        return f"must not contain {_listing(bad)}."
    if any(ord(c) > 0xFFFF for c in plain):
        return "must not contain emoji or other symbols outside the basic character set."
    rand_digits = sum(int(m.group(2)) for m in macros if m.group(2) is not None)
    has_serial = any(m.group(2) is None for m in macros)
    # Windows counts 15 *bytes*: a letter outside ASCII takes more than one.
    length = len(plain.encode("utf-8")) + rand_digits
    if length > MAX_DEVICE_NAME or (has_serial and length >= MAX_DEVICE_NAME):
        expanded = ""
        if macros:
            room = " and leave room for %SERIAL%" if has_serial else ""
            expanded = f" once %RAND:x% is expanded{room}"
        if plain.isascii():
            return f"at most 15 characters{expanded} (this one has {length})."
        return (
            f"at most 15 bytes{expanded}, and a letter outside ASCII takes 2 or 3 "
            f"(this one takes {length})."
        )
    if not has_serial and (not plain or plain.isdigit()):
        return "must not be only digits; add a letter or a hyphen."
    return None


# --- file and user names ------------------------------------------------------------------


def package_name(value: str) -> str | None:
    if not value.strip():
        return "must not be empty; it names the package file (<name>.ppkg)."
    if len(value) > MAX_PACKAGE_NAME:
        return f"at most {MAX_PACKAGE_NAME} characters (this one has {len(value)})."
    bad = sorted(set(value) & FILE_NAME_FORBIDDEN)
    if bad or XML_FORBIDDEN.search(value) or not CONTROL_CHARACTERS.isdisjoint(value):
        shown = _listing(bad) if bad else "control characters"
        return f"must be usable as a file name, so must not contain {shown}."
    if value != value.strip() or value.endswith("."):
        return "must not start or end with a space, nor end with a dot (it becomes a file name)."
    if is_reserved_file_name(value):
        return f"{value.split('.')[0]} is a name Windows reserves for devices; choose another."
    return None


def user_name(value: str) -> str | None:
    if not value.strip():
        return "must not be empty."
    if len(value) > MAX_LOCAL_USER_NAME:
        return f"at most {MAX_LOCAL_USER_NAME} characters (this one has {len(value)})."
    bad = sorted(set(value) & _USER_NAME_FORBIDDEN)
    if bad:
        return f"must not contain {_listing(bad)}."
    if set(value) <= {".", " "}:
        return "must not consist only of dots and spaces."
    return xml_text(value)


def dependency_key(file: str) -> str:
    """The Name a dependency file is listed under: its file name (Windows or POSIX path)."""
    return PureWindowsPath(file).name
