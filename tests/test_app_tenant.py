"""The tenant readiness screen and the enrollment verification view, with keys only at
80x24, against the local HTTPS fake of Microsoft Graph with the real msal device-code
sign-in (tests/fakes/graph.py): a ready tenant, each missing condition, an account without
read rights, paging, throttling, a deleted package user, and cancel during the sign-in."""

from __future__ import annotations

import copy
import threading
from datetime import date, timedelta

import pytest
from app_pilot import flat_text, no_blink, screen_text, wait_for  # noqa: F401 (fixture)
from fakes.graph import (
    ALSO_FOR_PACKAGE_USER,
    ALSO_MISSING,
    MISSING,
    PACKAGE_MISSING,
    fake_graph,
    missing,
    package_user_id,
    reader_without_rights,
    ready_tenant,
)
from syrupy.extensions.image import SVGImageSnapshotExtension
from textual.widgets import Static

from tui.app import create_app
from tui.entra.readiness import (
    CHECK_NAMES,
    CONDITIONAL_ACCESS,
    JOIN,
    LICENSE,
    MDM_SCOPE,
    PACKAGE_CHECK_NAMES,
    QUOTA,
    SYNC_FABRIC,
)
from tui.project.file import save_project
from tui.project.model import JoinKind, LocalUser, Project, Wifi
from tui.screens.checklist import CheckRow
from tui.screens.tenant import EnrollmentScreen, TenantScreen

TODAY = date(2026, 11, 30)
SIZE = (80, 24)
LABEL = {"pass": "✓ pass", "warn": "! warn", "fail": "✗ FAIL", "not-checked": "? not checked"}


@pytest.fixture
def graph(tmp_path, monkeypatch):
    with fake_graph(tmp_path, monkeypatch=monkeypatch) as fake:
        yield fake


def entra_project(tenant, folder) -> Project:
    """A project that got its bulk token from this tenant (the fake's package user)."""
    project = Project(folder=str(folder))
    project.package.name = "Fleet"
    project.wifi = Wifi(ssid="Setup", key="correct horse battery")
    project.join = JoinKind.ENTRA
    project.entra.package_user = tenant.package_upn
    project.entra.token_package_id = "6f1e2a4c-8b0d-4c3e-9f57-0a1b2c3d4e5f"
    project.entra.expires = TODAY + timedelta(days=100)
    project.entra.bprt = "fake-bprt-not-a-secret-here"
    project.local_users = [LocalUser(name="itadmin", password="Adm1n-Passw0rd")]
    return project


def make_app(graph, tmp_path, **graph_options):
    path = tmp_path / "fleet" / "Fleet.bulkenroll.toml"
    path.parent.mkdir(exist_ok=True)
    save_project(entra_project(graph.tenant, path.parent), path)
    return create_app(
        config_dir=tmp_path / "config",
        today=TODAY,
        drive_source=lambda _all: [],
        open_path=path,
        graph_identity=graph.sign_in_config(),
        graph_options={"graph_url": graph.graph_url, **graph_options},
    )


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


async def goto(pilot, words: str, screen: str) -> None:
    """Jump to a step with the command palette."""
    await pilot.press("ctrl+p", *words)
    await wait_for(pilot, lambda: f"Go to step {words}" in screen_text(pilot.app))
    await pilot.press("enter")
    await wait_for(pilot, on(pilot.app, screen))


def rows(app) -> dict[str, CheckRow]:
    return {row.check_name: row for row in app.screen.query(CheckRow)}


def status_line(app) -> str:
    return str(app.screen.query_one("#graph-status", Static).content)


async def until_done(pilot) -> None:
    """Until the check has finished and the footer offers it again."""
    app = pilot.app
    await wait_for(pilot, lambda: not app.screen.running and status_line(app).startswith("Done"))
    await app.workers.wait_for_complete()
    await wait_for(pilot, lambda: "^l Check again" in screen_text(app))


async def check_tenant(pilot) -> TenantScreen:
    """From the project's first page: Accounts, then Ctrl+L, until the results are in."""
    app = pilot.app
    await wait_for(pilot, on(app, "ProjectScreen"))
    await goto(pilot, "4: Accounts", "AccountsScreen")
    assert "^l Check tenant" in screen_text(app)
    await pilot.press("ctrl+l")
    await wait_for(pilot, on(app, "TenantScreen"))
    await until_done(pilot)
    return app.screen


