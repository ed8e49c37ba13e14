"""Tenant readiness: the rules on Graph's JSON, then whole tenants through the HTTPS fake
with the real msal device-code sign-in."""

import copy
import logging

import pytest
from fakes.graph import (
    ALSO_MISSING,
    MISSING,
    OTHER_GROUP,
    PACKAGE_GROUP,
    admin_id,
    fake_graph,
    missing,
    reader_without_rights,
    ready_tenant,
)

from tui.entra.graph import READINESS_PERMISSIONS, GraphError, Waiting
from tui.entra.readiness import (
    CHECK_NAMES,
    CONDITIONAL_ACCESS,
    INTUNE_APP_ID,
    JOIN,
    LICENSE,
    MDM_SCOPE,
    QUOTA,
    SYNC_FABRIC,
    Check,
    Checked,
    Checking,
    Status,
    conditional_access_check,
    exit_status,
    join_check,
    license_check,
    mdm_scope_check,
    not_checked,
    quota_check,
    render_checks,
    run_readiness,
    sync_fabric_check,
    worst,
)
from tui.entra.signin import Cancelled, CancelToken, SignedIn, WaitingForSignIn

ME = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def sku(part, plans, status="Enabled"):
    return {
        "skuPartNumber": part,
        "capabilityStatus": status,
        "servicePlans": [{"servicePlanName": p} for p in plans],
    }


def join_policy(kind, users=(), groups=(), quota=50):
    allowed = {"@odata.type": f"#microsoft.graph.{kind}"}
    if kind == "enumeratedDeviceRegistrationMembership":
        allowed |= {"users": list(users), "groups": list(groups)}
    return {"userDeviceQuota": quota, "azureADJoin": {"allowedToJoin": allowed}}


def mfa_policy(
    *,
    state="enabled",
    users=("All",),
    apps=("All",),
    actions=(),
    excluded_apps=(),
    exclude_groups=(),
    exclude_users=(),
    grant=None,
):
    return {
        "id": "p1",
        "displayName": "MFA policy",
        "state": state,
        "conditions": {
            "users": {
                "includeUsers": list(users),
                "excludeUsers": list(exclude_users),
                "excludeGroups": list(exclude_groups),
            },
            "applications": {
                "includeApplications": list(apps),
                "excludeApplications": list(excluded_apps),
                "includeUserActions": list(actions),
            },
        },
        "grantControls": grant if grant is not None else {"builtInControls": ["mfa"]},
    }


PACKAGE_RULE_GROUP = {
    "id": "g1",
    "membershipRule": '(user.userPrincipalName -startsWith "package_")',
}


# --- Entra ID P1/P2 ------------------------------------------------------------------------


@pytest.mark.parametrize("plan", ["AAD_PREMIUM", "AAD_PREMIUM_P2"])
def test_a_sku_with_premium_passes(plan):
    check = license_check([sku("EMS", ["INTUNE_A", plan])])
    assert check.status is Status.PASS and "EMS" in check.reason


def test_no_premium_plan_fails_and_says_what_to_buy():
    check = license_check([sku("O365_BUSINESS", ["EXCHANGE_S_STANDARD"])])
    assert check.status is Status.FAIL
    assert "not enroll in MDM" in check.reason and "P1" in check.fix


def test_premium_in_a_suspended_sku_fails_naming_it():
    check = license_check([sku("SPE_E3", ["AAD_PREMIUM"], "Suspended")])
    assert check.status is Status.FAIL and "SPE_E3: Suspended" in check.reason


def test_premium_in_its_grace_period_warns():
    check = license_check([sku("SPE_E3", ["AAD_PREMIUM"], "Warning")])
    assert check.status is Status.WARN


# --- joining devices ---------------------------------------------------------------------


def test_all_users_may_join():
    policy = join_policy("allDeviceRegistrationMembership")
    assert join_check(policy, user_id=ME, member_of=set()).status is Status.PASS


def test_nobody_may_join_fails_with_where_to_allow_it():
    check = join_check(join_policy("noDeviceRegistrationMembership"), user_id=ME, member_of=set())
    assert check.status is Status.FAIL and "Device settings" in check.fix


def test_selected_users_include_me_by_id_or_group():
    by_id = join_policy("enumeratedDeviceRegistrationMembership", users=[ME])
    by_group = join_policy("enumeratedDeviceRegistrationMembership", groups=["g"])
    assert join_check(by_id, user_id=ME, member_of=None).status is Status.PASS
    assert join_check(by_group, user_id=ME, member_of={"g"}).status is Status.PASS


