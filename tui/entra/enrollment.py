"""After provisioning: did the devices join Entra ID, owned by the package user?

The procedure ends with "check that the device appears in Entra ID, owned by the package user".
``verify_enrollment`` finds the package user of a project, runs the package-user checks of
``check --project`` on it (tui.entra.package_user: why devices would not join), lists the devices
it joined and flags what the procedure says to check. Rules are pure functions over Graph's JSON
answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from tui.entra.checks import Check, Checked, Checking, Status, run_checks, unanswered
from tui.entra.conditional_access import INTUNE_APP_ID, PACKAGE_CA
from tui.entra.graph import VERIFY_PERMISSIONS, GraphClient, GraphError, connect
from tui.entra.package_user import (  # noqa: F401 (re-exported: the callers' import path)
    NEW_PACKAGE,
    PACKAGE_USER,
    PACKAGE_USER_CHECKS,
    find_user,
    found_package_user,
    package_user_of,
    package_user_rules,
    shown_upn,
    user_check,
)
from tui.entra.signin import CancelToken, SignInConfig
from tui.entra.tenantrules import PACKAGE_JOIN, PACKAGE_MDM
from tui.project.model import Project

TOKEN = "Bulk token"
DEVICES = "Devices"
SOON_DAYS = 30
JOIN_TYPES = {
    "AzureAd": "Entra joined",
    "Workplace": "Entra registered",
    "ServerAd": "Hybrid joined",
}
DEVICE_FIELDS = (
    "id,deviceId,displayName,trustType,operatingSystem,operatingSystemVersion,"
    "registrationDateTime,isManaged,isCompliant,mdmAppId,accountEnabled"
)
# What the app's verification screen lists, in the order the report gives them.
REPORT_CHECKS = (PACKAGE_USER, TOKEN, PACKAGE_JOIN, PACKAGE_CA, PACKAGE_MDM, DEVICES)
# Failing, each of these stops a device from joining at all; PACKAGE_MDM only from enrolling.
JOIN_BLOCKERS = (PACKAGE_USER, TOKEN, PACKAGE_JOIN, PACKAGE_CA)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    name: str
    join_type: str
    os: str
    registered: datetime | None
    mdm: str  # "Intune", "other MDM", "none" or "" when unreadable
    compliant: bool | None  # None: not readable / not reported
    enabled: bool | None

    def to_json(self) -> dict:
        registered = self.registered.isoformat() if self.registered else None
        return {**asdict(self), "registered": registered}


@dataclass(frozen=True, slots=True)
class EnrollmentReport:
    package_user: str
    token_days_left: int | None
    devices: list[DeviceInfo] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "package_user": self.package_user,
            "token_days_left": self.token_days_left,
            "devices": [d.to_json() for d in self.devices],
            "checks": [c.to_json() for c in self.checks],
        }


# --- the rules, pure -------------------------------------------------------------------------


def token_check(expires: date | None, today: date) -> tuple[Check, int | None]:
    """Days the bulk token has left (it also dies with its package user)."""
    if expires is None:
        return (
            Check(TOKEN, Status.NOT_CHECKED, "The project does not record the token's expiry."),
            None,
        )
    days = (expires - today).days
    if days < 0:
        return (
            Check(
                TOKEN,
                Status.FAIL,
                f"The bulk token expired on {expires.isoformat()}: devices can no longer join.",
                NEW_PACKAGE,
            ),
            days,
        )
    if days <= SOON_DAYS:
        return (
            Check(
                TOKEN,
                Status.WARN,
                f"The bulk token expires on {expires.isoformat()} ({days} days left).",
                "Plan a new package before then.",
            ),
            days,
        )
    return (
        Check(
            TOKEN,
            Status.PASS,
            f"The bulk token is valid until {expires.isoformat()} ({days} days left).",
        ),
        days,
    )


def device_info(device: dict) -> DeviceInfo:
    trust = device.get("trustType") or ""
    managed = device.get("isManaged")
    if managed is None:
        mdm = ""
    elif not managed:
        mdm = "none"
    else:
        mdm = "Intune" if device.get("mdmAppId") == INTUNE_APP_ID else "other MDM"
    os_name = " ".join(
        part
        for part in (device.get("operatingSystem"), device.get("operatingSystemVersion"))
        if part
    )
    return DeviceInfo(
        name=device.get("displayName") or device.get("deviceId") or "?",
        join_type=JOIN_TYPES.get(trust, trust or "?"),
        os=os_name,
        registered=_timestamp(device.get("registrationDateTime")),
        mdm=mdm,
        compliant=device.get("isCompliant"),
        enabled=device.get("accountEnabled"),
    )


def devices_check(devices: list[DeviceInfo], checks: Sequence[Check] = ()) -> Check:
    """What the procedure says to look at on the devices the package joined. ``checks``, the
    package user's and the token's, say why none joined or why they are not in an MDM."""
    failed = {c.name: c for c in checks if c.status is Status.FAIL}
    if not devices:
        blockers = [failed[name] for name in JOIN_BLOCKERS if name in failed]
        if blockers:
            names = " and ".join(f"'{c.name}'" for c in blockers)
            return Check(
                DEVICES,
                Status.WARN,
                f"No device has joined with this package yet; {names} failed, which stops "
                "every device from joining.",
                f"Fix {names} first (see {'its fix' if len(blockers) == 1 else 'their fixes'} "
                "above), then reset each device and insert the stick during OOBE again.",
            )
        return Check(
            DEVICES,
            Status.WARN,
            "No device has joined with this package yet.",
            "If a device's first install failed, a second try fails too: reset the device and "
            "insert the stick during OOBE again, then check Entra ID > Devices.",
        )
    problems = []
    for device in devices:
        if device.join_type != JOIN_TYPES["AzureAd"]:
            problems.append(f"{device.name} is {device.join_type}, not Entra joined")
        if device.enabled is False:
            problems.append(f"{device.name} is disabled")
        if device.mdm == "none":
            problems.append(f"{device.name} is not enrolled in an MDM")
        if device.compliant is False:
            problems.append(f"{device.name} is not compliant")
    count = f"{len(devices)} device{'s' if len(devices) != 1 else ''} joined by the package user"
    if problems:
        unmanaged = any(device.mdm == "none" for device in devices)
        fix = (
            f"For devices not in an MDM: fix '{PACKAGE_MDM}' first (see its fix above)."
            if unmanaged and PACKAGE_MDM in failed
            else "For devices not in an MDM: check Entra ID P1 and the MDM user scope, and that "
            "the package user is synced to the MDM."
        )
        return Check(DEVICES, Status.WARN, f"{count}; " + "; ".join(problems) + ".", fix)
    return Check(DEVICES, Status.PASS, f"{count}, all Entra joined.")


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- the calls -------------------------------------------------------------------------------


def verify_enrollment(
    config: SignInConfig,
    project: Project,
    *,
    today: date,
    on_event: Callable[[object], None],
    cancel: CancelToken,
    graph_url: str | None = None,
    deadline: float | None = None,
    sleep: Callable[[float], object] | None = None,
    sign_in_options: dict[str, Any] | None = None,
) -> EnrollmentReport:
    """Sign in for the read-only verification permissions, then check the project's devices.

    Blocks (run it in a worker thread); ``on_event`` gets the sign-in events of
    ``tui.entra.signin`` (the device code to show), then ``Checking``/``Checked``.
    """
    package_user_of(project)  # refuse before any sign-in when no package user is known
    with connect(
        config,
        VERIFY_PERMISSIONS,
        graph_url=graph_url,
        on_event=on_event,
        cancel=cancel,
        deadline=deadline,
        sleep=sleep,
        sign_in_options=sign_in_options,
    ) as graph:
        return read_enrollment(graph, project, today=today, on_event=on_event)


def read_enrollment(
    graph: GraphClient,
    project: Project,
    *,
    today: date,
    on_event: Callable[[object], None] | None = None,
) -> EnrollmentReport:
    """Look up the project's package user, run the package-user checks ``check --project`` runs
    (tui.entra.package_user), then list its devices; one report, checks in ``REPORT_CHECKS``
    order (those not reached are left out)."""
    emit = on_event or (lambda event: None)
    package_user = package_user_of(project)
    token, days = token_check(project.entra.expires, today)
    emit(Checked(token))

    emit(Checking(PACKAGE_USER))
    user = found_package_user(graph, package_user)
    upn = shown_upn(package_user, user)
    person, *others = run_checks(graph, package_user_rules(graph, package_user, user), emit)
    checks = [person, token, *others]
    if not isinstance(user, dict):
        return EnrollmentReport(upn, days, [], checks)

    graph.cancel.check()
    emit(Checking(DEVICES))
    try:
        found = devices_of(graph, user["id"])
    except GraphError as error:
        result = _unreadable(DEVICES, error, "Device.Read.All")
        emit(Checked(result))
        return EnrollmentReport(upn, days, [], [*checks, result])
    devices = sorted(
        (device_info(d) for d in found),
        key=lambda d: (d.registered is None, d.registered or datetime.min, d.name),
    )
    result = devices_check(devices, checks)
    emit(Checked(result))
    return EnrollmentReport(upn, days, devices, [*checks, result])


def devices_of(graph: GraphClient, user_id: str) -> list[dict]:
    """Devices the user owns or registered, each once (a cloud join sets both)."""
    by_id: dict[str, dict] = {}
    for relation in ("ownedDevices", "registeredDevices"):
        for item in graph.iter_all(
            f"/users/{user_id}/{relation}", params={"$select": DEVICE_FIELDS}
        ):
            if item.get("@odata.type", "#microsoft.graph.device") == "#microsoft.graph.device":
                by_id.setdefault(item.get("id") or item.get("deviceId") or str(len(by_id)), item)
    return list(by_id.values())


def _unreadable(name: str, error: GraphError, permission: str) -> Check:
    if error.forbidden:
        return Check(
            name,
            Status.NOT_CHECKED,
            f"Not checked: the signed-in account may not read this (needs {permission}, e.g. "
            "the Global Reader role).",
            "Sign in with a Global Reader, or check Entra ID > Devices by hand.",
        )
    return unanswered(name, error, "check Entra ID > Devices by hand")
