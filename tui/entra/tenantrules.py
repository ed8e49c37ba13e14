"""The tenant failures technicians hit most on the device, caught before the trip (pure rules).

- Intune's *default* device platform restriction blocking Windows (0x80180014: a bulk-enrolled
  device has no user, so only the default restriction applies);
- "Users may join devices" set to Selected without the package users ("A setup failure has
  occurred during bulk enrollment");
- a federated sign-in account (the bulk token cannot be created with one);
- Windows Configuration Designer's app never consented in the tenant (AADSTS240001);
- once the token exists: the package user in the MDM user scope.

docs/graph-checks.md gives each call, permission, source and confidence.
"""

from __future__ import annotations

from tui.entra.checks import NEEDS, Check, Status
from tui.entra.conditional_access import INTUNE_APP_ID, is_package_group

WCD_APP_ID = "de0853a1-ab20-47bd-990b-71ad5077ac7b"

PLATFORM = "Windows enrollment restriction"
PACKAGE_JOIN = "Package users may join devices"
FEDERATION = "Cloud-only sign-in account"
WCD_APP = "Windows Configuration Designer app"
PACKAGE_MDM = "Package user in MDM user scope"
NEEDS.update(
    {
        PLATFORM: "DeviceManagementServiceConfig.Read.All and an Intune role that reads "
        "enrollment settings (e.g. Intune Administrator or Read Only Operator)",
        PACKAGE_JOIN: "Policy.Read.DeviceConfiguration and GroupMember.Read.All, e.g. the "
        "Global Reader role",
        FEDERATION: "Domain.Read.All, e.g. the Global Reader role",
        WCD_APP: "Application.Read.All",
        PACKAGE_MDM: "Policy.Read.All, User.Read.All and GroupMember.Read.All, e.g. the Global "
        "Reader role",
    }
)
JOIN_SETTING = 'Entra ID > Devices > Device settings > "Users may join devices to Microsoft Entra"'
PACKAGE_GROUP_HOW = (
    'a dynamic user group with the rule (user.userPrincipalName -startsWith "package_")'
)
SETUP_FAILURE = '"A setup failure has occurred during bulk enrollment"'


def admin_consent_url(login_base: str, tenant: str, client_id: str = WCD_APP_ID) -> str:
    """Tenant-wide admin consent for an app: ``https://<login host>/<tenant>/adminconsent``."""
    return f"{login_base.rstrip('/')}/{tenant}/adminconsent?client_id={client_id}"


# --- 0x80180014: the default platform restriction ------------------------------------------


def _windows_default(configs: list[dict]) -> dict | None:
    """The Windows part of the default platform restriction (both shapes Graph returns)."""
    combined = None
    for config in configs:
        kind = (config.get("@odata.type") or "").rsplit(".", 1)[-1]
        default = "DefaultPlatformRestrictions" in (config.get("id") or "") or (
            config.get("priority") == 0
        )
        if not default:
            continue
        if kind == "deviceEnrollmentPlatformRestrictionConfiguration":
            if (config.get("platformType") or "").lower() == "windows":
                return config.get("platformRestriction") or {}
        elif kind == "deviceEnrollmentPlatformRestrictionsConfiguration":
            combined = config.get("windowsRestriction") or {}
    return combined