def test_selected_users_without_me_fails_naming_the_error_it_prevents():
    policy = join_policy("enumeratedDeviceRegistrationMembership", users=["x"], groups=["g"])
    check = join_check(policy, user_id=ME, member_of={"other"})
    assert check.status is Status.FAIL and "AADSTS240001" in check.reason


def test_not_checked_names_the_rights_or_graphs_answer():
    forbidden = not_checked(LICENSE, GraphError(403, "Authorization_RequestDenied", "no", "/x"))
    assert (
        forbidden.status is Status.NOT_CHECKED and "LicenseAssignment.Read.All" in forbidden.reason
    )
    busy = not_checked(LICENSE, GraphError(503, "ServiceUnavailable", "busy", "/x"))
    assert busy.status is Status.NOT_CHECKED
    assert busy.reason == "Not checked: Microsoft Graph answered 503 ServiceUnavailable."
    assert busy.fix == "Try again later, or check it in the Entra admin center."


def test_selected_groups_with_unreadable_membership_is_not_checked():
    policy = join_policy("enumeratedDeviceRegistrationMembership", groups=["g"])
    check = join_check(policy, user_id=ME, member_of=None)
    assert check.status is Status.NOT_CHECKED and "GroupMember.Read.All" in check.reason


@pytest.mark.parametrize(
    ("quota", "status"), [(0, Status.FAIL), (10, Status.WARN), (50, Status.PASS), (None, None)]
)
def test_device_quota(quota, status):
    check = quota_check({"userDeviceQuota": quota} if quota is not None else {})
    assert check.status is (status or Status.NOT_CHECKED)
    if quota:
        assert str(quota) in check.reason


# --- SyncFabric ----------------------------------------------------------------------------


def test_sync_fabric_missing_or_disabled_fails():
    sync = {"appId": "00000014-0000-0000-c000-000000000000", "accountEnabled": True}
    assert sync_fabric_check([sync]).status is Status.PASS
    missing_check = sync_fabric_check([{"appId": "other"}])
    assert missing_check.status is Status.FAIL and "New-MgServicePrincipal" in missing_check.fix
    assert sync_fabric_check([sync | {"accountEnabled": False}]).status is Status.FAIL


# --- Conditional Access --------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        mfa_policy(),
        mfa_policy(apps=(), actions=("urn:user:registerdevice",)),
        mfa_policy(apps=("d4ebce55-015a-49b5-a083-c84d1797ae8c",)),
        mfa_policy(apps=(INTUNE_APP_ID,)),
        mfa_policy(grant={"builtInControls": [], "authenticationStrength": {"id": "mfa"}}),
    ],
    ids=["all-apps", "register-device", "intune-enrollment", "intune", "auth-strength"],
)
def test_mfa_for_all_users_on_join_or_enrollment_warns_and_says_how_to_exclude(policy):
    check = conditional_access_check([policy], {})
    assert check.status is Status.WARN
    assert "'MFA policy'" in check.reason and "0xCAA2000C" in check.reason
    assert 'startsWith "package_"' in check.fix


@pytest.mark.parametrize(
    "policy",
    [
        mfa_policy(state="disabled"),
        mfa_policy(state="enabledForReportingButNotEnforced"),
        mfa_policy(users=("some-group-member",)),
        mfa_policy(grant={"builtInControls": ["compliantDevice"]}),
        mfa_policy(apps=("00000002-0000-0ff1-ce00-000000000000",)),
        mfa_policy(
            excluded_apps=(
                "d4ebce55-015a-49b5-a083-c84d1797ae8c",
                INTUNE_APP_ID,
                "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
            )
        ),
    ],
    ids=["disabled", "report-only", "not-all-users", "no-mfa", "other-app", "enroll-apps-spared"],
)
def test_policies_that_do_not_catch_package_users_pass(policy):
    assert conditional_access_check([policy], {}).status is Status.PASS


def test_a_dynamic_package_group_or_the_package_user_excluded_passes():
    by_group = mfa_policy(exclude_groups=["g1"])
    by_user = mfa_policy(exclude_users=["pkg-id"])
    assert conditional_access_check([by_group], {"g1": PACKAGE_RULE_GROUP}).status is Status.PASS
    assert conditional_access_check([by_user], {}, "pkg-id").status is Status.PASS


def test_an_excluded_group_without_a_package_rule_still_warns():
    policy = mfa_policy(exclude_groups=["g2"])
    groups = {"g2": {"id": "g2", "membershipRule": None}}
    assert conditional_access_check([policy], groups).status is Status.WARN