async def test_ready_tenant_shows_the_code_while_waiting_then_every_check_passes(graph, tmp_path):
    graph.identity.token_script = ["authorization_pending"]  # nobody has signed in yet
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        await goto(pilot, "4: Accounts", "AccountsScreen")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "enter the code FAKE-CODE" in flat_text(app))
        signin = str(app.screen.query_one("#signin", Static).content)
        assert f"open {graph.identity.base_url}/devicelogin" in signin
        assert "^g Cancel" in screen_text(app)
        assert {row.status_text for row in rows(app).values()} == {"· waiting"}
        assert graph.requests == []  # no Graph call before the sign-in

        graph.identity.token_script = ["success"]  # the admin signs in on another device
        await until_done(pilot)
        screen = app.screen
        assert list(rows(app)) == list(CHECK_NAMES + PACKAGE_CHECK_NAMES)
        for name, row in rows(app).items():
            assert row.status_text == "✓ pass", name
            assert row.reason_text and not row.fix_text, name
        assert status_line(app) == "Done: 13 checks, 13 passed."
        assert "FAKE-CODE" not in screen_text(app)  # the code box is gone once signed in
        assert "^l Check again" in screen_text(app) and "^g Cancel" not in screen_text(app)

        # Longer than the screen: the keyboard scrolls to the last check.
        body = screen.query_one("#graph-body")
        assert app.focused is body and body.max_scroll_y > 0 and body.max_scroll_x == 0
        last = f"{graph.tenant.package_upn} is in a group of Intune's MDM user scope."
        assert body.scroll_y == 0 and last not in flat_text(app)
        await pilot.press("end")
        await wait_for(pilot, lambda: last in flat_text(app))
        assert body.scroll_y == body.max_scroll_y

        await pilot.press("escape")
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert [c.name for c in app.tenant_checks] == list(CHECK_NAMES + PACKAGE_CHECK_NAMES)


@pytest.mark.parametrize("variant", sorted(MISSING | PACKAGE_MISSING))
async def test_a_tenant_missing_one_condition_shows_exactly_that_with_its_fix(
    graph, tmp_path, variant
):
    graph.tenant = missing(variant)
    _, name, status = (MISSING | PACKAGE_MISSING)[variant]
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await check_tenant(pilot)
        shown = rows(app)
        assert shown[name].status_text == LABEL[status]
        assert shown[name].has_class(f"-{status}")
        assert shown[name].fix_text.startswith("Fix: ")
        expected = next(c for c in app.tenant_checks if c.name == name)
        assert shown[name].reason_text == expected.reason
        assert shown[name].fix_text == f"Fix: {expected.fix}"
        also = ALSO_MISSING.get(variant, {}) | ALSO_FOR_PACKAGE_USER.get(variant, {})
        assert {n: shown[n].status_text for n in also} == {n: LABEL[s] for n, s in also.items()}
        others = {n: row.status_text for n, row in shown.items() if n != name and n not in also}
        assert set(others.values()) == {"✓ pass"}, others
        total = len(app.tenant_checks)
        bad = {"fail": 0, "warn": 0}
        for s in [status, *also.values()]:
            bad[s] += 1
        words = [f"{bad['warn']} warning"] if bad["warn"] else []
        words += [f"{bad['fail']} failed"] if bad["fail"] else []
        passed = total - sum(bad.values())
        assert status_line(app) == f"Done: {total} checks, {passed} passed, {', '.join(words)}."
        # Page Down brings the row into view.
        reason = " ".join(expected.reason.split())[:60]
        for _ in range(10):
            if reason in flat_text(app):
                break
            await pilot.press("pagedown")
            await pilot.pause()
        assert reason in flat_text(app)