def platform_restriction_check(configs: list[dict]) -> Check:
    """Bulk enrollment has no user: only the default restriction applies (0x80180014)."""
    fix = (
        "Allow Windows (MDM) in the default restriction: Intune admin center > Devices > "
        "Enrollment > Device platform restriction > Windows restrictions > All Users."
    )
    windows = _windows_default(configs)
    if windows is None:
        return Check(
            PLATFORM,
            Status.NOT_CHECKED,
            "Intune's default device platform restriction was not in the answer.",
            "Check it in the Intune admin center > Devices > Enrollment.",
        )
    if windows.get("platformBlocked"):
        return Check(
            PLATFORM,
            Status.FAIL,
            "Intune's default device platform restriction blocks Windows: a bulk-enrolled "
            "device has no user, so only the default applies, and enrollment fails with "
            "0x80180014.",
            fix,
        )
    low, high = windows.get("osMinimumVersion"), windows.get("osMaximumVersion")
    if low or high:
        span = f"from {low or 'any'} to {high or 'any'}"
        return Check(
            PLATFORM,
            Status.WARN,
            f"Intune's default device platform restriction allows Windows versions {span} "
            "only: devices outside it fail with 0x80180014.",
            "Widen the versions of the default restriction, or update the devices first.",
        )
    if windows.get("personalDeviceEnrollmentBlocked"):
        return Check(
            PLATFORM,
            Status.WARN,
            "Intune's default device platform restriction blocks personally owned Windows "
            "devices: a bulk-enrolled device counts as corporate only if Intune recognises it "
            "as such.",
            "Allow personally owned Windows devices in the default restriction, or add the "
            "devices as corporate identifiers first.",
        )
    return Check(
        PLATFORM, Status.PASS, "Intune's default device platform restriction allows Windows."
    )


# --- "A setup failure has occurred during bulk enrollment" ---------------------------------


def package_join_check(
    policy: dict,
    groups: dict[str, dict | None],
    *,
    package_user_id: str | None = None,
    member_of: set[str] | None = None,
) -> Check:
    """With "Selected", the package user must be listed, or in a listed group.

    Before the token there is no package user yet: only a dynamic group on ``package_`` user
    names can let it in. After, its id and transitive membership (``member_of``) are checked.
    """
    allowed = (policy.get("azureADJoin") or {}).get("allowedToJoin") or {}
    kind = (allowed.get("@odata.type") or "").rsplit(".", 1)[-1]
    who = "the package user" if package_user_id else "package users"
    fix = f"In {JOIN_SETTING}, choose All, or add {PACKAGE_GROUP_HOW} to the selected groups."
    if kind == "allDeviceRegistrationMembership":
        return Check(PACKAGE_JOIN, Status.PASS, f"All users may join devices, {who} included.")
    if kind == "noDeviceRegistrationMembership":
        return Check(
            PACKAGE_JOIN,
            Status.FAIL,
            f"No user may join devices, so neither may {who}: devices stop with {SETUP_FAILURE}.",
            fix,
        )
    if kind != "enumeratedDeviceRegistrationMembership":
        return Check(PACKAGE_JOIN, Status.NOT_CHECKED, f"Unknown join setting {kind or '(none)'}.")
    listed = set(allowed.get("groups") or [])
    if package_user_id:
        if package_user_id in (allowed.get("users") or []):
            return Check(PACKAGE_JOIN, Status.PASS, "The package user is among the selected users.")
        if listed and member_of is None:
            return Check(
                PACKAGE_JOIN,
                Status.NOT_CHECKED,
                "Only selected users and groups may join devices, and the package user's groups "
                f"could not be read (needs {NEEDS[PACKAGE_JOIN]}).",
                fix,
            )
        if listed & (member_of or set()):
            return Check(PACKAGE_JOIN, Status.PASS, "The package user is in a selected group.")
    else:
        found = [groups[g] for g in listed if groups.get(g) and is_package_group(groups[g])]
        if found:
            name = found[0].get("displayName") or found[0].get("id")
            return Check(
                PACKAGE_JOIN,
                Status.PASS,
                f"Package users may join devices through the dynamic group '{name}'.",
            )
        if any(groups.get(g) is None for g in listed):
            return Check(
                PACKAGE_JOIN,
                Status.NOT_CHECKED,
                "Only selected users and groups may join devices, and some selected groups could "
                f"not be read (needs {NEEDS[PACKAGE_JOIN]}).",
                fix,
            )
    return Check(
        PACKAGE_JOIN,
        Status.FAIL,
        f"Only selected users and groups may join devices, and {who} "
        f"{'is' if package_user_id else 'are'} not among them: devices stop with "
        f"{SETUP_FAILURE}.",
        fix,
    )


