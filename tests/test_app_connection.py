"""The tenant connection (issue 14): cloud, tenant, login and Graph addresses, proxy and CA
bundle, set in the app's dialog (Ctrl+K on the accounts step), kept in the project file, and
used by the bulk token and the Microsoft Graph checks alike. Real msal against the local HTTPS
fakes; nothing trusted through the environment, so only the dialog's CA bundle can work."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from app_pilot import flat_text, screen_text, shows, wait_for
from fakes.graph import fake_graph
from fakes.identity import CA_VARIABLES, FakeIdentityServer
from test_app_accounts import scripted_browser, to_accounts
from textual.widgets import Static

from tui.app import create_app
from tui.entra import connection
from tui.project import rules
from tui.project.file import load_project, save_project
from tui.project.model import Cloud, Connection, JoinKind, LocalUser, Project, Wifi

TODAY = date(2026, 11, 30)
FAST = {"interval_unit": 0.01, "poll_interval": 0.01}
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


@pytest.fixture
def untrusted_env(monkeypatch):
    """No CA bundle or proxy from the environment: the project's settings must do it."""
    for name in CA_VARIABLES + PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def identity(tmp_path, untrusted_env):
    with FakeIdentityServer(tmp_path) as server:
        yield server


async def open_connection(pilot) -> None:
    footer = screen_text(pilot.app).splitlines()[-1]  # at 80 columns, every key in full
    assert "^k Tenant" in footer and "^t Get bulk token" in footer
    await pilot.press("ctrl+k")
    await wait_for(pilot, on(pilot.app, "ConnectionDialog"))


async def set_field(pilot, field_id: str, text: str) -> None:
    pilot.app.screen.query_one(f"#{field_id}").input.focus()
    await pilot.press("ctrl+u", *text)


async def test_the_bulk_token_signs_in_where_the_dialog_says(tmp_path, identity):
    identity.approve_after(1)
    app = create_app(config_dir=tmp_path / "config", today=TODAY, token_options=FAST)
    app.browser_sign_in = False
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await open_connection(pilot)
        await set_field(pilot, "conn-tenant", "contoso.example")
        await set_field(pilot, "conn-login", identity.base_url)
        await set_field(pilot, "conn-ca", str(identity.ca_bundle))
        await wait_for(
            pilot, lambda: shows(app, f"Signs in at {identity.authority('contoso.example')}")
        )
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert shows(app, f"Tenant connection: {identity.authority('contoso.example')}")

        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: bool(app.project.entra.bprt))
        assert app.project.entra.bprt == identity.bprt
        assert identity.calls_to("/contoso.example/oauth2/v2.0/devicecode")
        assert identity.calls_to("/contoso.example/oauth2/v2.0/token")
        assert identity.calls_to("/webapp/bulkaadjtoken/begin")
        assert not identity.calls_to("/organizations/oauth2/v2.0/devicecode")
        await pilot.press("ctrl+q")

    saved = load_project(app.project_path)
    assert saved.connection == Connection(
        tenant="contoso.example", login_url=identity.base_url, ca_bundle=str(identity.ca_bundle)
    )
    assert saved.entra.bprt == identity.bprt


async def test_a_missing_ca_bundle_and_a_bad_address_are_refused_and_esc_puts_back(
    tmp_path, untrusted_env
):
    app = create_app(config_dir=tmp_path / "config", today=TODAY)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await open_connection(pilot)
        await pilot.press("right", "enter")  # US Government
        await wait_for(pilot, lambda: shows(app, "login.microsoftonline.us is not confirmed"))
        assert shows(app, "Signs in at https://login.microsoftonline.us/organizations")
        await set_field(pilot, "conn-ca", str(tmp_path / "missing.pem"))
        await set_field(pilot, "conn-login", "http://login.example")
        await pilot.press("ctrl+n")
        ca_problem = rules.check_field(app.project, "connection.ca_bundle", today=TODAY)
        assert ca_problem and "is not an existing file" in ca_problem
        panel = app.screen.query_one("#problems", Static)
        await wait_for(pilot, lambda: ca_problem in str(panel.content))
        problems = str(panel.content)
        assert "Login address: must be empty or an https:// address" in problems
        assert on(app, "ConnectionDialog")()
        await pilot.press("escape")
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert app.project.connection == Connection()  # nothing kept
        assert shows(app, "Tenant connection: https://login.microsoftonline.com/organizations")


