"""Every field's rule, in one place: the UI, the CLI and the project loader all ask here.

Each rule answers with one sentence that names the field, says what is wrong and what is
expected, and never repeats a secret value. Field ids are the model's attribute paths,
with list items by index: ``device.name``, ``local_users[0].password``.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tui.project.model import Application, JoinKind, OwnerType, Project, WifiSecurity
from tui.wcd.settings import dependency_key

MAX_DEVICE_NAME = 15
MAX_TOKEN_DAYS = 180
TOKEN_SOON_DAYS = 30
MAX_LOCAL_USER_NAME = 20
MAX_PACKAGE_NAME = 100
LOCAL_USER_GROUPS = ("Administrators", "Standard Users")
PREVIEW_SERIAL = "0123456789ABCDEF"
MAX_CERTIFICATE_BYTES = 1 << 20

_DEVICE_NAME_FORBIDDEN = set("{|}~[\\]^':;<=>?@!\"#$%`()+/.,*& ")
_USER_NAME_FORBIDDEN = set('/\\[]:;|=,+*?<>@"')
_FILE_NAME_FORBIDDEN = set('<>:"/\\|?*')
_RESERVED_FILE_NAMES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)
}
_MACRO = re.compile(r"%(SERIAL|RAND:(\d+))%", re.IGNORECASE)
_PRODUCT_KEY = re.compile(r"[A-Z0-9]{5}(-[A-Z0-9]{5}){4}", re.IGNORECASE)
_GUID = re.compile(
    r"\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}", re.IGNORECASE
)
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_DOMAIN = re.compile(
    r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_DN_PART = re.compile(r"(OU|CN|DC)=[^=,]+", re.IGNORECASE)
# Characters XML 1.0 cannot carry at all: a package holding one would not load.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_INDEXED = re.compile(r"(local_users|applications|certificates)\[(\d+)\]\.(\w+)")


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


# --- labels ------------------------------------------------------------------------------

_LABELS = {
    "package.name": "Package name",
    "package.id": "Package ID",
    "package.version": "Package version",
    "package.owner_type": "Owner type",
    "package.rank": "Rank",
    "package.description": "Description",
    "folder": "Project folder",
    "device.name": "Device name",
    "device.product_key": "Product key",
    "device.shared_pc": "Shared use",
    "device.remove_preinstalled": "Remove pre-installed software",
    "wifi": "Wi-Fi",
    "wifi.ssid": "Wi-Fi network name (SSID)",
    "wifi.security": "Wi-Fi security",
    "wifi.key": "Wi-Fi key",
    "entra.authority": "Entra authority",
    "entra.bprt": "Bulk token",
    "entra.expires": "Bulk token expiry",
    "connection.tenant": "Tenant",
    "connection.login_url": "Login address",
    "connection.graph_url": "Microsoft Graph address",
    "connection.proxy": "Proxy",
    "connection.ca_bundle": "CA bundle",
    "domain.domain": "Domain",
    "domain.account": "Domain join account",
    "domain.password": "Domain join password",
    "domain.ou": "Organizational unit",
    "local_users": "Local users",
    "certificates": "Certificates",
}
_ITEM_LABELS = {
    "local_users": ("Local user", {"name": "name", "password": "password", "group": "group"}),
    "applications": (
        "Application",
        {
            "name": "name",
            "file": "installer file",
            "command_line": "command line",
            "return_code_success": "success return code",
            "return_code_restart": "restart return code",
            "dependencies": "dependency files",
        },
    ),
    "certificates": ("Certificate", {"name": "name", "path": "file"}),
}


def label(field: str) -> str:
    """The name the user sees: ``applications[1].file`` -> "Application 2 installer file"."""
    if match := _INDEXED.fullmatch(field):
        kind, index, attr = match.groups()
        noun, attrs = _ITEM_LABELS[kind]
        return f"{noun} {int(index) + 1} {attrs.get(attr, attr.replace('_', ' '))}"
    return _LABELS.get(field, field)


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
    for match in _MACRO.finditer(name):
        parts.append(name[pos : match.start()])
        parts.append(None if match.group(2) is None else rand(int(match.group(2))))
        pos = match.end()
    parts.append(name[pos:])
    fixed = sum(len(p) for p in parts if p is not None)
    serial_slots = parts.count(None)
    room = max(MAX_DEVICE_NAME - fixed, 0) // serial_slots if serial_slots else 0
    cut = serial[len(serial) - room :] if room else ""
    return "".join(cut if p is None else p for p in parts)


def _device_name_problem(name: str) -> str | None:
    if not name:
        return None  # optional: Windows then picks a name itself
    macros = list(_MACRO.finditer(name))
    for match in macros:
        digits = match.group(2)
        if digits is not None and not 1 <= int(digits) <= MAX_DEVICE_NAME:
            return f"%RAND:x% needs x between 1 and 15 (this one has {int(digits)})."
    plain = _MACRO.sub("", name)
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


# --- single-field rules ------------------------------------------------------------------


def _xml_text(value: str) -> str | None:
    if _XML_FORBIDDEN.search(value):
        return "contains a control character, which a provisioning package cannot hold."
    return None


def _package_name(value: str) -> str | None:
    if not value.strip():
        return "must not be empty; it names the package file (<name>.ppkg)."
    if len(value) > MAX_PACKAGE_NAME:
        return f"at most {MAX_PACKAGE_NAME} characters (this one has {len(value)})."
    bad = sorted(set(value) & _FILE_NAME_FORBIDDEN)
    if bad or _XML_FORBIDDEN.search(value) or any(ord(c) < 32 for c in value):
        shown = _listing(bad) if bad else "control characters"
        return f"must be usable as a file name, so must not contain {shown}."
    if value != value.strip() or value.endswith("."):
        return "must not start or end with a space, nor end with a dot (it becomes a file name)."
    if value.split(".")[0].upper() in _RESERVED_FILE_NAMES:
        return f"{value.split('.')[0]} is a name Windows reserves for devices; choose another."
    return None


def _package_id(value: str) -> str | None:
    if not _GUID.fullmatch(value):
        return "must be a GUID in braces, like {1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}."
    return None


def _owner_type(value: object) -> str | None:
    if not isinstance(value, OwnerType):
        return f"must be one of {', '.join(o.value for o in OwnerType)}."
    return None


def _folder(value: str) -> str | None:
    path = Path(value).expanduser()
    if value and path.exists() and not path.is_dir():
        return f"{value} exists but is not a folder."
    return None


def _version(value: str) -> str | None:
    parts = value.split(".")
    if len(parts) not in (2, 4) or not all(p.isascii() and p.isdigit() for p in parts):
        return f"use the form N.N or N.N.N.N, e.g. 1.0 (not {value!r})."
    if any(int(p) > 65535 for p in parts):
        return "each part must be between 0 and 65535."
    return None


def _rank(value: object) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 99:
        return "must be a whole number from 0 to 99."
    return None


def format_product_key(text: str) -> str:
    """A product key typed without dashes (25 letters and digits, spaces allowed) in its
    five groups, upper case: ``XXXXX-XXXXX-XXXXX-XXXXX-XXXXX``; anything else upper-cased
    as typed, for the rule to judge."""
    bare = "".join(text.split()).replace("-", "").upper()
    if len(bare) == 25 and bare.isascii() and bare.isalnum():
        return "-".join(bare[i : i + 5] for i in range(0, 25, 5))
    return text.upper()


def _product_key(value: str) -> str | None:
    if value and not _PRODUCT_KEY.fullmatch(value):
        return "use five groups of five letters or digits, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX."
    return None


def _ssid(value: str) -> str | None:
    size = len(value.encode("utf-8"))
    if not 1 <= size <= 32:
        return f"must be 1 to 32 bytes long in UTF-8 (this one has {size})."
    return _xml_text(value)


def _wifi_key(security: WifiSecurity, key: str) -> str | None:
    if security == WifiSecurity.OPEN:
        return (
            "an open network has no key: leave it empty or choose WPA2-Personal." if key else None
        )
    if _HEX64.fullmatch(key):
        return None
    if not 8 <= len(key) <= 63:
        return f"a WPA2 key has 8 to 63 characters, or 64 hex digits (this one has {len(key)})."
    if not all(" " <= c <= "~" for c in key):
        return "a WPA2 key may hold only printable ASCII characters (no accented letters)."
    return None


def _authority(value: str) -> str | None:
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?", value):
        return "must be an https:// address, e.g. https://login.microsoftonline.com/common."
    return None


def _tenant(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", value.strip()):
        return "give a tenant id, a domain like contoso.onmicrosoft.com, or organizations."
    return None


def _https_host(value: str, example: str) -> str | None:
    if value.strip() and not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?/?", value.strip()):
        return f"must be empty or an https:// address without a path, e.g. {example}."
    return None


def _proxy(value: str) -> str | None:
    if value.strip() and not re.fullmatch(r"https?://\S+", value.strip()):
        return "must be empty or an http:// or https:// address, e.g. http://proxy:3128."
    return None


def _ca_bundle(value: str) -> str | None:
    path = value.strip()
    if path and not os.path.isfile(os.path.expanduser(path)):
        return f"{path} is not an existing file: give a PEM file of CA certificates."
    return None


def _connection_rules(conn) -> Iterator[Rule]:
    yield "connection.tenant", lambda: _tenant(conn.tenant)
    yield (
        "connection.login_url",
        lambda: _https_host(conn.login_url, "https://login.microsoftonline.us"),
    )
    yield "connection.graph_url", lambda: _https_host(conn.graph_url, "https://graph.microsoft.us")
    yield "connection.proxy", lambda: _proxy(conn.proxy)
    yield "connection.ca_bundle", lambda: _ca_bundle(conn.ca_bundle)


def latest_expiry(today: date) -> date:
    """The latest date a bulk token may be valid until."""
    return today + timedelta(days=MAX_TOKEN_DAYS)


def date_text_problem(field: str, text: str, *, example: date) -> str | None:
    """The sentence for text typed as a date that is not one, or None (a date, or empty)."""
    import calendar

    text = text.strip()
    if not text:
        return None
    try:
        date.fromisoformat(text)
        return None
    except ValueError:
        pass
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        year, month, day = (int(g) for g in m.groups())
        if not 1 <= month <= 12:
            why = f"there is no month {month}"
        elif day == 0:
            why = "days start at 1"
        else:
            days = calendar.monthrange(max(year, 1), month)[1]
            why = f"{calendar.month_name[month]} has {days} days in {year}"
        return _sentence(field, f"{text} is not a date ({why}).")
    return _sentence(field, f"type the date as YYYY-MM-DD, e.g. {example.isoformat()}.")


def _expires(value: date | None, today: date) -> str | None:
    if value is None:
        return None
    if value <= today:
        return f"{value.isoformat()} is not in the future: get a new bulk token."
    if value > latest_expiry(today):
        latest = latest_expiry(today)
        return f"at most {MAX_TOKEN_DAYS} days ahead (by {latest.isoformat()} at the latest)."
    return None


def _bprt(entra, *, for_build: bool) -> str | None:
    if for_build and entra.revoked is not None:
        return (
            f"was revoked on {entra.revoked.isoformat()} (its package user was deleted): "
            'choose "Get bulk token" for a new one.'
        )
    if for_build and not entra.bprt:
        return 'is missing: choose "Get bulk token" and sign in.'
    return _xml_text(entra.bprt)


def _required(value: str, what: str) -> str | None:
    return f"must not be empty; {what}." if not value.strip() else _xml_text(value)


def _domain(value: str) -> str | None:
    if not value.strip():
        return "must not be empty; enter the Active Directory domain, e.g. corp.contoso.com."
    if not _DOMAIN.fullmatch(value):
        return "use a DNS domain name of letters, digits, hyphens and dots, e.g. corp.contoso.com."
    return None


def _ou(value: str) -> str | None:
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    if (
        not all(_DN_PART.fullmatch(p) for p in parts)
        or not parts[0].upper().startswith(("OU=", "CN="))
        or not any(p.upper().startswith("DC=") for p in parts)
    ):
        return "use a distinguished name like OU=Laptops,DC=corp,DC=contoso,DC=com."
    return None


def _user_name(value: str) -> str | None:
    if not value.strip():
        return "must not be empty."
    if len(value) > MAX_LOCAL_USER_NAME:
        return f"at most {MAX_LOCAL_USER_NAME} characters (this one has {len(value)})."
    bad = sorted(set(value) & _USER_NAME_FORBIDDEN)
    if bad:
        return f"must not contain {_listing(bad)}."
    if set(value) <= {".", " "}:
        return "must not consist only of dots and spaces."
    return _xml_text(value)


PASSWORD_ADVISED_LENGTH = 8
_PASSWORD_KINDS = (str.isupper, str.islower, str.isdigit, lambda c: not c.isalnum())


def _password_hint(name: str, password: str) -> str | None:
    """What Windows' password complexity policy would object to. Windows does not enforce
    it for local accounts a package creates unless a policy on the device asks for it, so
    this is a warning, never a refusal."""
    if not password:
        return None
    if name.strip() and name.casefold() in password.casefold():
        return "holds the user name: anyone who sees the name can guess it."
    weak = []
    if len(password) < PASSWORD_ADVISED_LENGTH:
        weak.append(f"{len(password)} characters ({PASSWORD_ADVISED_LENGTH} or more advised)")
    kinds = sum(any(kind(c) for c in password) for kind in _PASSWORD_KINDS)
    if kinds < 3:
        weak.append(
            f"{kinds} of the 4 kinds of character (upper case, lower case, digits, symbols; "
            "3 advised)"
        )
    if weak:
        return (
            f"is easy to guess: {' and '.join(weak)}. Windows accepts it unless a "
            "complexity policy on the device refuses it."
        )
    return None


def password_confirmation(password: str, confirmation: str) -> str | None:
    """The sentence refusing a password typed twice differently, or None."""
    if password != confirmation:
        return "Confirm password: the two passwords differ; type the same password twice."
    return None


def _return_code(value: object) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**31) <= value < 2**32:
        return "must be a whole number (an installer exit code such as 0 or 3010)."
    return None


def _readable_file(path: str, what: str) -> str | None:
    p = Path(os.path.expanduser(path))
    if not p.exists():
        return f"{path} does not exist; choose the {what}."
    if not p.is_file():
        return f"{path} is not a regular file; choose the {what}."
    if not os.access(p, os.R_OK):
        return f"{path} cannot be read (check its permissions)."
    return None


def _certificate_file(path: str, *, for_build: bool) -> str | None:
    if not path.strip():
        return "must not be empty; choose a .cer file."
    if Path(path).suffix.lower() != ".cer":
        return f"{Path(path).name} is not a .cer file (DER or Base-64 encoded X.509 certificate)."
    if not for_build:
        return None
    if problem := _readable_file(path, ".cer file"):
        return problem
    file = Path(os.path.expanduser(path))
    try:
        if file.stat().st_size > MAX_CERTIFICATE_BYTES:
            return f"{file.name} is too large to be a certificate."
        data = file.read_bytes()
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})."
    if not _looks_like_certificate(data):
        return f"{Path(path).name} does not hold an X.509 certificate in DER or Base-64 form."
    return None


def _pem_body(data: bytes) -> bytes | None:
    match = re.search(
        rb"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----", data
    )
    if not match:
        return None
    try:
        return base64.b64decode(b"".join(match.group(1).split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def _looks_like_certificate(data: bytes) -> bool:
    der = data if data[:1] == b"\x30" else _pem_body(data)
    if der is None:
        return False
    try:
        from cryptography import x509  # optional: a stricter check when it is installed
    except ImportError:
        return _der_sequence_shape(der)
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        return False
    return True


def _der_sequence_shape(der: bytes) -> bool:
    """A DER SEQUENCE whose length covers the whole input and which opens with another SEQUENCE."""
    if len(der) < 4 or der[0] != 0x30:
        return False
    first = der[1]
    if first < 0x80:
        length, start = first, 2
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or len(der) < 2 + count:
            return False
        length, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    return start + length == len(der) and der[start] == 0x30


# --- walking the project -----------------------------------------------------------------

Rule = tuple[str, Callable[[], str | None]]


def _rules(project: Project, *, today: date, for_build: bool) -> Iterator[Rule]:
    """Every (field, check) pair that applies to this project, in form order."""
    pkg = project.package
    yield "package.name", lambda: _package_name(pkg.name)
    yield "package.id", lambda: _package_id(pkg.id)
    yield "package.version", lambda: _version(pkg.version)
    yield "package.owner_type", lambda: _owner_type(pkg.owner_type)
    yield "package.rank", lambda: _rank(pkg.rank)
    yield "package.description", lambda: _xml_text(pkg.description)
    yield "folder", lambda: _folder(project.folder) if for_build else None
    yield "device.name", lambda: _device_name_problem(project.device.name)
    yield "device.product_key", lambda: _product_key(project.device.product_key)
    if (wifi := project.wifi) is not None:
        yield "wifi.ssid", lambda: _ssid(wifi.ssid)
        yield "wifi.key", lambda: _wifi_key(wifi.security, wifi.key)
    if project.join == JoinKind.ENTRA:
        entra = project.entra
        yield "entra.authority", lambda: _authority(entra.authority)
        yield "entra.bprt", lambda: _bprt(entra, for_build=for_build)
        yield "entra.expires", lambda: _expires(entra.expires, today)
        yield from _connection_rules(project.connection)
    if project.join == JoinKind.ACTIVE_DIRECTORY:
        dom = project.domain
        yield "domain.domain", lambda: _domain(dom.domain)
        yield (
            "domain.account",
            lambda: _required(dom.account, "enter the account that joins devices"),
        )
        yield (
            "domain.password",
            lambda: _required(dom.password, "enter the join account's password"),
        )
        yield "domain.ou", lambda: _ou(dom.ou)
    yield from _list_rules(project, for_build=for_build)


class _Names(list):
    """Names in list order, with where each is first used (so checking all stays linear)."""

    def __init__(self, names) -> None:
        super().__init__(names)
        self.first: dict[str, int] = {}
        for i, name in enumerate(self):
            self.first.setdefault(name, i)


def _duplicate(names: _Names, index: int, what: str) -> str | None:
    name = names[index]
    if name and names.first[name] != index:
        return f"{name!r} is already used by {what} {names.first[name] + 1}; names must differ."
    return None


def _list_rules(project: Project, *, for_build: bool) -> Iterator[Rule]:
    user_names = _Names(u.name.casefold() for u in project.local_users)
    for i, user in enumerate(project.local_users):
        f = f"local_users[{i}]"
        yield (
            f"{f}.name",
            lambda u=user, i=i: _user_name(u.name) or _duplicate(user_names, i, "local user"),
        )
        yield f"{f}.password", lambda u=user: _required(u.password, "enter a password")
        yield (
            f"{f}.group",
            lambda u=user: (
                None
                if u.group in LOCAL_USER_GROUPS
                else f"must be {' or '.join(LOCAL_USER_GROUPS)}."
            ),
        )
    app_names = _Names(a.name for a in project.applications)
    for i, app in enumerate(project.applications):
        f = f"applications[{i}]"
        yield (
            f"{f}.name",
            lambda a=app, i=i: (
                _required(a.name, "give the application a name")
                or (_duplicate(app_names, i, "application"))
            ),
        )
        yield (
            f"{f}.file",
            lambda a=app: (
                _required(a.file, "choose the installer file")
                or (_readable_file(a.file, "installer file") if for_build else None)
            ),
        )
        yield (
            f"{f}.command_line",
            lambda a=app: _required(
                a.command_line, 'enter a silent install command, e.g. msiexec /i "app.msi" /quiet'
            ),
        )
        yield f"{f}.return_code_success", lambda a=app: _return_code(a.return_code_success)
        yield f"{f}.return_code_restart", lambda a=app: _return_code(a.return_code_restart)
        yield f"{f}.dependencies", lambda a=app: _dependencies(a, for_build=for_build)
    cert_names = _Names(c.name for c in project.certificates)
    for i, cert in enumerate(project.certificates):
        f = f"certificates[{i}]"
        yield (
            f"{f}.name",
            lambda c=cert, i=i: (
                _required(c.name, "give the certificate a name")
                or (_duplicate(cert_names, i, "certificate"))
            ),
        )
        yield f"{f}.path", lambda c=cert: _certificate_file(c.path, for_build=for_build)


def _dependencies(app: Application, *, for_build: bool) -> str | None:
    names = [dependency_key(app.file)]
    for path in app.dependencies:
        if not path.strip():
            return "one entry is empty; choose a file or remove the entry."
        name = dependency_key(path)
        if name in names:
            # Windows copies an application's files into one folder on the device.
            return (
                f"two files are called {name}; the files of one application need different names."
            )
        names.append(name)
        if for_build and (problem := _readable_file(path, "dependency file")):
            return problem
    return None


def _sentence(field: str, text: str) -> str:
    return f"{label(field)}: {text}"


# --- public API --------------------------------------------------------------------------


def check_field(project: Project, field: str, *, today: date) -> str | None:
    """The rule's sentence for one field (files are checked too), or None when it is fine."""
    for name, check in _rules(project, today=today, for_build=True):
        if name == field:
            text = check()
            return _sentence(field, text) if text else None
    return None


