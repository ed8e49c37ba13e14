"""The rules of single fields: each takes a value and answers with the end of one sentence
(what is wrong and what is expected), or None when the value is fine.

``tui.project.rules`` walks the project, puts each field's label in front and owns the
public API; the rules of names (device, user and file names) are in ``tui.project.names``.
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

from tui.project.model import OwnerType, WifiSecurity

MAX_TOKEN_DAYS = 180
WIFI_KEY_MIN, WIFI_KEY_MAX = 8, 63  # a WPA2 passphrase; 64 hex digits are a raw key
TOKEN_SOON_DAYS = 30

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
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str | None:
    if XML_FORBIDDEN.search(value):
        return "contains a control character, which a provisioning package cannot hold."
    return None


def package_id(value: str) -> str | None:
    if not _GUID.fullmatch(value):
        return "must be a GUID in braces, like {1f4e2c40-9d5f-41b4-ab8b-0ec5dd0fc160}."
    return None


def owner_type(value: object) -> str | None:
    if not isinstance(value, OwnerType):
        return f"must be one of {', '.join(o.value for o in OwnerType)}."
    return None


def folder(value: str) -> str | None:
    path = Path(value).expanduser()
    if value and path.exists() and not path.is_dir():
        return f"{value} exists but is not a folder."
    return None


def version(value: str) -> str | None:
    parts = value.split(".")
    if len(parts) not in (2, 4) or not all(p.isascii() and p.isdigit() for p in parts):
        return f"use the form N.N or N.N.N.N, e.g. 1.0 (not {value!r})."
    if any(int(p) > 65535 for p in parts):
        return "each part must be between 0 and 65535."
    return None


def rank(value: object) -> str | None:
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


def product_key(value: str) -> str | None:
    if value and not _PRODUCT_KEY.fullmatch(value):
        return "use five groups of five letters or digits, XXXXX-XXXXX-XXXXX-XXXXX-XXXXX."
    return None


def ssid(value: str) -> str | None:
    size = len(value.encode("utf-8"))
    if not 1 <= size <= 32:
        return f"must be 1 to 32 bytes long in UTF-8 (this one has {size})."
    return xml_text(value)


def wifi_key(security: WifiSecurity, key: str) -> str | None:
    if security == WifiSecurity.OPEN:
        return (
            "an open network has no key: leave it empty or choose WPA2-Personal." if key else None
        )
    if _HEX64.fullmatch(key):
        return None
    if not WIFI_KEY_MIN <= len(key) <= WIFI_KEY_MAX:
        return (
            f"a WPA2 key has {WIFI_KEY_MIN} to {WIFI_KEY_MAX} characters, or 64 hex digits "
            f"(this one has {len(key)})."
        )
    if not all(" " <= c <= "~" for c in key):
        return "a WPA2 key may hold only printable ASCII characters (no accented letters)."
    return None


def authority(value: str) -> str | None:
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?", value):
        return "must be an https:// address, e.g. https://login.microsoftonline.com/common."
    return None


def tenant(value: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", value.strip()):
        return "give a tenant id, a domain like contoso.onmicrosoft.com, or organizations."
    return None


def https_host(value: str, example: str) -> str | None:
    if value.strip() and not re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?/?", value.strip()):
        return f"must be empty or an https:// address without a path, e.g. {example}."
    return None


def proxy(value: str) -> str | None:
    if value.strip() and not re.fullmatch(r"https?://\S+", value.strip()):
        return "must be empty or an http:// or https:// address, e.g. http://proxy:3128."
    return None


def ca_bundle(value: str) -> str | None:
    path = value.strip()
    if path and not os.path.isfile(os.path.expanduser(path)):
        return f"{path} is not an existing file: give a PEM file of CA certificates."
    return None


def latest_expiry(today: date) -> date:
    """The latest date a bulk token may be valid until."""
    return today + timedelta(days=MAX_TOKEN_DAYS)


def expires(value: date | None, today: date) -> str | None:
    if value is None:
        return None
    if value <= today:
        return f"{value.isoformat()} is not in the future: get a new bulk token."
    if value > latest_expiry(today):
        latest = latest_expiry(today)
        return f"at most {MAX_TOKEN_DAYS} days ahead (by {latest.isoformat()} at the latest)."
    return None


def bprt(entra, *, for_build: bool) -> str | None:
    if for_build and entra.revoked is not None:
        return (
            f"was revoked on {entra.revoked.isoformat()} (its package user was deleted): "
            'choose "Get bulk token" for a new one.'
        )
    if for_build and not entra.bprt:
        return 'is missing: choose "Get bulk token" and sign in.'
    return xml_text(entra.bprt)


def required(value: str, what: str) -> str | None:
    return f"must not be empty; {what}." if not value.strip() else xml_text(value)


def domain(value: str) -> str | None:
    if not value.strip():
        return "must not be empty; enter the Active Directory domain, e.g. corp.contoso.com."
    if not _DOMAIN.fullmatch(value):
        return "use a DNS domain name of letters, digits, hyphens and dots, e.g. corp.contoso.com."
    return None


def ou(value: str) -> str | None:
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    if (
        not all(_DN_PART.fullmatch(p) for p in parts)
        or not parts[0].upper().startswith(("OU=", "CN="))
        or not any(p.upper().startswith("DC=") for p in parts)
    ):
        return "use a distinguished name like OU=Laptops,DC=corp,DC=contoso,DC=com."


def return_code(value: object) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**31) <= value < 2**32:
        return "must be a whole number (an installer exit code such as 0 or 3010)."
    return None


def readable_file(path: str, what: str) -> str | None:
    p = Path(os.path.expanduser(path))
    if not p.exists():
        return f"{path} does not exist; choose the {what}."
    if not p.is_file():
        return f"{path} is not a regular file; choose the {what}."
    if not os.access(p, os.R_OK):
        return f"{path} cannot be read (check its permissions)."
    return None
