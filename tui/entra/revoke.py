"""Revoking a bulk token: deleting its package user (a lost stick is a standing credential).

The bulk token lives up to 180 days and cannot be revoked by itself; deleting the
``package_<pid>`` user it belongs to is the only revocation (Microsoft's bulk-enrollment doc).
Devices the package already joined stay joined. The deletion asks for ``User.ReadWrite.All``
(least-privileged delegated permission of ``DELETE /users/{id}``) in a sign-in of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from tui.entra.enrollment import DeviceInfo, device_info, devices_of, find_user, package_user_of
from tui.entra.graph import REVOKE_PERMISSIONS, GraphClient, GraphError, connect
from tui.entra.signin import CancelToken, SignInConfig
from tui.errors import UserError
from tui.project.model import Project


@dataclass(frozen=True, slots=True)
class RevokeResult:
    package_user: str
    deleted: bool  # False: the user was already gone (the token was dead already)
    devices: list[DeviceInfo] | None = field(default=None)  # None: they could not be listed

    def to_json(self) -> dict:
        return {
            "package_user": self.package_user,
            "deleted": self.deleted,
            "devices_still_joined": None
            if self.devices is None
            else [d.name for d in self.devices],
        }


def shown_user(project: Project) -> str:
    upn, pid = package_user_of(project)
    return upn or f"package_{pid}"


def confirmation_text(project: Project) -> str:
    """What the person confirms: the user, and what stops working."""
    return (
        f"Delete the package user {shown_user(project)} from Entra ID? Its bulk token stops "
        "working at once: this package, on every stick and copy, can no longer join a device, "
        "and this project cannot build with that token again. Devices it already joined stay "
        "joined."
    )


def name_matches(project: Project, typed: str) -> bool:
    """The typed confirmation: the package user's full name, or the part before the @."""
    typed = typed.strip().lower()
    name = shown_user(project).lower()
    return bool(typed) and typed in (name, name.split("@", 1)[0])


def check_not_revoked(project: Project) -> None:
    if project.entra.revoked is not None:
        raise UserError(
            f"The bulk token of this project was already revoked on "
            f"{project.entra.revoked.isoformat()}."
        )


def result_text(result: RevokeResult) -> str:
    """What happened, and which devices stay joined."""
    if not result.deleted:
        first = (
            f"The package user {result.package_user} did not exist any more: its bulk token was "
            "already dead."
        )
    else:
        first = (
            f"Deleted the package user {result.package_user}: its bulk token no longer joins "
            "devices (Entra ID keeps the deleted user 30 days; do not restore it)."
        )
    if result.devices is None:
        rest = "Its devices could not be listed; those it joined stay joined."
    elif result.devices:
        names = ", ".join(d.name for d in result.devices)
        rest = (
            f"Devices it already joined stay joined and enrolled: {names}. Delete a lost one in "
            "Entra ID > Devices and Intune."
        )
    else:
        rest = "It had joined no device." if result.deleted else ""
    return " ".join(part for part in (first, rest) if part)


def revoke_package_user(
    config: SignInConfig,
    project: Project,
    *,
    on_event: Callable[[object], None],
    cancel: CancelToken,
    graph_url: str | None = None,
    deadline: float | None = None,
    sleep: Callable[[float], object] | None = None,
) -> RevokeResult:
    """Sign in for the write permission (only here), list the package user's devices, delete it.

    Blocks (run it in a worker thread); the caller has confirmed first.
    """
    check_not_revoked(project)
    upn, pid = package_user_of(project)
    with connect(
        config,
        REVOKE_PERMISSIONS,
        graph_url=graph_url,
        on_event=on_event,
        cancel=cancel,
        deadline=deadline,
        sleep=sleep,
    ) as graph:
        return delete_package_user(graph, upn, pid)


def delete_package_user(graph: GraphClient, upn: str, pid: str) -> RevokeResult:
    shown = upn or f"package_{pid}"
    try:
        user = find_user(graph, upn, pid)
    except GraphError as error:
        raise UserError(
            f"Microsoft Graph would not read the package user {shown} ({error.status} "
            f"{error.code}); nothing was deleted."
        ) from None
    if user is None:
        return RevokeResult(shown, deleted=False, devices=[])
    shown = user.get("userPrincipalName") or shown
    try:
        devices: list[DeviceInfo] | None = sorted(
            (device_info(d) for d in devices_of(graph, user["id"])),
            key=lambda d: (d.registered is None, d.registered or datetime.min, d.name),
        )
    except GraphError:
        devices = None
    try:
        graph.delete(f"/users/{user['id']}")
    except GraphError as error:
        if error.not_found:
            return RevokeResult(shown, deleted=False, devices=devices)
        if error.forbidden:
            raise UserError(
                f"Not allowed to delete {shown}: sign in as a User Administrator (or Privileged "
                "Authentication Administrator); nothing was deleted."
            ) from None
        raise UserError(
            f"Microsoft Graph did not delete {shown} ({error.status} {error.code}); nothing was "
            "deleted, try again."
        ) from None
    return RevokeResult(shown, deleted=True, devices=devices)


def record_revoked(project: Project, today: date) -> None:
    """The project now says its token is dead: building with it is refused (tui.project.rules)."""
    project.entra.revoked = today