async def test_an_account_without_read_rights_is_shown_not_checked_never_pass(graph, tmp_path):
    graph.tenant = reader_without_rights()
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await check_tenant(pilot)
        shown = rows(app)
        for name in (LICENSE, JOIN, QUOTA, CONDITIONAL_ACCESS, MDM_SCOPE):
            assert shown[name].status_text == "? not checked", name
            assert shown[name].reason_text.startswith("Not checked"), name
            assert "needs" in shown[name].reason_text
            assert shown[name].fix_text.startswith("Fix: Sign in with an account that has")
        assert "Policy.Read.All" in shown[CONDITIONAL_ACCESS].reason_text
        assert shown[SYNC_FABRIC].status_text == "✓ pass"
        assert status_line(app) == "Done: 13 checks, 3 passed, 10 not checked."
        assert graph.served("conditionalAccess") == 1  # asked, refused with 403


async def test_paged_answers_show_the_same_results(graph, tmp_path):
    tenant = missing("mfa-catches-package-users")
    tenant.skus = [copy.deepcopy(tenant.skus[0]) for _ in range(4)] + tenant.skus
    tenant.page_size = 2
    graph.tenant = tenant
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await check_tenant(pilot)
        shown = rows(app)
        assert shown[LICENSE].status_text == "✓ pass"  # the premium SKU was on page 3
        assert shown[CONDITIONAL_ACCESS].status_text == "! warn"
        assert "MFA to register devices" in shown[CONDITIONAL_ACCESS].reason_text
        assert 'startsWith "package_"' in shown[CONDITIONAL_ACCESS].fix_text
        assert graph.served("subscribedSkus") == 3 and graph.served("conditionalAccess") == 2


async def test_throttled_tenant_shows_the_wait_and_still_answers(graph, tmp_path):
    tenant = ready_tenant()
    tenant.throttle = {"subscribedSkus": 1}
    tenant.retry_after = "7"
    graph.tenant = tenant
    waits: list[float] = []
    resume = threading.Event()

    def sleep(seconds: float) -> None:  # the client's wait, held until the test has looked
        waits.append(seconds)
        resume.wait(10)

    app = make_app(graph, tmp_path, sleep=sleep)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        await goto(pilot, "4: Accounts", "AccountsScreen")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "trying again in 7 s" in status_line(app))
        assert rows(app)[LICENSE].status_text == "… checking"
        assert rows(app)[MDM_SCOPE].status_text == "· waiting"
        resume.set()
        await until_done(pilot)
        assert waits == [7.0]
        assert {row.status_text for row in rows(app).values()} == {"✓ pass"}
        notes = str(app.screen.query_one("#graph-notes", Static).content)
        assert notes == "Throttled: waited 7 s as Microsoft Graph asked (/v1.0/subscribedSkus)."
        assert graph.served("subscribedSkus") == 2


async def test_cancel_during_the_sign_in_wait_stops_it_and_can_start_again(graph, tmp_path):
    graph.identity.token_script = ["authorization_pending"]  # nobody ever signs in
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        await goto(pilot, "4: Accounts", "AccountsScreen")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "enter the code FAKE-CODE" in flat_text(app))
        polls = len(graph.identity.calls_to("/token"))
        await wait_for(pilot, lambda: len(graph.identity.calls_to("/token")) > polls)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: status_line(app) == "Cancelled before it finished.")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert on(app, "TenantScreen")()
        assert "FAKE-CODE" not in screen_text(app)
        assert {row.status_text for row in rows(app).values()} == {"· waiting"}
        assert "^l Check again" in screen_text(app) and "^g Cancel" not in screen_text(app)
        assert graph.requests == [] and app.tenant_checks == []
        settled = len(graph.identity.calls_to("/token"))

        # Esc while signing in cancels too (and stays); the next Esc goes back.
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: len(graph.identity.calls_to("/token")) > settled)
        await pilot.press("escape")
        await wait_for(pilot, lambda: status_line(app) == "Cancelled before it finished.")
        await app.workers.wait_for_complete()
        settled = len(graph.identity.calls_to("/token"))
        await pilot.pause(0.2)
        assert len(graph.identity.calls_to("/token")) == settled  # the polling really stopped
        await pilot.press("escape")
        await wait_for(pilot, on(app, "AccountsScreen"))


