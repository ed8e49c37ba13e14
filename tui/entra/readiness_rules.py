"""The readiness rules of the tenant itself, pure: Entra ID P1/P2, who may join devices, the
device quota, the SyncFabric service principal and Intune's MDM user scope. Each is a function
from Graph's JSON answers to a ``Check``; ``tui.entra.readiness`` does the calls.
"""

from __future__ import annotations

from tui.entra.checks import NEEDS, Check, Status
from tui.entra.conditional_access import INTUNE_APP_ID

SYNC_FABRIC_APP_ID = "00000014-0000-0000-c000-000000000000"
PREMIUM_PLANS = ("AAD_PREMIUM", "AAD_PREMIUM_P2")
LOW_DEVICE_QUOTA = 50

LICENSE = "Entra ID P1/P2"
JOIN = "Users may join devices"
QUOTA = "Devices per user"
SYNC_FABRIC = "SyncFabric service principal"
MDM_SCOPE = "MDM user scope"
_DEVICE_POLICY_READERS = (
    "Policy.Read.DeviceConfiguration and the Global Reader or Cloud Device Administrator role"
)
NEEDS.update(
    {
        LICENSE: "LicenseAssignment.Read.All, e.g. the Global Reader role",
        JOIN: _DEVICE_POLICY_READERS,
        QUOTA: _DEVICE_POLICY_READERS,
        SYNC_FABRIC: "Application.Read.All",
        MDM_SCOPE: "Policy.Read.All and the Global Reader role",
    }
)


def license_check(skus: list[dict]) -> Check:
    """A subscribed SKU whose service plans include Entra ID P1 or P2, enabled."""
    found: list[tuple[str, str]] = []
    for sku in skus:
        for plan in sku.get("servicePlans") or []:
            if plan.get("servicePlanName") in PREMIUM_PLANS:
                found.append((sku.get("skuPartNumber") or "?", sku.get("capabilityStatus") or ""))
                break
    active = [name for name, status in found if status in ("Enabled", "")]
    if active:
        return Check(LICENSE, Status.PASS, f"Entra ID Premium is included in {', '.join(active)}.")
    grace = [name for name, status in found if status == "Warning"]
    if grace:
        return Check(
            LICENSE,
            Status.WARN,
            f"Entra ID Premium comes with {', '.join(grace)}, which is in its grace period.",
            "Renew the subscription, or automatic MDM enrollment stops working.",
        )
    reason = "No subscription includes Entra ID P1 or P2"
    if found:
        reason += f" that is active ({', '.join(f'{n}: {s}' for n, s in found)})"
    return Check(
        LICENSE,
        Status.FAIL,
        reason + ": devices will join but not enroll in MDM automatically.",
        "Buy or reactivate a plan with Entra ID P1 (e.g. Microsoft 365 Business Premium or E3).",
    )


def join_groups(policy: dict) -> list[str]:
    """The group ids an enumerated "may join devices" setting lists (to check membership)."""
    allowed = (policy.get("azureADJoin") or {}).get("allowedToJoin") or {}
    return list(allowed.get("groups") or [])


def join_check(policy: dict, *, user_id: str, member_of: set[str] | None) -> Check:
    """Can the signed-in user join devices to Entra ID (without it: AADSTS240001)."""
    allowed = (policy.get("azureADJoin") or {}).get("allowedToJoin") or {}
    kind = (allowed.get("@odata.type") or "").rsplit(".", 1)[-1]
    fix = (
        'Allow this user in Entra ID > Devices > Device settings > "Users may join devices to '
        'Microsoft Entra ID" (All, or Selected with this user or a group of theirs).'
    )
    if kind == "allDeviceRegistrationMembership":
        return Check(JOIN, Status.PASS, "All users may join devices to Entra ID.")
    if kind == "noDeviceRegistrationMembership":
        return Check(JOIN, Status.FAIL, "No user may join devices to Entra ID.", fix)
    if kind != "enumeratedDeviceRegistrationMembership":
        return Check(JOIN, Status.NOT_CHECKED, f"Unknown join setting {kind or '(none)'}.", fix)
    if user_id in (allowed.get("users") or []):
        return Check(JOIN, Status.PASS, "You are among the users allowed to join devices.")
    groups = set(allowed.get("groups") or [])
    if groups and member_of is None:
        return Check(
            JOIN,
            Status.NOT_CHECKED,
            "Only selected users and groups may join devices, and your group membership could "
            "not be read (needs GroupMember.Read.All).",
            fix,
        )
    if groups & (member_of or set()):
        return Check(JOIN, Status.PASS, "You are in a group allowed to join devices.")
    return Check(
        JOIN,
        Status.FAIL,
        "Only selected users and groups may join devices, and you are not among them: "
        "the bulk token request would fail with AADSTS240001.",
        fix,
    )


