"""The rules for the failures that reach the device (pure, over Graph's JSON), and the
Conditional Access rule against the package user itself."""

import pytest

from tui.entra.checks import Status
from tui.entra.conditional_access import package_user_ca_check
from tui.entra.tenantrules import (
    WCD_APP_ID,
    admin_consent_url,
    federation_check,
    package_join_check,
    package_mdm_check,
    platform_restriction_check,
    wcd_app_check,
)

INTUNE = "0000000a-0000-0000-c000-000000000000"
PKG_RULE = {
    "id": "g1",
    "displayName": "Package users",
    "membershipRule": '(user.userPrincipalName -startsWith "package_")',
}


def restriction(**windows):
    return [
        {
            "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
            "id": "t_DefaultPlatformRestrictions",
            "priority": 0,
            "windowsRestriction": windows,
        }
    ]


def test_default_restriction_blocking_windows_fails_with_0x80180014():
    check = platform_restriction_check(restriction(platformBlocked=True))
    assert check.status is Status.FAIL and "0x80180014" in check.reason
    assert "Device platform restriction" in check.fix


def test_default_restriction_rules():
    assert platform_restriction_check(restriction(platformBlocked=False)).status is Status.PASS
    versions = platform_restriction_check(restriction(osMinimumVersion="10.0.22631"))
    assert versions.status is Status.WARN and "10.0.22631" in versions.reason
    personal = platform_restriction_check(restriction(personalDeviceEnrollmentBlocked=True))
    assert personal.status is Status.WARN
    assert platform_restriction_check([]).status is Status.NOT_CHECKED


def test_a_group_restriction_does_not_count_only_the_default():
    group = restriction(platformBlocked=True)[0] | {"id": "x_PlatformRestrictions", "priority": 1}
    assert platform_restriction_check([group, *restriction()]).status is Status.PASS


def test_the_single_platform_default_is_read_too():
    single = {
        "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionConfiguration",
        "id": "t_DefaultPlatformRestrictions_Windows",
        "priority": 0,
        "platformType": "windows",
        "platformRestriction": {"platformBlocked": True},
    }
    assert platform_restriction_check([*restriction(), single]).status is Status.FAIL


def selected(users=(), groups=()):
    kind = "#microsoft.graph.enumeratedDeviceRegistrationMembership"
    return {
        "azureADJoin": {
            "allowedToJoin": {"@odata.type": kind, "users": list(users), "groups": list(groups)}
        }
    }


def test_selected_join_needs_a_dynamic_package_group_before_the_token():
    fail = package_join_check(selected(groups=["g2"]), {"g2": {"id": "g2"}})
    assert fail.status is Status.FAIL
    assert "A setup failure has occurred during bulk enrollment" in fail.reason
    assert 'startsWith "package_"' in fail.fix
    ok = package_join_check(selected(groups=["g1"]), {"g1": PKG_RULE})
    assert ok.status is Status.PASS and "Package users" in ok.reason
    unknown = package_join_check(selected(groups=["g3"]), {"g3": None})
    assert unknown.status is Status.NOT_CHECKED


def test_selected_join_with_the_package_user_known():
    policy = selected(users=["u"], groups=["g1"])
    assert (
        package_join_check(policy, {}, package_user_id="u", member_of=set()).status is Status.PASS
    )
    assert (
        package_join_check(
            selected(groups=["g1"]), {}, package_user_id="p", member_of={"g1"}
        ).status
        is Status.PASS
    )
    no = package_join_check(selected(groups=["g1"]), {}, package_user_id="p", member_of=set())
    assert no.status is Status.FAIL and "the package user is not among them" in no.reason
    unread = package_join_check(selected(groups=["g1"]), {}, package_user_id="p", member_of=None)
    assert unread.status is Status.NOT_CHECKED


def test_federated_domain_fails_and_names_the_cloud_only_domain():
    domains = [
        {"id": "contoso.com", "authenticationType": "Federated"},
        {"id": "contoso.onmicrosoft.com", "authenticationType": "Managed", "isInitial": True},
    ]
    check = federation_check(domains, "Admin@Contoso.com")
    assert check.status is Status.FAIL and "federated" in check.reason
    assert "@contoso.onmicrosoft.com" in check.fix
    assert federation_check(domains, "a@contoso.onmicrosoft.com").status is Status.PASS
    assert federation_check(domains, "guest@fabrikam.com").status is Status.NOT_CHECKED


