"""`bulk-enroll check` and `bulk-enroll verify` end to end: the real command in a subprocess,
the real msal device-code sign-in, the HTTPS fake Graph trusted through REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from fakes.graph import (
    ALSO_MISSING,
    MISSING,
    PACKAGE_MISSING,
    deleted_package_user,
    fake_graph,
    missing,
    project_for,
)
from fakes.identity import environment_without_tls_settings
from test_cli_build_inspect import cli

from tui.project.file import save_project


@pytest.fixture
def graph(tmp_path, monkeypatch):
    # monkeypatch points REQUESTS_CA_BUNDLE at the fake's CA; the child inherits it.
    with fake_graph(tmp_path, monkeypatch=monkeypatch) as fake:
        yield fake


def on_fake(graph) -> list[str]:
    return ["--authority", graph.authority, "--graph-url", graph.graph_url]


def one_sentence_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("bulk-enroll: "), proc.stderr
    return lines[-1]


def saved_project(graph, tmp_path, **kwargs) -> Path:
    project = project_for(graph.tenant, expires=date.today() + timedelta(days=90), **kwargs)
    project.entra.authority = graph.identity.authority("common")
    path = tmp_path / "fleet.bulkenroll.toml"
    save_project(project, path)
    return path


def test_check_a_ready_tenant_as_json(graph):
    proc = cli("check", *on_fake(graph), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [c["status"] for c in result["checks"]] == ["pass"] * 10
    assert {"name", "status", "reason", "fix"} <= set(result["checks"][0])
    # The device code went to the terminal, not into the JSON.
    assert "FAKE-CODE" in proc.stderr and "FAKE-CODE" not in proc.stdout
    assert "Signed in as admin@contoso.example." in proc.stderr


def test_check_a_tenant_without_sync_fabric_exits_1_with_the_fix(graph):
    graph.tenant = missing("no-sync-fabric")
    proc = cli("check", *on_fake(graph))
    assert proc.returncode == 1, proc.stderr
    assert "FAIL        SyncFabric service principal:" in proc.stdout
    assert "fix: Create it: New-MgServicePrincipal" in proc.stdout


def test_check_warnings_do_not_fail(graph):
    graph.tenant = missing("mfa-catches-package-users")
    proc = cli("check", *on_fake(graph), "--json")
    assert proc.returncode == 0, proc.stderr
    statuses = {c["name"]: c["status"] for c in json.loads(proc.stdout)["checks"]}
    assert statuses["Conditional Access and MFA"] == "warn"


def test_check_takes_the_login_host_from_the_project(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    proc = cli("check", "--project", path, "--graph-url", graph.graph_url, "--json")
    assert proc.returncode == 0, proc.stderr
    assert graph.identity.calls_to("/organizations/oauth2/v2.0/devicecode")


def test_check_throttled_by_graph_waits_and_says_so(graph):
    graph.tenant.throttle = {"subscribedSkus": 1}
    graph.tenant.retry_after = "1"
    proc = cli("check", *on_fake(graph), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Microsoft Graph asks to wait 1 s" in proc.stderr


def test_verify_lists_the_devices(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    proc = cli("verify", "--project", path, *on_fake(graph), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["package_user"] == graph.tenant.package_upn
    assert [d["name"] for d in report["devices"]] == ["PC-0001", "PC-0002"]
    assert report["token_days_left"] == 90
    assert {c["status"] for c in report["checks"]} == {"pass"}
    assert "fake-bprt" not in proc.stdout + proc.stderr


def test_verify_in_words(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    proc = cli("verify", "--project", path, *on_fake(graph))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Package user: {graph.tenant.package_upn}"
    assert lines[1].split() == ["Device", "Join", "type", "OS", "Registered", "MDM", "Compliant"]
    assert lines[2].startswith("PC-0001  Entra joined  Windows 10.0.26100.2314  2026-11-27")


def test_verify_a_deleted_package_user_exits_1(graph, tmp_path):
    graph.tenant = deleted_package_user()
    path = saved_project(graph, tmp_path)
    proc = cli("verify", "--project", path, *on_fake(graph))
    assert proc.returncode == 1, proc.stderr
    assert "FAIL        Package user:" in proc.stdout and "revoked" in proc.stdout


def test_verify_without_a_bulk_token_refuses_before_signing_in(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    text = path.read_text().replace(graph.tenant.package_upn, "")
    text = text.replace("6f1e2a4c-8b0d-4c3e-9f57-0a1b2c3d4e5f", "")
    path.write_text(text)
    line = one_sentence_error(cli("verify", "--project", path, *on_fake(graph)))
    assert "get the bulk token first" in line
    assert graph.identity.calls == []


def test_a_missing_project_file_is_one_sentence(graph, tmp_path):
    line = one_sentence_error(cli("verify", "--project", tmp_path / "nope.toml"))
    assert "nope.toml" in line


def test_an_unknown_login_host_needs_graph_url(graph):
    line = one_sentence_error(cli("check", "--authority", graph.authority))
    assert "--graph-url" in line
    assert graph.identity.calls == []


def test_a_bad_authority_is_one_sentence(graph):
    line = one_sentence_error(cli("check", "--authority", "login.example/x"))
    assert "authority" in line


@pytest.mark.parametrize("seconds", ["0", "-5", "nan"])
def test_a_timeout_that_is_not_above_zero_is_one_sentence(graph, seconds):
    line = one_sentence_error(cli("check", *on_fake(graph), "--timeout", seconds))
    assert "--timeout" in line
    assert graph.identity.calls == []


def test_an_untrusted_certificate_is_one_sentence(graph, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    line = one_sentence_error(cli("check", *on_fake(graph)))
    assert "certificate is not trusted" in line


def test_a_refused_graph_read_is_not_checked_not_an_error(graph):
    graph.tenant.forbidden = {"conditionalAccess"}
    proc = cli("check", *on_fake(graph), "--json")
    assert proc.returncode == 0, proc.stderr
    statuses = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert statuses["Conditional Access and MFA"]["status"] == "not-checked"
    assert "Policy.Read.All" in statuses["Conditional Access and MFA"]["reason"]


NEW_CONDITIONS = [
    "platform-blocked",
    "join-selected-without-package-users",
    "federated-account",
    "wcd-app-not-consented",
]


@pytest.mark.parametrize("variant", NEW_CONDITIONS)
def test_check_json_names_each_new_condition_with_its_fix(graph, variant):
    graph.tenant = missing(variant)
    _, name, status = MISSING[variant]
    proc = cli("check", *on_fake(graph), "--json")
    assert proc.returncode == (1 if status == "fail" else 0), proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks[name]["status"] == status and checks[name]["fix"]
    also = ALSO_MISSING.get(variant, {})
    others = {n: c["status"] for n, c in checks.items() if n != name and n not in also}
    assert set(others.values()) == {"pass"}, others
    print(json.dumps(checks[name], indent=2))  # shown with -s: the report quotes these


def test_the_admin_consent_url_names_the_tenant_and_the_wcd_app(graph):
    graph.tenant = missing("wcd-app-not-consented")
    proc = cli("check", *on_fake(graph), "--json")
    fix = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}[
        "Windows Configuration Designer app"
    ]["fix"]
    url = (
        f"{graph.identity.base_url}/contoso.example/adminconsent"
        "?client_id=de0853a1-ab20-47bd-990b-71ad5077ac7b"
    )
    assert url in fix


@pytest.mark.parametrize(
    ("route", "name", "permission"),
    [
        (
            "enrollmentConfigurations",
            "Windows enrollment restriction",
            "DeviceManagementServiceConfig",
        ),
        ("domains", "Cloud-only sign-in account", "Domain.Read.All"),
        ("servicePrincipals", "Windows Configuration Designer app", "Application.Read.All"),
        ("deviceRegistrationPolicy", "Package users may join devices", "Policy.Read.Device"),
    ],
)
def test_a_new_condition_the_account_may_not_read_is_not_checked(graph, route, name, permission):
    graph.tenant.forbidden = {route}
    proc = cli("check", *on_fake(graph), "--json")
    assert proc.returncode == 0, proc.stderr
    check = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}[name]
    assert check["status"] == "not-checked" and permission in check["reason"]


PACKAGE_NAMES = [
    "Package user",
    "Conditional Access on the package user",
    "Package user in MDM user scope",
]


def test_check_with_a_project_checks_its_package_user(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    proc = cli("check", "--project", path, *on_fake(graph), "--json")
    assert proc.returncode == 0, proc.stderr
    checks = {c["name"]: c["status"] for c in json.loads(proc.stdout)["checks"]}
    assert list(checks)[-3:] == PACKAGE_NAMES and set(checks.values()) == {"pass"}
    assert graph.served("userMemberGroups") == 1
    scope = graph.identity.calls_to("/oauth2/v2.0/devicecode")[0].form["scope"]
    assert "User.Read.All" in scope and "Write" not in scope
    assert "fake-bprt" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("variant", sorted(PACKAGE_MISSING))
def test_check_with_a_project_flags_what_stops_its_package_user(graph, tmp_path, variant):
    path = saved_project(graph, tmp_path)
    graph.tenant = missing(variant)
    _, name, status = PACKAGE_MISSING[variant]
    proc = cli("check", "--project", path, *on_fake(graph), "--json")
    assert proc.returncode == 1, proc.stderr
    checks = {c["name"]: c for c in json.loads(proc.stdout)["checks"]}
    assert checks[name]["status"] == status and checks[name]["fix"]
    also = ALSO_MISSING.get(variant, {})
    assert {n: checks[n]["status"] for n in also} == also
    others = {n: c["status"] for n, c in checks.items() if n != name and n not in also}
    assert set(others.values()) == {"pass"}, others
    print(json.dumps(checks[name], indent=2))


def test_unreadable_package_user_groups_are_not_checked(graph, tmp_path):
    path = saved_project(graph, tmp_path)
    graph.tenant.forbidden = {"userMemberGroups"}
    proc = cli("check", "--project", path, *on_fake(graph), "--json")
    checks = {c["name"]: c["status"] for c in json.loads(proc.stdout)["checks"]}
    assert checks["Package user in MDM user scope"] == "not-checked"
    assert checks["Conditional Access on the package user"] in ("pass", "warn")


def test_check_and_verify_sign_in_with_the_project_connection(tmp_path):
    """No --authority, --graph-url or REQUESTS_CA_BUNDLE: the project's [connection] says
    where to sign in (a tenant of its own), which Graph to read and which CA to trust."""
    import sys

    from tui.project.model import Connection

    with fake_graph(tmp_path) as graph:
        project = project_for(graph.tenant, expires=date.today() + timedelta(days=90))
        project.connection = Connection(
            tenant="contoso.example",
            login_url=graph.identity.base_url,
            graph_url=graph.graph_url,
            ca_bundle=str(graph.ca_bundle),
        )
        path = tmp_path / "fleet.bulkenroll.toml"
        save_project(project, path)
        env = environment_without_tls_settings()
        for command in ("check", "verify"):
            proc = subprocess.run(
                [sys.executable, "-m", "tui", command, "--project", str(path), "--json"],
                cwd=Path(__file__).resolve().parent.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert proc.returncode in (0, 1), proc.stderr
            assert json.loads(proc.stdout)["checks"], command
        assert len(graph.identity.calls_to("/contoso.example/oauth2/v2.0/devicecode")) == 2