async def test_review_lists_the_tenant_check_among_the_warnings(graph, tmp_path):
    graph.tenant = missing("no-sync-fabric")
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        await goto(pilot, "7: Review", "ReviewScreen")
        assert "Tenant check" not in flat_text(app)
        await pilot.press("ctrl+l")
        await wait_for(pilot, on(app, "TenantScreen"))
        await until_done(pilot)
        await pilot.press("escape")
        await wait_for(pilot, on(app, "ReviewScreen"))
        warnings = str(app.screen.query_one("#warnings", Static).content)
        assert "Tenant check, SyncFabric service principal: " in warnings
        assert "Users may join devices" not in warnings  # only what did not pass


async def to_verification(pilot) -> EnrollmentScreen:
    app = pilot.app
    await wait_for(pilot, on(app, "ProjectScreen"))
    await goto(pilot, "9: Next steps", "NextStepsScreen")
    assert "^l Verify devices" in screen_text(app)
    await pilot.press("ctrl+l")
    await wait_for(pilot, on(app, "EnrollmentScreen"))
    await until_done(pilot)
    return app.screen


async def test_verification_lists_the_package_users_devices_and_token_days(graph, tmp_path):
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_verification(pilot)
        shown = rows(app)
        assert list(shown) == [
            "Package user",
            "Bulk token",
            "Package users may join devices",
            "Conditional Access on the package user",
            "Package user in MDM user scope",
            "Devices",
        ]
        assert {row.status_text for row in shown.values()} == {"✓ pass"}
        summary = str(screen.query_one("#enroll-summary", Static).content)
        assert f"Package user: {graph.tenant.package_upn}" in summary
        assert "Bulk token: 100 days left." in summary and "Devices (2):" in summary
        devices = [str(s.content) for s in screen.query("#devices > .device").results(Static)]
        assert devices == [
            "PC-0001: Entra joined, Windows 10.0.26100.2314, registered 2026-11-27 08:00 UTC, "
            "MDM Intune, compliant",
            "PC-0002: Entra joined, Windows 10.0.26100.2314, registered 2026-11-29 08:00 UTC, "
            "MDM Intune, compliant",
        ]
        await pilot.press("end")
        await wait_for(pilot, lambda: "PC-0002: Entra joined" in flat_text(app))
        for secret in ("fake-bprt", "fake-access-", "correct horse", "Adm1n"):
            assert secret not in flat_text(app)


async def test_verification_flags_devices_the_procedure_says_to_look_at(graph, tmp_path):
    from fakes.graph import fake_device

    (user_id,) = graph.tenant.devices
    graph.tenant.devices[user_id].append(fake_device("PC-0003", 0, managed=False, compliant=None))
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_verification(pilot)
        assert rows(app)["Devices"].status_text == "! warn"
        assert "PC-0003 is not enrolled in an MDM" in rows(app)["Devices"].reason_text
        flagged = screen.query("#devices > .device.-flagged").results(Static)
        assert [str(s.content) for s in flagged] == [
            "PC-0003: Entra joined, Windows 10.0.26100.2314, registered 2026-11-30 08:00 UTC, "
            "MDM none, compliance unknown  ⚠ not in an MDM"
        ]


async def test_verification_of_a_deleted_package_user_says_the_token_is_revoked(graph, tmp_path):
    from fakes.graph import deleted_package_user

    graph.tenant = deleted_package_user()
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_verification(pilot)
        user = rows(app)["Package user"]
        assert user.status_text == "✗ FAIL"
        assert "does not exist any more" in user.reason_text
        assert "revoked the bulk token" in user.reason_text
        assert user.fix_text.startswith("Fix: Get a new bulk token")
        assert rows(app)["Devices"].status_text == "· waiting"  # not looked up: no user
        assert "No devices yet." in str(screen.query_one("#enroll-summary", Static).content)
        assert status_line(app) == "Done: 2 checks, 1 passed, 1 failed."


@pytest.fixture
def snapshot(snapshot):
    return snapshot.use_extension(SVGImageSnapshotExtension)


async def test_results_screen_snapshot(graph, tmp_path, snapshot, no_blink):  # noqa: F811
    tenant = missing("mfa-catches-package-users")
    MISSING["no-premium"][0](tenant)
    tenant.forbidden = {"mdmPolicies"}
    graph.tenant = tenant
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await check_tenant(pilot)
        assert "Traceback" not in screen_text(app)
        assert app.export_screenshot(title="tenant_readiness") == snapshot