def test_each_cloud_signs_in_at_its_own_hosts():
    us = Project(
        connection=Connection(
            cloud=Cloud.USGOV, tenant="contoso.onmicrosoft.us", proxy="http://p:3128"
        )
    )
    config = connection.sign_in_config(us)
    assert config.authority == "https://login.microsoftonline.us/contoso.onmicrosoft.us"
    assert config.proxy == "http://p:3128" and config.ca_bundle is None
    china = connection.graph_config(Project(connection=Connection(cloud=Cloud.CHINA)))
    assert china.authority == "https://login.chinacloudapi.cn/organizations"
    from tui.entra.graph import GRAPH_CLIENT_ID, graph_root

    assert china.client_id == GRAPH_CLIENT_ID
    assert graph_root(china.authority) == "https://microsoftgraph.chinacloudapi.cn"
    assert graph_root(config.authority) == "https://graph.microsoft.us"
    assert connection.graph_url(Connection(graph_url=" https://dod-graph.microsoft.us ")) == (
        "https://dod-graph.microsoft.us"
    )
    # A project from before the connection signs in at its package authority's login host.
    old = Project()
    old.entra.authority = "https://login.microsoftonline.us/common"
    assert connection.project_authority(old) == "https://login.microsoftonline.us/organizations"


def test_a_proxy_password_is_never_shown():
    project = Project(connection=Connection(proxy="http://tech:S3cret-pw@proxy.corp:3128"))
    line = connection.describe(project)
    assert "S3cret-pw" not in line and "proxy http://…@proxy.corp:3128" in line
    assert connection.sign_in_config(project).proxy == "http://tech:S3cret-pw@proxy.corp:3128"


async def test_next_with_a_bad_connection_opens_the_dialog_at_the_problem(tmp_path, untrusted_env):
    project = Project(folder=str(tmp_path / "fleet"))
    project.package.name = "Fleet"
    project.device.name = "FLEET-%SERIAL%"
    project.join = JoinKind.ENTRA
    project.entra.expires = TODAY + timedelta(days=100)
    project.local_users = [LocalUser(name="itadmin", password="Adm1n-Passw0rd")]
    project.connection = Connection(ca_bundle=str(tmp_path / "gone.pem"))
    path = tmp_path / "fleet" / "Fleet.bulkenroll.toml"
    path.parent.mkdir()
    save_project(project, path)
    app = create_app(config_dir=tmp_path / "config", today=TODAY, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, on(app, "ProjectScreen"))
        app.goto_step("accounts")
        await wait_for(pilot, on(app, "AccountsScreen"))
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "ConnectionDialog"))
        await set_field(pilot, "conn-ca", "")
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        assert app.project.connection == Connection()


def saved_for(graph, project: Project, path):
    """The project saved at ``path``, its tenant connection set to the fake tenant."""
    project.connection = Connection(
        tenant="contoso.example",
        login_url=graph.identity.base_url,
        graph_url=graph.graph_url,
        ca_bundle=str(graph.ca_bundle),
    )
    path.parent.mkdir()
    save_project(project, path)
    return path


async def test_the_tenant_check_uses_the_project_connection_and_the_browser(
    tmp_path, untrusted_env
):
    with fake_graph(tmp_path) as graph:
        project = Project(folder=str(tmp_path / "fleet"))
        project.package.name = "Fleet"
        project.wifi = Wifi(ssid="Setup", key="correct horse battery")
        project.join = JoinKind.ENTRA
        project.entra.expires = TODAY + timedelta(days=100)
        project.local_users = [LocalUser(name="itadmin", password="Adm1n-Passw0rd")]
        path = saved_for(graph, project, tmp_path / "fleet" / "Fleet.bulkenroll.toml")
        open_browser, opened = scripted_browser(graph.ca_bundle)
        app = create_app(
            config_dir=tmp_path / "config",
            today=TODAY,
            open_path=path,
            token_options={"open_browser": open_browser},
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, on(app, "ProjectScreen"))
            app.goto_step("accounts")
            await wait_for(pilot, on(app, "AccountsScreen"))
            app.sign_in_method = "browser"  # as chosen in "Sign in with"
            await pilot.press("ctrl+l")
            await wait_for(pilot, on(app, "TenantScreen"))
            await wait_for(pilot, lambda: "Done:" in flat_text(app))
            assert opened and opened[0].startswith(graph.identity.authority("contoso.example"))
            assert graph.identity.calls_to("/contoso.example/oauth2/v2.0/authorize")
            assert not graph.identity.calls_to("/devicecode")
            assert app.tenant_checks