def validate(project: Project, *, today: date, for_build: bool = True) -> list[Problem]:
    """Every blocking problem. ``for_build`` also checks that files exist and can be read,
    and that a bulk token is present when the package joins Entra ID."""
    problems = []
    for name, check in _rules(project, today=today, for_build=for_build):
        if text := check():
            problems.append(Problem(name, _sentence(name, text)))
    return problems


def warnings(project: Project, *, today: date) -> list[Problem]:
    """What the user should know but may accept: the package still builds."""
    found: list[tuple[str, str]] = []
    joins = project.join != JoinKind.NONE
    if joins and not any(u.group == "Administrators" for u in project.local_users):
        found.append(
            (
                "local_users",
                "Microsoft advises adding a local administrator when the package joins a domain "
                "or Entra ID, so a failed join does not lock you out of the device.",
            )
        )
    for i, user in enumerate(project.local_users):
        if hint := _password_hint(user.name, user.password):
            found.append((f"local_users[{i}].password", hint))
        found.append(
            (f"local_users[{i}].password", "Windows asks for a new password within 42 days.")
        )
    expires = project.entra.expires
    if project.join == JoinKind.ENTRA and expires is not None:
        if expires <= today:
            found.append(("entra.expires", "the bulk token has expired: get a new one."))
        elif expires - today <= timedelta(days=TOKEN_SOON_DAYS):
            days = (expires - today).days
            found.append(
                (
                    "entra.expires",
                    f"the bulk token expires in {days} day{'s' if days != 1 else ''}.",
                )
            )
    if project.join == JoinKind.ACTIVE_DIRECTORY and not _MACRO.search(project.device.name):
        found.append(
            (
                "device.name",
                "devices joining a domain need unique names: add %SERIAL% or %RAND:x%.",
            )
        )
    if joins and project.wifi is None:
        found.append(("wifi", "without Wi-Fi the device needs a network cable at first boot."))
    found += derived_form_warnings(project)
    return [Problem(f, _sentence(f, text)) for f, text in found]


def derived_form_warnings(project: Project) -> list[tuple[str, str]]:
    """(field, text) for each setting whose package form the catalogue marks with a caution
    (derived from documentation, or experimental)."""
    from tui.wcd.catalogue import cautions
    from tui.wcd.settings import project_settings

    return cautions(s.path for s in project_settings(project))