def quota_check(policy: dict) -> Check:
    """Maximum devices per user: every device of a package is joined by its package user."""
    quota = policy.get("userDeviceQuota")
    if not isinstance(quota, int):
        return Check(QUOTA, Status.NOT_CHECKED, "The device quota was not in the answer.")
    fix = 'Raise "Maximum number of devices per user" in Entra ID > Devices > Device settings.'
    if quota <= 0:
        return Check(QUOTA, Status.FAIL, "Users may not have any device (quota 0).", fix)
    if quota < LOW_DEVICE_QUOTA:
        return Check(
            QUOTA,
            Status.WARN,
            f"At most {quota} devices per user: if the quota applies to the package user, "
            f"a package joins at most {quota} devices.",
            fix,
        )
    return Check(QUOTA, Status.PASS, f"At most {quota} devices per user.")


def sync_fabric_check(service_principals: list[dict]) -> Check:
    """The service principal that creates package users (without it: AADSTS90092/90202)."""
    fix = (
        "Create it: New-MgServicePrincipal -AppId 00000014-0000-0000-c000-000000000000 "
        "(Microsoft Graph PowerShell, as an Application Administrator)."
    )
    matches = [sp for sp in service_principals if sp.get("appId") == SYNC_FABRIC_APP_ID]
    if not matches:
        return Check(
            SYNC_FABRIC,
            Status.FAIL,
            "The Microsoft.Azure.SyncFabric service principal is missing, so no package user "
            "can be created.",
            fix,
        )
    if matches[0].get("accountEnabled") is False:
        return Check(
            SYNC_FABRIC,
            Status.FAIL,
            "The Microsoft.Azure.SyncFabric service principal is disabled.",
            "Enable it in Entra ID > Enterprise applications (Microsoft.Azure.SyncFabric).",
        )
    return Check(
        SYNC_FABRIC, Status.PASS, "The Microsoft.Azure.SyncFabric service principal exists."
    )


def mdm_groups(policies: list[dict]) -> list[str]:
    return [g["id"] for p in policies for g in p.get("includedGroups") or [] if g.get("id")]


def mdm_scope_check(policies: list[dict], *, member_of: set[str] | None) -> Check:
    """Where Intune is the MDM: its user scope includes the signed-in user."""
    fix = (
        "Add the user (or a group of theirs) to the MDM user scope: Entra ID > Mobility "
        "(MDM and WIP) > Microsoft Intune."
    )
    if not policies:
        return Check(
            MDM_SCOPE,
            Status.WARN,
            "No MDM is connected to Entra ID: devices will join but not enroll in an MDM.",
            "Connect the MDM (e.g. Microsoft Intune) in Entra ID > Mobility (MDM and WIP).",
        )
    intune = next((p for p in policies if p.get("id") == INTUNE_APP_ID), None)
    if intune is None:
        names = ", ".join(p.get("displayName") or p.get("id", "?") for p in policies)
        return Check(
            MDM_SCOPE,
            Status.NOT_CHECKED,
            f"The MDM is not Intune ({names}): its user scope was not checked.",
            "Make sure the package user is synced to that MDM and in its user scope.",
        )
    scope = intune.get("appliesTo")
    if scope == "all":
        return Check(MDM_SCOPE, Status.PASS, "Intune's MDM user scope is All.")
    if scope == "none":
        return Check(MDM_SCOPE, Status.FAIL, "Intune's MDM user scope is None.", fix)
    groups = {g.get("id") for g in intune.get("includedGroups") or []}
    if member_of is None:
        return Check(
            MDM_SCOPE,
            Status.NOT_CHECKED,
            "Intune's MDM user scope is Some, and your group membership could not be read.",
            fix,
        )
    if groups & member_of:
        return Check(MDM_SCOPE, Status.PASS, "You are in a group of Intune's MDM user scope.")
    return Check(
        MDM_SCOPE, Status.FAIL, "You are not in any group of Intune's MDM user scope.", fix
    )
