"""Enrollment verification: the rules, then a project's package user and devices through the
HTTPS fake Graph with the real msal device-code sign-in."""

from datetime import UTC, date, datetime

import pytest
from fakes.graph import (
    PACKAGE_PID,
    deleted_package_user,
    fake_device,
    fake_graph,
    project_for,
    ready_tenant,
)

from tui.entra.enrollment import (
    DEVICES,
    PACKAGE_USER,
    REPORT_CHECKS,
    TOKEN,
    DeviceInfo,
    device_info,
    devices_check,
    package_user_of,
    token_check,
    user_check,
    verify_enrollment,
)
from tui.entra.graph import READINESS_PERMISSIONS, VERIFY_PERMISSIONS
from tui.entra.readiness import (
    INTUNE_APP_ID,
    PACKAGE_CA,
    PACKAGE_JOIN,
    PACKAGE_MDM,
    Check,
    Checked,
    Checking,
    Status,
)
from tui.entra.signin import Cancelled, CancelToken, WaitingForSignIn
from tui.errors import UserError
from tui.project.model import Project

TODAY = date(2026, 11, 30)


# --- the rules -----------------------------------------------------------------------------


def test_package_user_from_the_project():
    project = Project()
    project.entra.package_user = "package_x@contoso.example"
    assert package_user_of(project) == ("package_x@contoso.example", "")
    project.entra.package_user = ""
    project.entra.token_package_id = "{6F1E2A4C-8B0D-4C3E-9F57-0A1B2C3D4E5F}"
    assert package_user_of(project) == ("", "6f1e2a4c-8b0d-4c3e-9f57-0a1b2c3d4e5f")


def test_a_project_without_bulk_token_cannot_be_verified():
    with pytest.raises(UserError, match="get the bulk token first"):
        package_user_of(Project())


@pytest.mark.parametrize(
    ("expires", "status", "days"),
    [
        (date(2026, 11, 29), Status.FAIL, -1),
        (date(2026, 11, 30), Status.WARN, 0),
        (date(2026, 12, 30), Status.WARN, 30),
        (date(2027, 1, 15), Status.PASS, 46),
        (None, Status.NOT_CHECKED, None),
    ],
)
def test_token_days_left(expires, status, days):
    check, left = token_check(expires, TODAY)
    assert (check.status, left) == (status, days)
    if status is Status.FAIL:
        assert "expired" in check.reason and "new bulk token" in check.fix


def test_deleted_or_disabled_package_user_fails():
    gone = user_check("package_x@c.example", None)
    assert gone.status is Status.FAIL and "revoked" in gone.reason and "new" in gone.fix
    off = user_check("package_x@c.example", {"accountEnabled": False})
    assert off.status is Status.FAIL and "disabled" in off.reason
    assert user_check("package_x@c.example", {"accountEnabled": True}).status is Status.PASS


def test_device_info_reads_what_the_procedure_looks_at():
    info = device_info(
        {
            "displayName": "PC-1",
            "trustType": "AzureAd",
            "operatingSystem": "Windows",
            "operatingSystemVersion": "10.0.22631",
            "registrationDateTime": "2026-11-29T10:15:00Z",
            "isManaged": True,
            "mdmAppId": INTUNE_APP_ID,
            "isCompliant": False,
            "accountEnabled": True,
        }
    )
    assert info == DeviceInfo(
        name="PC-1",
        join_type="Entra joined",
        os="Windows 10.0.22631",
        registered=datetime(2026, 11, 29, 10, 15, tzinfo=UTC),
        mdm="Intune",
        compliant=False,
        enabled=True,
    )
    assert device_info({"trustType": "Workplace", "isManaged": False}).mdm == "none"
    assert device_info({"trustType": "Workplace"}).join_type == "Entra registered"
    assert device_info({"isManaged": True, "mdmAppId": "x"}).mdm == "other MDM"
    assert device_info({}).mdm == "" and device_info({}).compliant is None


def test_no_device_yet_warns_about_the_second_try():
    check = devices_check([])
    assert check.status is Status.WARN and "second try fails too" in check.fix