async def test_the_enrollment_verification_uses_the_project_connection(tmp_path, untrusted_env):
    from fakes.graph import project_for

    with fake_graph(tmp_path) as graph:
        project = project_for(graph.tenant, expires=TODAY + timedelta(days=100))
        project.folder = str(tmp_path / "fleet")
        path = saved_for(graph, project, tmp_path / "fleet" / "Fleet.bulkenroll.toml")
        app = create_app(config_dir=tmp_path / "config", today=TODAY, open_path=path)
        app.browser_sign_in = False  # the device code, as over SSH
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, on(app, "ProjectScreen"))
            app.goto_step("next")
            await wait_for(pilot, on(app, "NextStepsScreen"))
            await pilot.press("ctrl+l")
            await wait_for(pilot, on(app, "EnrollmentScreen"))
            await wait_for(pilot, lambda: "Done:" in flat_text(app))
            summary = str(app.screen.query_one("#enroll-summary", Static).content)
            assert f"Package user: {graph.tenant.package_upn}" in summary
            assert graph.identity.calls_to("/contoso.example/oauth2/v2.0/devicecode")


@pytest.mark.parametrize(
    ("field", "value", "sentence"),
    [
        ("tenant", "contoso/evil", "Tenant: give a tenant id, a domain"),
        ("tenant", "", "Tenant: give a tenant id, a domain"),
        ("login_url", "https://login.example/path", "Login address: must be empty or an https://"),
        (
            "graph_url",
            "graph.microsoft.us",
            "Microsoft Graph address: must be empty or an https://",
        ),
        ("proxy", "proxy:3128", "Proxy: must be empty or an http:// or https:// address"),
        ("ca_bundle", "/nonexistent/ca.pem", "CA bundle: /nonexistent/ca.pem is not an existing"),
    ],
)
def test_each_connection_rule_is_one_sentence(field, value, sentence):
    project = Project()
    setattr(project.connection, field, value)
    found = rules.validate(project, today=TODAY, for_build=False)
    problems = [p for p in found if p.field.startswith("connection.")]
    assert [p.field for p in problems] == [f"connection.{field}"]
    assert problems[0].message.startswith(sentence) and problems[0].message.endswith(".")


def test_a_good_connection_has_no_problem(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    project = Project()
    project.connection = Connection(
        cloud=Cloud.USGOV,
        tenant="contoso.onmicrosoft.us",
        login_url="https://login.microsoftonline.us",
        graph_url="https://dod-graph.microsoft.us",
        proxy="http://proxy.corp:3128",
        ca_bundle=str(ca),
    )
    found = rules.validate(project, today=TODAY, for_build=False)
    assert [p for p in found if p.field.startswith("connection.")] == []


async def test_an_untrusted_certificate_names_the_dialogs_ca_bundle_field(tmp_path, identity):
    """The fake's certificate is trusted by nothing here: the app's sentence says where in the
    app the CA goes (the CLI's names --ca-bundle: tests/test_signin.py)."""
    app = create_app(config_dir=tmp_path / "config", today=TODAY, token_options=FAST)
    app.browser_sign_in = False
    async with app.run_test(size=(80, 24)) as pilot:
        await to_accounts(pilot, tmp_path / "p")
        await open_connection(pilot)
        await set_field(pilot, "conn-login", identity.base_url)
        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "AccountsScreen"))
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "certificate is not trusted" in flat_text(app))
        text = flat_text(app)
        assert "the tenant connection's CA bundle field (Ctrl+K on the accounts step)" in text
        assert "--ca-bundle" not in text
        assert not app.project.entra.bprt


def test_the_tls_sentence_depends_on_where_it_is_shown():
    """The same error: the command line names its option, the app its field."""
    from tui.entra.signin import UntrustedCertificate
    from tui.screens.workers import failure_sentence

    error = UntrustedCertificate("login.example:8443")
    assert "--ca-bundle" in error.message  # as the CLI prints it
    shown = failure_sentence(error, "Getting the bulk token", "nothing was changed", None)
    assert shown.startswith("The secure connection to login.example:8443 failed")
    assert "CA bundle field (Ctrl+K on the accounts step)" in shown
    assert "--ca-bundle" not in shown