async def test_a_declined_sign_in_is_one_sentence_and_nothing_is_checked(graph, tmp_path):
    graph.identity.token_script = [{"error": "authorization_declined", "error_description": ""}]
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        await goto(pilot, "4: Accounts", "AccountsScreen")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "declined" in status_line(app))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert status_line(app) == "The sign-in was declined: run it again and approve the request."
        assert app.screen.query_one("#graph-status").has_class("-failed")
        assert {row.status_text for row in rows(app).values()} == {"· waiting"}
        assert graph.requests == [] and app.tenant_checks == []
        assert "Traceback" not in screen_text(app)


async def test_verification_without_a_package_user_says_to_get_the_token_first(graph, tmp_path):
    path = tmp_path / "Fleet.bulkenroll.toml"
    project = entra_project(graph.tenant, tmp_path)
    project.entra.package_user = project.entra.token_package_id = project.entra.bprt = ""
    save_project(project, path)
    app = create_app(
        config_dir=tmp_path / "config",
        today=TODAY,
        open_path=path,
        graph_identity=graph.sign_in_config(),
        graph_options={"graph_url": graph.graph_url},
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        await goto(pilot, "9: Next steps", "NextStepsScreen")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "no package user is known" in status_line(app))
        assert "get the bulk token first" in status_line(app)
        assert graph.identity.calls == []  # refused before any sign-in


# --- revoking the token from the next-steps screen ------------------------------------------


def deletes(graph) -> list[str]:
    return [path for route, path in graph.requests if route == "deleteUser"]


async def ask_to_revoke(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, on(app, "ProjectScreen"))
    await goto(pilot, "9: Next steps", "NextStepsScreen")
    assert "^r Revoke token" in screen_text(app)
    await pilot.press("ctrl+r")
    await wait_for(pilot, on(app, "RevokeDialog"))


async def test_revoke_refused_at_the_question_deletes_nothing(graph, tmp_path):
    app = make_app(graph, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await ask_to_revoke(pilot)
        text = str(app.screen.query_one(".dialog--body", Static).content)
        assert "Delete the package user" in flat_text(app)
        assert f"Delete the package user {graph.tenant.package_upn} from Entra ID?" in text
        assert "can no longer join a device" in text and "stay joined" in text
        await pilot.press("enter")  # Enter is not a yes here
        assert on(app, "RevokeDialog")()
        await pilot.press("n")
        await wait_for(pilot, on(app, "NextStepsScreen"))
        assert graph.identity.calls == [] and deletes(graph) == []
        assert app.project.entra.revoked is None
        assert "^r Revoke token" in screen_text(app)


async def test_revoke_confirmed_deletes_the_package_user_and_build_is_refused(graph, tmp_path):
    from tui.project.file import load_project
    from tui.project.rules import validate

    app = make_app(graph, tmp_path)
    user_id = package_user_id(graph.tenant)
    async with app.run_test(size=SIZE) as pilot:
        await ask_to_revoke(pilot)
        await pilot.press("y")
        await wait_for(pilot, on(app, "RevokeScreen"))
        await wait_for(pilot, lambda: status_line(app) == "Revoked.")
        result = str(app.screen.query_one("#revoke-result", Static).content)
        assert f"Deleted the package user {graph.tenant.package_upn}" in result
        assert "stay joined and enrolled: PC-0001, PC-0002." in result
        assert "building with this token is refused" in result
        assert deletes(graph) == [f"/v1.0/users/{user_id}"]
        assert app.project.entra.revoked == TODAY
        assert load_project(app.project_file()).entra.revoked == TODAY
        problems = [p.message for p in validate(app.project, today=TODAY)]
        assert problems == [
            f"Bulk token: was revoked on {TODAY.isoformat()} (its package user was deleted): "
            'choose "Get bulk token" for a new one.'
        ]
        assert "fake-bprt" not in flat_text(app)
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await wait_for(pilot, on(app, "NextStepsScreen"))
        await wait_for(pilot, lambda: "^r Revoke token" not in screen_text(app))