def test_no_device_with_a_failing_package_user_check_points_at_that_check():
    blocked = Check(PACKAGE_CA, Status.FAIL, "'Block' applies to the package user.", "Exclude it.")
    outside = Check(PACKAGE_MDM, Status.FAIL, "Not in the MDM user scope.", "Add it.")
    check = devices_check([], [Check(TOKEN, Status.PASS, "Valid."), blocked, outside])
    assert check.status is Status.WARN
    assert f"'{PACKAGE_CA}' failed" in check.reason and PACKAGE_MDM not in check.reason
    assert check.fix.startswith(f"Fix '{PACKAGE_CA}' first (see its fix above)")
    both = devices_check([], [Check(PACKAGE_USER, Status.FAIL, "Disabled."), blocked])
    assert f"Fix '{PACKAGE_USER}' and '{PACKAGE_CA}' first (see their fixes above)" in both.fix
    # Outside the MDM scope, devices still join: the advice stays the general one.
    assert "second try fails too" in devices_check([], [outside]).fix
    unmanaged = DeviceInfo("PC-3", "Entra joined", "Windows", None, "none", None, True)
    assert f"fix '{PACKAGE_MDM}' first" in devices_check([unmanaged], [outside]).fix
    assert "MDM user scope, and" in devices_check([unmanaged]).fix


def test_devices_not_joined_or_not_in_mdm_are_flagged():
    good = DeviceInfo("PC-1", "Entra joined", "Windows", None, "Intune", True, True)
    registered = DeviceInfo("PC-2", "Entra registered", "Windows", None, "Intune", None, True)
    unmanaged = DeviceInfo("PC-3", "Entra joined", "Windows", None, "none", None, True)
    assert devices_check([good]).status is Status.PASS
    check = devices_check([good, registered, unmanaged])
    assert check.status is Status.WARN
    assert "PC-2 is Entra registered" in check.reason
    assert "PC-3 is not enrolled in an MDM" in check.reason
    assert "PC-1" not in check.reason


# --- through the fake Graph ---------------------------------------------------------------


@pytest.fixture
def graph(tmp_path, monkeypatch):
    with fake_graph(tmp_path, monkeypatch=monkeypatch) as fake:
        yield fake


def verify(fake, project, **kwargs):
    events = kwargs.pop("events", [])
    return verify_enrollment(
        fake.sign_in_config(),
        project,
        today=TODAY,
        graph_url=fake.graph_url,
        on_event=events.append,
        cancel=CancelToken(),
        **kwargs,
    )


def statuses(report):
    return {c.name: c.status for c in report.checks}


def test_devices_joined_by_the_package_user_are_listed_oldest_first(graph):
    events = []
    report = verify(graph, project_for(graph.tenant, expires=date(2027, 3, 1)), events=events)
    assert report.package_user == graph.tenant.package_upn
    assert [d.name for d in report.devices] == ["PC-0001", "PC-0002"]
    assert {d.join_type for d in report.devices} == {"Entra joined"}
    assert report.token_days_left == 91
    assert [c.name for c in report.checks] == list(REPORT_CHECKS)
    assert set(statuses(report).values()) == {Status.PASS}
    assert isinstance(events[0], WaitingForSignIn)
    scope = graph.identity.calls_to("/oauth2/v2.0/devicecode")[0].form["scope"].split()
    assert {s.rsplit("/", 1)[-1] for s in scope if "/" in s} == set(VERIFY_PERMISSIONS)
    # Only what verification needed before, or what check already asks for; nothing writes.
    assert set(VERIFY_PERMISSIONS) <= {"User.Read.All", "Device.Read.All", *READINESS_PERMISSIONS}
    assert not any("Write" in s for s in scope)
    assert graph.served("userMemberGroups") == 1  # one query for the join, MDM and CA groups


def test_a_cancel_between_the_package_user_checks_stops_before_the_devices(graph):
    cancel = CancelToken()

    def on_event(event):
        if isinstance(event, Checked) and event.check.name == PACKAGE_JOIN:
            cancel.cancel()

    with pytest.raises(Cancelled):
        verify_enrollment(
            graph.sign_in_config(),
            project_for(graph.tenant, expires=date(2027, 3, 1)),
            today=TODAY,
            graph_url=graph.graph_url,
            on_event=on_event,
            cancel=cancel,
        )
    assert graph.served("ownedDevices") == graph.served("registeredDevices") == 0


def test_deleted_package_user_is_reported_and_no_devices_are_read(graph):
    graph.tenant = deleted_package_user()
    report = verify(graph, project_for(graph.tenant, expires=date(2027, 3, 1)))
    assert statuses(report)[PACKAGE_USER] is Status.FAIL
    assert "revoked the bulk token" in report.checks[0].reason
    assert report.devices == [] and [c.name for c in report.checks] == [PACKAGE_USER, TOKEN]
    assert graph.served("ownedDevices") == graph.served("registeredDevices") == 0
    assert graph.served("conditionalAccess") == graph.served("userMemberGroups") == 0