def test_an_unreadable_excluded_group_warns_that_it_is_unknown():
    check = conditional_access_check([mfa_policy(exclude_groups=["g3"])], {"g3": None})
    assert check.status is Status.WARN and "could not be read" in check.reason


# --- MDM user scope ------------------------------------------------------------------------


def intune(scope, groups=()):
    return {"id": INTUNE_APP_ID, "appliesTo": scope, "includedGroups": [{"id": g} for g in groups]}


def test_mdm_scope():
    assert mdm_scope_check([intune("all")], member_of=set()).status is Status.PASS
    assert mdm_scope_check([intune("none")], member_of=set()).status is Status.FAIL
    assert mdm_scope_check([intune("selected", ["g"])], member_of={"g"}).status is Status.PASS
    assert mdm_scope_check([intune("selected", ["g"])], member_of=set()).status is Status.FAIL
    unread = mdm_scope_check([intune("selected", ["g"])], member_of=None)
    assert unread.status is Status.NOT_CHECKED


def test_no_mdm_connected_warns_and_another_mdm_is_not_checked():
    assert mdm_scope_check([], member_of=set()).status is Status.WARN
    other = mdm_scope_check([{"id": "x", "displayName": "Workspace ONE"}], member_of=set())
    assert other.status is Status.NOT_CHECKED and "Workspace ONE" in other.reason


# --- summaries -----------------------------------------------------------------------------


def test_exit_status_and_worst_and_text():
    ok = Check("a", Status.PASS, "fine.")
    unsure = Check("b", Status.NOT_CHECKED, "Not checked.", "Sign in as a reader.")
    bad = Check("c", Status.FAIL, "Broken.", "Fix it.")
    assert exit_status([ok, unsure]) == 0 and exit_status([ok, bad]) == 1
    assert worst([ok, unsure]) is Status.NOT_CHECKED and worst([unsure, bad]) is Status.FAIL
    text = render_checks([ok, bad])
    assert text.splitlines() == [
        "pass        a: fine.",
        "FAIL        c: Broken.",
        "              fix: Fix it.",
    ]
    assert bad.to_json() == {"name": "c", "status": "fail", "reason": "Broken.", "fix": "Fix it."}


# --- whole tenants through the fake Graph, real msal sign-in --------------------------------


def readiness(fake, **kwargs):
    events = kwargs.pop("events", [])
    checks = run_readiness(
        fake.sign_in_config(),
        graph_url=fake.graph_url,
        on_event=events.append,
        cancel=kwargs.pop("cancel", CancelToken()),
        **kwargs,
    )
    return {check.name: check for check in checks}, events


@pytest.fixture
def graph(tmp_path, monkeypatch):
    with fake_graph(tmp_path, monkeypatch=monkeypatch) as fake:
        yield fake


def test_ready_tenant_passes_every_check(graph):
    events = []
    checks, _ = readiness(graph, events=events)
    assert list(checks) == list(CHECK_NAMES)
    assert {name: c.status for name, c in checks.items()} == dict.fromkeys(CHECK_NAMES, Status.PASS)
    # The admin saw the device code first, then each check, then its result.
    assert isinstance(events[0], WaitingForSignIn) and isinstance(events[1], SignedIn)
    steps = [(type(e).__name__, getattr(e, "name", None) or e.check.name) for e in events[2:]]
    assert steps == [(kind, name) for name in CHECK_NAMES for kind in ("Checking", "Checked")]
    assert [e.check for e in events if isinstance(e, Checked)] == list(checks.values())


def test_only_the_read_permissions_are_asked_for(graph):
    readiness(graph)
    scope = graph.identity.calls_to("/oauth2/v2.0/devicecode")[0].form["scope"].split()
    assert {s.rsplit("/", 1)[-1] for s in scope if "/" in s} == set(READINESS_PERMISSIONS)
    assert not any("Write" in s or "Directory." in s for s in scope)


@pytest.mark.parametrize("variant", sorted(MISSING))
def test_a_tenant_missing_one_condition_flags_exactly_that(graph, variant):
    graph.tenant = missing(variant)
    _, name, status = MISSING[variant]
    checks, _ = readiness(graph)
    assert checks[name].status == status
    assert checks[name].fix
    also = ALSO_MISSING.get(variant, {})
    assert {n: checks[n].status for n in also} == also
    others = {n: c.status for n, c in checks.items() if n != name and n not in also}
    assert set(others.values()) == {Status.PASS}, others