# --- federated accounts and the WCD app (AADSTS240001) -------------------------------------


def federation_check(domains: list[dict], upn: str) -> Check:
    """The bulk token cannot be created by a federated account: its domain must be managed."""
    domain = upn.rsplit("@", 1)[-1].lower()
    found = next((d for d in domains if (d.get("id") or "").lower() == domain), None)
    initial = next((d.get("id") for d in domains if d.get("isInitial")), None)
    if found is None:
        return Check(
            FEDERATION,
            Status.NOT_CHECKED,
            f"The domain of {upn} is not a domain of this tenant (a guest account?).",
            "Get the bulk token with a member account of the tenant.",
        )
    if (found.get("authenticationType") or "").lower() == "federated":
        other = f"an administrator @{initial}" if initial else "a cloud-only administrator"
        return Check(
            FEDERATION,
            Status.FAIL,
            f"{upn} is on the federated domain {domain}: creating the bulk token fails for "
            "federated accounts.",
            f"Get the bulk token with a cloud-only account, e.g. {other}.",
        )
    return Check(
        FEDERATION,
        Status.PASS,
        f"{upn} signs in to Entra ID directly (the domain {domain} is managed, not federated).",
    )


def wcd_app_check(service_principals: list[dict], *, consent_url: str) -> Check:
    """Windows Configuration Designer's app must exist (be consented) and be enabled."""
    matches = [sp for sp in service_principals if sp.get("appId") == WCD_APP_ID]
    if not matches:
        return Check(
            WCD_APP,
            Status.WARN,
            f"Windows Configuration Designer's app ({WCD_APP_ID}) was never consented in this "
            "tenant: the bulk token request may fail with AADSTS240001.",
            f"An administrator who may grant tenant-wide consent opens {consent_url} and accepts.",
        )
    if matches[0].get("accountEnabled") is False:
        return Check(
            WCD_APP,
            Status.FAIL,
            "Windows Configuration Designer's app is disabled in this tenant: nobody can sign "
            "in to it to get a bulk token.",
            "Enable it: Entra ID > Enterprise applications > Windows Configuration Designer > "
            'Properties > "Enabled for users to sign-in".',
        )
    return Check(
        WCD_APP, Status.PASS, "Windows Configuration Designer's app is set up in this tenant."
    )


# --- the package user in the MDM user scope ---------------------------------------------------


def package_mdm_check(policies: list[dict], *, upn: str, member_of: set[str] | None) -> Check:
    """Where Intune is the MDM, the package user must be in its user scope to enroll devices."""
    fix = (
        f"Add {PACKAGE_GROUP_HOW} to the MDM user scope: Entra ID > Mobility (MDM and WIP) > "
        "Microsoft Intune."
    )
    intune = next((p for p in policies if p.get("id") == INTUNE_APP_ID), None)
    if intune is None:
        return Check(
            PACKAGE_MDM,
            Status.NOT_CHECKED,
            "Intune is not the connected MDM: its user scope was not checked for the package user.",
            f"Make sure {upn} is synced to the MDM and in its user scope.",
        )
    scope = intune.get("appliesTo")
    if scope == "all":
        return Check(PACKAGE_MDM, Status.PASS, f"Intune's MDM user scope is All: {upn} is in it.")
    if scope == "none":
        return Check(PACKAGE_MDM, Status.FAIL, "Intune's MDM user scope is None.", fix)
    if member_of is None:
        return Check(
            PACKAGE_MDM,
            Status.NOT_CHECKED,
            "Intune's MDM user scope is Some, and the package user's groups could not be read.",
            fix,
        )
    if {g.get("id") for g in intune.get("includedGroups") or []} & member_of:
        return Check(PACKAGE_MDM, Status.PASS, f"{upn} is in a group of Intune's MDM user scope.")
    return Check(
        PACKAGE_MDM,
        Status.FAIL,
        f"{upn} is in no group of Intune's MDM user scope: devices join Entra ID but do not "
        "enroll in Intune.",
        fix,
    )