def test_package_user_found_by_package_id_when_the_upn_is_unknown(graph):
    project = project_for(graph.tenant, expires=date(2027, 3, 1))
    project.entra.package_user = ""
    project.entra.token_package_id = "{" + PACKAGE_PID.upper() + "}"
    report = verify(graph, project)
    assert report.package_user == graph.tenant.package_upn
    assert len(report.devices) == 2
    users_query = [r for r in graph.identity.calls_to("/v1.0/users")]
    assert (
        users_query[0].query["$filter"] == f"startswith(userPrincipalName,'package_{PACKAGE_PID}')"
    )


def test_a_upn_guessed_on_another_domain_is_found_by_package_id(graph):
    project = project_for(graph.tenant, expires=date(2027, 3, 1))
    project.entra.package_user = f"package_{PACKAGE_PID}@fabrikam.example"
    report = verify(graph, project)
    assert report.package_user == graph.tenant.package_upn
    assert statuses(report)[PACKAGE_USER] is Status.PASS and len(report.devices) == 2


def test_many_devices_are_paged_and_counted_once(graph):
    tenant = ready_tenant()
    owner = tenant.users[tenant.package_upn]["id"]
    tenant.devices[owner] = [fake_device(f"PC-{n:04d}", n) for n in range(1, 8)]
    tenant.page_size = 2
    graph.tenant = tenant
    report = verify(graph, project_for(tenant, expires=date(2027, 3, 1)))
    assert len(report.devices) == 7  # owned and registered list the same seven
    assert report.devices[0].name == "PC-0007"  # registered first
    assert graph.served("ownedDevices") == graph.served("registeredDevices") == 4


def test_a_device_that_did_not_enroll_in_mdm_is_flagged(graph):
    tenant = ready_tenant()
    owner = tenant.users[tenant.package_upn]["id"]
    tenant.devices[owner].append(fake_device("PC-0003", 0, managed=False, compliant=None))
    graph.tenant = tenant
    report = verify(graph, project_for(tenant, expires=date(2027, 3, 1)))
    devices = statuses(report)[DEVICES]
    assert devices is Status.WARN
    assert "PC-0003 is not enrolled in an MDM" in report.checks[-1].reason


def test_no_device_yet(graph):
    tenant = ready_tenant()
    tenant.devices.clear()
    graph.tenant = tenant
    report = verify(graph, project_for(tenant, expires=date(2027, 3, 1)))
    assert statuses(report)[DEVICES] is Status.WARN and report.devices == []


def test_devices_unreadable_are_not_checked(graph):
    graph.tenant.forbidden = {"ownedDevices"}
    report = verify(graph, project_for(graph.tenant, expires=date(2027, 3, 1)))
    assert statuses(report)[DEVICES] is Status.NOT_CHECKED
    assert "Device.Read.All" in report.checks[-1].reason


def test_users_unreadable_is_not_checked_not_deleted(graph):
    graph.tenant.forbidden = {"user"}
    report = verify(graph, project_for(graph.tenant, expires=date(2027, 3, 1)))
    assert statuses(report)[PACKAGE_USER] is Status.NOT_CHECKED


@pytest.mark.parametrize("forbidden", ["user", "ownedDevices"])
def test_every_check_started_is_reported_finished_even_when_unreadable(graph, forbidden):
    graph.tenant.forbidden = {forbidden}
    events = []
    report = verify(graph, project_for(graph.tenant, expires=date(2027, 3, 1)), events=events)
    started = [e.name for e in events if isinstance(e, Checking)]
    finished = {e.check.name: e.check for e in events if isinstance(e, Checked)}
    assert started and all(finished.get(name) in report.checks for name in started)


def test_expired_token_fails_even_when_devices_joined(graph):
    report = verify(graph, project_for(graph.tenant, expires=date(2026, 11, 1)))
    assert statuses(report)[TOKEN] is Status.FAIL and report.token_days_left == -29


def test_throttled_device_listing_is_retried(graph):
    graph.tenant.throttle = {"registeredDevices": 1}
    graph.tenant.retry_after = "1"
    slept = []
    report = verify(graph, project_for(graph.tenant, expires=date(2027, 3, 1)), sleep=slept.append)
    assert slept == [1.0] and len(report.devices) == 2


def test_json_form_has_no_secret(graph):
    project = project_for(graph.tenant, expires=date(2027, 3, 1))
    report = verify(graph, project)
    text = str(report.to_json())
    assert project.entra.bprt not in text
    assert report.to_json()["devices"][0]["registered"] == "2026-11-27T08:00:00+00:00"
