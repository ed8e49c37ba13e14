"""Every field's rule: the UI, the CLI and the project loader all ask here.

Each rule answers with one sentence that names the field, says what is wrong and what is
expected, and never repeats a secret value. Field ids are the model's attribute paths,
with list items by index: ``device.name``, ``local_users[0].password``.

This module walks the project and gives each field its label; the rules themselves are in
``tui.project.fieldrules`` (single fields), ``tui.project.names`` (device, user and file
names), ``tui.project.localusers`` (groups, passwords) and ``tui.project.certfile``
(certificate files). Their public names can be imported from here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from tui.project import certfile, fieldrules, localusers, names
from tui.project.certfile import MAX_CERTIFICATE_BYTES
from tui.project.fieldrules import (
    MAX_TOKEN_DAYS,
    TOKEN_SOON_DAYS,
    format_product_key,
    latest_expiry,
)
from tui.project.localusers import (
    ADMINISTRATORS,
    LOCAL_USER_GROUPS,
    PASSWORD_ADVISED_LENGTH,
    password_confirmation,
)
from tui.project.localusers import password_hint as _password_hint
from tui.project.model import Application, JoinKind, Project
from tui.project.names import MACRO as _MACRO
from tui.project.names import (
    MAX_DEVICE_NAME,
    MAX_LOCAL_USER_NAME,
    MAX_PACKAGE_NAME,
    PREVIEW_SERIAL,
    dependency_key,
    expand_device_name,
)

__all__ = [
    "LOCAL_USER_GROUPS",
    "MAX_CERTIFICATE_BYTES",
    "MAX_DEVICE_NAME",
    "MAX_LOCAL_USER_NAME",
    "MAX_PACKAGE_NAME",
    "MAX_TOKEN_DAYS",
    "PASSWORD_ADVISED_LENGTH",
    "PREVIEW_SERIAL",
    "TOKEN_SOON_DAYS",
    "Problem",
    "Rule",
    "check_field",
    "date_text_problem",
    "expand_device_name",
    "format_product_key",
    "label",
    "latest_expiry",
    "password_confirmation",
    "validate",
    "warnings",
]

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


def _sentence(field: str, text: str) -> str:
    return f"{label(field)}: {text}"


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


# --- walking the project -----------------------------------------------------------------

Rule = tuple[str, Callable[[], str | None]]


def _connection_rules(conn) -> Iterator[Rule]:
    yield "connection.tenant", lambda: fieldrules.tenant(conn.tenant)
    yield (
        "connection.login_url",
        lambda: fieldrules.https_host(conn.login_url, "https://login.microsoftonline.us"),
    )
    yield (
        "connection.graph_url",
        lambda: fieldrules.https_host(conn.graph_url, "https://graph.microsoft.us"),
    )
    yield "connection.proxy", lambda: fieldrules.proxy(conn.proxy)
    yield "connection.ca_bundle", lambda: fieldrules.ca_bundle(conn.ca_bundle)


def _rules(project: Project, *, today: date, for_build: bool) -> Iterator[Rule]:
    """Every (field, check) pair that applies to this project, in form order."""
    pkg = project.package
    yield "package.name", lambda: names.package_name(pkg.name)
    yield "package.id", lambda: fieldrules.package_id(pkg.id)
    yield "package.version", lambda: fieldrules.version(pkg.version)
    yield "package.owner_type", lambda: fieldrules.owner_type(pkg.owner_type)
    yield "package.rank", lambda: fieldrules.rank(pkg.rank)
    yield "package.description", lambda: fieldrules.xml_text(pkg.description)
    yield "folder", lambda: fieldrules.folder(project.folder) if for_build else None
    yield "device.name", lambda: names.device_name(project.device.name)
    yield "device.product_key", lambda: fieldrules.product_key(project.device.product_key)
    if (wifi := project.wifi) is not None:
        yield "wifi.ssid", lambda: fieldrules.ssid(wifi.ssid)
        yield "wifi.key", lambda: fieldrules.wifi_key(wifi.security, wifi.key)
    if project.join == JoinKind.ENTRA:
        entra = project.entra
        yield "entra.authority", lambda: fieldrules.authority(entra.authority)
        yield "entra.bprt", lambda: fieldrules.bprt(entra, for_build=for_build)
        yield "entra.expires", lambda: fieldrules.expires(entra.expires, today)
        yield from _connection_rules(project.connection)
    if project.join == JoinKind.ACTIVE_DIRECTORY:
        dom = project.domain
        yield "domain.domain", lambda: fieldrules.domain(dom.domain)
        yield (
            "domain.account",
            lambda: fieldrules.required(dom.account, "enter the account that joins devices"),
        )
        yield (
            "domain.password",
            lambda: fieldrules.required(dom.password, "enter the join account's password"),
        )
        yield "domain.ou", lambda: fieldrules.ou(dom.ou)
    yield from _list_rules(project, for_build=for_build)


class _Names(list):
    """Names in list order, with where each is first used (so checking all stays linear)."""

    def __init__(self, items) -> None:
        super().__init__(items)
        self.first: dict[str, int] = {}
        for i, name in enumerate(self):
            self.first.setdefault(name, i)


def _duplicate(taken: _Names, index: int, what: str) -> str | None:
    name = taken[index]
    if name and taken.first[name] != index:
        return f"{name!r} is already used by {what} {taken.first[name] + 1}; names must differ."
    return None


def _list_rules(project: Project, *, for_build: bool) -> Iterator[Rule]:
    user_names = _Names(u.name.casefold() for u in project.local_users)
    for i, user in enumerate(project.local_users):
        f = f"local_users[{i}]"
        yield (
            f"{f}.name",
            lambda u=user, i=i: names.user_name(u.name) or _duplicate(user_names, i, "local user"),
        )
        yield f"{f}.password", lambda u=user: fieldrules.required(u.password, "enter a password")
        yield f"{f}.group", lambda u=user: localusers.group(u.group)
    app_names = _Names(a.name for a in project.applications)
    for i, app in enumerate(project.applications):
        f = f"applications[{i}]"
        yield (
            f"{f}.name",
            lambda a=app, i=i: (
                fieldrules.required(a.name, "give the application a name")
                or (_duplicate(app_names, i, "application"))
            ),
        )
        yield (
            f"{f}.file",
            lambda a=app: (
                fieldrules.required(a.file, "choose the installer file")
                or (fieldrules.readable_file(a.file, "installer file") if for_build else None)
            ),
        )
        yield (
            f"{f}.command_line",
            lambda a=app: fieldrules.required(
                a.command_line, 'enter a silent install command, e.g. msiexec /i "app.msi" /quiet'
            ),
        )
        yield (
            f"{f}.return_code_success",
            lambda a=app: fieldrules.return_code(a.return_code_success),
        )
        yield (
            f"{f}.return_code_restart",
            lambda a=app: fieldrules.return_code(a.return_code_restart),
        )
        yield f"{f}.dependencies", lambda a=app: _dependencies(a, for_build=for_build)
    cert_names = _Names(c.name for c in project.certificates)
    for i, cert in enumerate(project.certificates):
        f = f"certificates[{i}]"
        yield (
            f"{f}.name",
            lambda c=cert, i=i: (
                fieldrules.required(c.name, "give the certificate a name")
                or (_duplicate(cert_names, i, "certificate"))
            ),
        )
        yield f"{f}.path", lambda c=cert: certfile.certificate_file(c.path, for_build=for_build)


def _dependencies(app: Application, *, for_build: bool) -> str | None:
    keys = [dependency_key(app.file)]
    for path in app.dependencies:
        if not path.strip():
            return "one entry is empty; choose a file or remove the entry."
        name = dependency_key(path)
        if name in keys:
            # Windows copies an application's files into one folder on the device.
            return (
                f"two files are called {name}; the files of one application need different names."
            )
        keys.append(name)
        if for_build and (problem := fieldrules.readable_file(path, "dependency file")):
            return problem
    return None


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
    if joins and not any(u.group == ADMINISTRATORS for u in project.local_users):
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
    return [Problem(f, _sentence(f, text)) for f, text in found]