def test_wcd_app_missing_warns_with_the_admin_consent_url():
    url = admin_consent_url("https://login.microsoftonline.com", "contoso.com")
    assert url == (
        "https://login.microsoftonline.com/contoso.com/adminconsent"
        "?client_id=de0853a1-ab20-47bd-990b-71ad5077ac7b"
    )
    missing = wcd_app_check([{"appId": "other"}], consent_url=url)
    assert missing.status is Status.WARN and "AADSTS240001" in missing.reason and url in missing.fix
    app = {"appId": WCD_APP_ID, "accountEnabled": True}
    assert wcd_app_check([app], consent_url=url).status is Status.PASS
    assert wcd_app_check([app | {"accountEnabled": False}], consent_url=url).status is Status.FAIL


def test_package_user_mdm_scope():
    def scope(kind, groups=()):
        return [{"id": INTUNE, "appliesTo": kind, "includedGroups": [{"id": g} for g in groups]}]

    assert package_mdm_check(scope("all"), upn="p@x", member_of=None).status is Status.PASS
    assert package_mdm_check(scope("none"), upn="p@x", member_of=set()).status is Status.FAIL
    assert (
        package_mdm_check(scope("selected", ["m"]), upn="p@x", member_of={"m"}).status
        is Status.PASS
    )
    assert (
        package_mdm_check(scope("selected", ["m"]), upn="p@x", member_of=set()).status
        is Status.FAIL
    )
    assert (
        package_mdm_check(scope("selected", ["m"]), upn="p@x", member_of=None).status
        is Status.NOT_CHECKED
    )
    assert package_mdm_check([], upn="p@x", member_of=set()).status is Status.NOT_CHECKED


def ca(users, *, grant=("block",), apps=("All",), actions=(), state="enabled", **conditions):
    return {
        "id": "p",
        "displayName": "Policy",
        "state": state,
        "conditions": {
            "users": users,
            "applications": {
                "includeApplications": list(apps),
                "includeUserActions": list(actions),
            },
            **conditions,
        },
        "grantControls": {"builtInControls": list(grant)},
    }


@pytest.mark.parametrize(
    "users",
    [{"includeUsers": ["All"]}, {"includeUsers": ["pid"]}, {"includeGroups": ["g"]}],
    ids=["all-users", "the-user", "its-group"],
)
def test_a_policy_taking_the_package_user_fails(users):
    check = package_user_ca_check([ca(users)], upn="p@x", user_id="pid", member_of={"g"})
    assert (
        check.status is Status.FAIL and "'Policy' (all cloud apps, blocks access)" in check.reason
    )
    assert check.fix.startswith("Exclude p@x, or create a dynamic user group")


@pytest.mark.parametrize(
    "policy",
    [
        ca({"includeUsers": ["All"], "excludeUsers": ["pid"]}),
        ca({"includeUsers": ["All"], "excludeGroups": ["g"]}),
        ca({"includeGroups": ["other"]}),
        ca({"includeUsers": ["All"]}, state="enabledForReportingButNotEnforced"),
        ca({"includeUsers": ["All"]}, grant=()),
        ca({"includeUsers": ["All"]}, apps=("00000002-0000-0ff1-ce00-000000000000",)),
    ],
    ids=["user-excluded", "group-excluded", "other-group", "report-only", "no-grant", "other-app"],
)
def test_policies_that_spare_the_package_user_pass(policy):
    check = package_user_ca_check([policy], upn="p@x", user_id="pid", member_of={"g"})
    assert check.status is Status.PASS


def test_other_conditions_or_unreadable_groups_warn():
    located = ca({"includeUsers": ["All"]}, locations={"includeLocations": ["All"]})
    assert (
        package_user_ca_check([located], upn="p@x", user_id="pid", member_of=set()).status
        is Status.WARN
    )
    grouped = ca({"includeGroups": ["g"]}, actions=("urn:user:registerdevice",), apps=())
    check = package_user_ca_check([grouped], upn="p@x", user_id="pid", member_of=None)
    assert check.status is Status.WARN and "could not be read" in check.reason
