"""Conditional Access rules: policies that stop a package user while a device joins and enrolls.

``conditional_access_check`` (before the token) warns about enabled MFA policies for all users
that do not spare ``package_*`` users; ``package_user_ca_check`` (once the package user exists)
evaluates every enabled policy with a grant control against that very user and its groups.
"""

from __future__ import annotations

from tui.entra.checks import NEEDS, Check, Status
from tui.entra.graph import GraphClient, GraphError

INTUNE_APP_ID = "0000000a-0000-0000-c000-000000000000"
# Conditional Access targets that catch the package user while a device joins and enrolls.
REGISTER_DEVICE_ACTION = "urn:user:registerdevice"
ENROLLMENT_APPS = {
    "d4ebce55-015a-49b5-a083-c84d1797ae8c": "Microsoft Intune Enrollment",
    INTUNE_APP_ID: "Microsoft Intune",
    "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9": "Device Registration Service",
}
CONDITIONAL_ACCESS = "Conditional Access and MFA"
PACKAGE_CA = "Conditional Access on the package user"
_CA_READERS = "Policy.Read.All and the Global Reader or Security Reader role"
NEEDS.update({CONDITIONAL_ACCESS: _CA_READERS, PACKAGE_CA: _CA_READERS + ", and User.Read.All"})

EXCLUDE_HOW = (
    'Create a dynamic user group with the rule (user.userPrincipalName -startsWith "package_") '
    "and add it to the policy's excluded users (Entra ID > Conditional Access > the policy > Users "
    "> Exclude)."
)
# Conditions we do not evaluate: a policy using them may still spare the package user.
_OTHER_CONDITIONS = ("platforms", "locations", "devices", "signInRiskLevels", "userRiskLevels")


def requires_mfa(policy: dict) -> bool:
    grant = policy.get("grantControls") or {}
    return "mfa" in (grant.get("builtInControls") or []) or bool(
        grant.get("authenticationStrength")
    )


def enrollment_target(policy: dict) -> str | None:
    """Which part of device join/enrollment a policy's apps and actions cover, or None."""
    apps = (policy.get("conditions") or {}).get("applications") or {}
    if REGISTER_DEVICE_ACTION in (apps.get("includeUserActions") or []):
        return "device registration"
    included = apps.get("includeApplications") or []
    excluded = set(apps.get("excludeApplications") or [])
    if "All" in included:
        spared = [name for app_id, name in ENROLLMENT_APPS.items() if app_id in excluded]
        return None if len(spared) == len(ENROLLMENT_APPS) else "all cloud apps"
    for app_id, name in ENROLLMENT_APPS.items():
        if app_id in included:
            return name
    return None


def catches_enrollment(policy: dict) -> str | None:
    """What of device join/enrollment an enabled MFA policy for all users targets, or None."""
    if policy.get("state") != "enabled" or not requires_mfa(policy):
        return None
    users = (policy.get("conditions") or {}).get("users") or {}
    if "All" not in (users.get("includeUsers") or []):
        return None
    return enrollment_target(policy)


def excludes_package_users(
    policy: dict, groups: dict[str, dict | None], package_user_id: str | None = None
) -> bool | None:
    """True when the policy spares package_* users; None when an excluded group was unreadable."""
    users = (policy.get("conditions") or {}).get("users") or {}
    if package_user_id and package_user_id in (users.get("excludeUsers") or []):
        return True
    unreadable = False
    for group_id in users.get("excludeGroups") or []:
        group = groups.get(group_id)
        if group is None:
            unreadable = True
            continue
        if is_package_group(group):
            return True
    return None if unreadable else False


def is_package_group(group: dict) -> bool:
    """A dynamic group whose rule is about package_* user names (it holds every package user)."""
    rule = (group.get("membershipRule") or "").lower()
    return "userprincipalname" in rule and "package_" in rule


def conditional_access_check(
    policies: list[dict], groups: dict[str, dict | None], package_user_id: str | None = None
) -> Check:
    """Enabled MFA-for-all-users policies on join or enrollment must spare package_* users."""
    caught, unsure = [], []
    for policy in policies:
        target = catches_enrollment(policy)
        if target is None:
            continue
        name = f"'{policy.get('displayName') or policy.get('id')}' ({target})"
        spared = excludes_package_users(policy, groups, package_user_id)
        if spared is False:
            caught.append(name)
        elif spared is None:
            unsure.append(name)
    if caught:
        return Check(
            CONDITIONAL_ACCESS,
            Status.WARN,
            f"MFA is required for all users by {', '.join(caught)} without excluding package_* "
            "users: the device join fails with 0xCAA2000C.",
            EXCLUDE_HOW,
        )
    if unsure:
        return Check(
            CONDITIONAL_ACCESS,
            Status.WARN,
            f"MFA is required for all users by {', '.join(unsure)}; its excluded groups could not "
            "be read, so whether package_* users are spared is unknown.",
            EXCLUDE_HOW,
        )
    return Check(
        CONDITIONAL_ACCESS,
        Status.PASS,
        "No enabled Conditional Access policy requires MFA of package_* users for device join or "
        "enrollment.",
    )