def test_an_account_without_read_rights_is_never_told_pass(graph):
    graph.tenant = reader_without_rights()
    checks, _ = readiness(graph)
    refused = [LICENSE, JOIN, QUOTA, CONDITIONAL_ACCESS, MDM_SCOPE]
    for name in refused:
        assert checks[name].status is Status.NOT_CHECKED, name
        assert checks[name].reason.startswith("Not checked"), name
        assert "needs" in checks[name].reason
    assert "Policy.Read.All" in checks[CONDITIONAL_ACCESS].reason
    assert checks[SYNC_FABRIC].status is Status.PASS  # readable by any member


def test_unreadable_group_membership_with_a_selected_join_scope_is_not_checked(graph):
    tenant = ready_tenant()
    tenant.device_policy["azureADJoin"]["allowedToJoin"] = {
        "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
        "users": [],
        "groups": [OTHER_GROUP],
    }
    tenant.forbidden = {"checkMemberGroups"}
    graph.tenant = tenant
    checks, _ = readiness(graph)
    assert checks[JOIN].status is Status.NOT_CHECKED
    assert checks[MDM_SCOPE].status is Status.NOT_CHECKED


def test_more_than_twenty_groups_are_checked_in_batches(graph):
    tenant = ready_tenant()
    groups = [f"00000000-0000-4000-8000-{n:012d}" for n in range(45)]
    tenant.device_policy["azureADJoin"]["allowedToJoin"] = {
        "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
        "users": [],
        "groups": groups,
    }
    tenant.admin_groups |= {groups[44]}
    graph.tenant = tenant
    checks, _ = readiness(graph)
    assert checks[JOIN].status is Status.PASS
    assert graph.served("checkMemberGroups") == 3


def test_paged_answers_give_the_same_results(graph):
    tenant = missing("mfa-catches-package-users")
    tenant.skus = [copy.deepcopy(tenant.skus[0]) for _ in range(4)] + tenant.skus
    tenant.page_size = 2
    graph.tenant = tenant
    checks, _ = readiness(graph)
    assert checks[LICENSE].status is Status.PASS
    assert checks[CONDITIONAL_ACCESS].status is Status.WARN
    assert "MFA to register devices" in checks[CONDITIONAL_ACCESS].reason
    assert graph.served("subscribedSkus") == 3
    assert graph.served("conditionalAccess") == 2


def test_throttled_tenant_waits_as_told_and_still_answers(graph):
    tenant = ready_tenant()
    tenant.throttle = {"subscribedSkus": 1, "conditionalAccess": 2}
    tenant.retry_after = "1"
    graph.tenant = tenant
    slept = []
    checks, events = readiness(graph, sleep=slept.append)
    assert {c.status for c in checks.values()} == {Status.PASS}
    assert slept == [1.0, 1.0, 1.0]
    assert sum(isinstance(e, Waiting) for e in events) == 3


def test_excluded_group_is_read_to_see_the_package_rule(graph):
    readiness(graph)
    paths = [path for route, path in graph.requests if route == "groups"]
    assert paths == [f"/v1.0/groups/{PACKAGE_GROUP}"]


def test_cancelled_before_the_checks_signs_nothing_in(graph):
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        readiness(graph, cancel=cancel)
    assert graph.requests == [] and graph.identity.calls == []


def test_the_signed_in_admin_is_the_one_checked(graph):
    tenant = ready_tenant()
    tenant.device_policy["azureADJoin"]["allowedToJoin"] = {
        "@odata.type": "#microsoft.graph.enumeratedDeviceRegistrationMembership",
        "users": [admin_id(graph.identity.username)],
        "groups": [],
    }
    graph.tenant = tenant
    checks, _ = readiness(graph)
    assert checks[JOIN].status is Status.PASS
    assert "among the users" in checks[JOIN].reason


def test_cancel_between_checks_stops_the_reading(graph):
    cancel = CancelToken()

    def on_event(event):
        if isinstance(event, Checking) and event.name == SYNC_FABRIC:
            cancel.cancel()

    with pytest.raises(Cancelled):
        run_readiness(
            graph.sign_in_config(), graph_url=graph.graph_url, on_event=on_event, cancel=cancel
        )
    assert graph.served("subscribedSkus") == 1
    assert graph.served("servicePrincipals") == 1  # the WCD app's, before SyncFabric's
    assert graph.served("enrollmentConfigurations") == 0


def test_no_log_record_holds_the_access_token(graph, caplog):
    caplog.set_level(logging.DEBUG)
    checks, _ = readiness(graph)
    assert checks and graph.identity.access_tokens
    for token in graph.identity.access_tokens:
        assert token not in caplog.text
        assert all(token not in repr(c) for c in checks.values())
