"""Enrollment verification runs the package-user checks of `check --project`: a package user
that is disabled, blocked by Conditional Access, may not join or is outside the MDM scope
shows that check failing and the devices advice pointing at it; a healthy one passes all.
Each answer is the same in `verify`'s text, `verify --json` and the app's verification
screen (the real command in a subprocess, the app at 80x24, the HTTPS fake Graph)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from fakes.graph import ALSO_MISSING, PACKAGE_MISSING, missing, package_user_id, ready_tenant
from test_app_tenant import SIZE, entra_project, rows, status_line, to_verification
from test_cli_build_inspect import cli
from test_cli_check_verify import on_fake

from tui.app import create_app
from tui.entra.enrollment import DEVICES, JOIN_BLOCKERS, REPORT_CHECKS
from tui.entra.package_user import PACKAGE_USER_CHECKS
from tui.entra.readiness import PACKAGE_MDM, Check, Status, render_checks
from tui.project.file import save_project
from tui.screens.checklist import STATUS_LABELS, WAITING, summary_text

VARIANTS = ["healthy", *sorted(set(PACKAGE_MISSING) - {"package-user-deleted"})]


@pytest.fixture
def graph(tmp_path, monkeypatch):
    from fakes.graph import fake_graph

    with fake_graph(tmp_path, monkeypatch=monkeypatch) as fake:
        yield fake


def tenant_for(variant: str):
    """The variant's tenant, as a technician finds it: a package user that may not join has
    no device; one outside the MDM scope has devices that joined but did not enroll."""
    if variant == "healthy":
        return ready_tenant()
    tenant = missing(variant)
    devices = tenant.devices[package_user_id(tenant)]
    if variant == "package-user-outside-mdm-scope":
        for device in devices:
            device["isManaged"] = False
    else:
        devices.clear()
    return tenant


def failing(variant: str) -> dict[str, str]:
    """The package-user checks this variant fails, by name."""
    if variant == "healthy":
        return {}
    _, name, status = PACKAGE_MISSING[variant]
    also = ALSO_MISSING.get(variant, {})
    return {name: status} | {n: s for n, s in also.items() if n in PACKAGE_USER_CHECKS}


def from_json(checks: list[dict]) -> list[Check]:
    return [Check(c["name"], Status(c["status"]), c["reason"], c["fix"]) for c in checks]


def save(graph, tmp_path):
    path = tmp_path / "fleet" / "Fleet.bulkenroll.toml"
    path.parent.mkdir(exist_ok=True)
    project = entra_project(graph.tenant, path.parent)
    project.entra.expires = date.today() + timedelta(days=90)
    save_project(project, path)
    return path


def assert_verdict(variant: str, checks: list[Check]) -> None:
    """What the technician must read: the failing checks, and the devices advice naming them."""
    assert [c.name for c in checks] == list(REPORT_CHECKS)
    bad = {c.name: str(c.status) for c in checks if c.status is not Status.PASS}
    devices = checks[-1]
    expected = failing(variant)
    if not expected:
        assert bad == {}, bad  # healthy: nothing extra shown as failing
        return
    assert {n: s for n, s in bad.items() if n != DEVICES} == expected
    assert devices.status is Status.WARN
    for name in expected:
        assert f"'{name}'" in devices.fix
    if variant != "package-user-outside-mdm-scope":
        assert set(expected) <= set(JOIN_BLOCKERS) and "failed" in devices.reason
    else:
        assert f"fix '{PACKAGE_MDM}' first" in devices.fix


def app_on(graph, path: Path, tmp_path: Path):
    """The app opened on the project at ``path``, its Graph checks against the fake."""
    return create_app(
        config_dir=tmp_path / "config",
        today=date.today(),
        drive_source=lambda _all: [],
        open_path=path,
        graph_identity=graph.sign_in_config(),
        graph_options={"graph_url": graph.graph_url},
    )


@pytest.mark.parametrize("variant", VARIANTS)
async def test_verify_gives_the_same_package_user_answer_in_text_json_and_the_app(
    graph, tmp_path, variant
):
    graph.tenant = tenant_for(variant)
    path = save(graph, tmp_path)

    as_json = cli("verify", "--project", path, *on_fake(graph), "--json")
    report = json.loads(as_json.stdout)
    checks = from_json(report["checks"])
    assert_verdict(variant, checks)
    expected_exit = 1 if failing(variant) else 0
    assert as_json.returncode == expected_exit, as_json.stderr
    for name in PACKAGE_USER_CHECKS:
        assert f"Checking {name}..." in as_json.stderr

    as_text = cli("verify", "--project", path, *on_fake(graph))
    assert as_text.returncode == expected_exit, as_text.stderr
    assert as_text.stdout.rstrip("\n").endswith(render_checks(checks))
    assert ("FAIL " in as_text.stdout) is bool(failing(variant))

    app = app_on(graph, path, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await to_verification(pilot)
        shown = rows(app)
        assert list(shown) == list(REPORT_CHECKS)
        for check in checks:
            row = shown[check.name]
            assert row.status_text == STATUS_LABELS[check.status], check.name
            assert row.reason_text == check.reason
            fix = f"Fix: {check.fix}" if check.fix and check.status is not Status.PASS else ""
            assert row.fix_text == fix
        assert status_line(app) == summary_text(checks)
        assert [c.to_json() for c in screen.result.checks] == report["checks"]
        failed_rows = {n for n, row in shown.items() if row.status_text == STATUS_LABELS["fail"]}
        assert failed_rows == set(failing(variant))
    for secret in ("fake-bprt", "correct horse", "Adm1n"):
        assert secret not in as_json.stdout + as_text.stdout + as_json.stderr


async def test_a_deleted_package_user_is_the_only_package_check_everywhere(graph, tmp_path):
    graph.tenant = missing("package-user-deleted")
    path = save(graph, tmp_path)
    proc = cli("verify", "--project", path, *on_fake(graph), "--json")
    assert proc.returncode == 1, proc.stderr
    checks = from_json(json.loads(proc.stdout)["checks"])
    assert [(c.name, c.status) for c in checks] == [
        ("Package user", Status.FAIL),
        ("Bulk token", Status.PASS),
    ]
    app = app_on(graph, path, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await to_verification(pilot)
        shown = rows(app)
        assert shown["Package user"].reason_text == checks[0].reason
        # Not reached without the user: left waiting, never shown as passed.
        assert {shown[n].status_text for n in REPORT_CHECKS[2:]} == {WAITING}