def read_conditional_access(
    graph: GraphClient, package_user_id: str | None, policies: list[dict] | None = None
) -> Check:
    if policies is None:
        policies = graph.get_all("/identity/conditionalAccess/policies")
    groups: dict[str, dict | None] = {}
    for policy in policies:
        if catches_enrollment(policy) is None:
            continue
        users = (policy.get("conditions") or {}).get("users") or {}
        for group_id in users.get("excludeGroups") or []:
            if group_id in groups:
                continue
            try:
                groups[group_id] = graph.get(
                    f"/groups/{group_id}",
                    params={"$select": "id,displayName,membershipRule,groupTypes"},
                )
            except GraphError:
                groups[group_id] = None
    return conditional_access_check(policies, groups, package_user_id)


# --- the package user itself ---------------------------------------------------------------


def policy_groups(policies: list[dict]) -> list[str]:
    """Every group an enabled policy includes or excludes (to ask the package user's membership)."""
    found = []
    for policy in policies:
        if policy.get("state") != "enabled":
            continue
        users = (policy.get("conditions") or {}).get("users") or {}
        found += (users.get("includeGroups") or []) + (users.get("excludeGroups") or [])
    return found


def _grant(policy: dict) -> str | None:
    """What the policy demands, in words; None when it grants with no control at all."""
    grant = policy.get("grantControls") or {}
    controls = list(grant.get("builtInControls") or [])
    if "block" in controls:
        return "blocks access"
    if grant.get("authenticationStrength"):
        controls.append("an authentication strength")
    controls += [f"terms of use {t}" for t in grant.get("termsOfUse") or []]
    return f"requires {', '.join(controls)}" if controls else None


def _applies(users: dict, user_id: str, member_of: set[str] | None) -> bool | None:
    """Does the policy's user scope take this user (None: its groups were unreadable)?"""
    if user_id in (users.get("excludeUsers") or []):
        return False
    excluded = set(users.get("excludeGroups") or [])
    included_groups = set(users.get("includeGroups") or [])
    if member_of is None and (excluded or included_groups):
        return None
    if excluded & (member_of or set()):
        return False
    included = users.get("includeUsers") or []
    return "All" in included or user_id in included or bool(included_groups & (member_of or set()))


def package_user_ca_check(
    policies: list[dict], *, upn: str, user_id: str, member_of: set[str] | None
) -> Check:
    """Enabled policies that take the package user (all users, it, or a group of its) without
    excluding it, with a grant control, on device registration, all apps or the enrollment apps."""
    caught, conditional, unsure = [], [], []
    for policy in policies:
        demand = _grant(policy) if policy.get("state") == "enabled" else None
        target = enrollment_target(policy) if demand else None
        if target is None:
            continue
        conditions = policy.get("conditions") or {}
        applies = _applies(conditions.get("users") or {}, user_id, member_of)
        name = f"'{policy.get('displayName') or policy.get('id')}' ({target}, {demand})"
        if applies is None:
            unsure.append(name)
        elif applies:
            other = any(conditions.get(c) for c in _OTHER_CONDITIONS)
            (conditional if other else caught).append(name)
    fix = EXCLUDE_HOW.replace("Create a", f"Exclude {upn}, or create a", 1)
    if caught:
        return Check(
            PACKAGE_CA,
            Status.FAIL,
            f"{', '.join(caught)} applies to the package user {upn}, which can never satisfy it: "
            "devices fail to join (0xCAA2000C) or to enroll.",
            fix,
        )
    if conditional or unsure:
        words = []
        if conditional:
            words.append(
                f"{', '.join(conditional)} applies to the package user {upn} unless its "
                "other conditions (platforms, locations, device filters, risk) spare it"
            )
        if unsure:
            words.append(
                f"whether {', '.join(unsure)} applies is unknown (the package user's groups "
                "could not be read)"
            )
        return Check(PACKAGE_CA, Status.WARN, "; ".join(words) + ".", fix)
    return Check(
        PACKAGE_CA,
        Status.PASS,
        f"No enabled Conditional Access policy stops the package user {upn} for device join or "
        "enrollment.",
    )
