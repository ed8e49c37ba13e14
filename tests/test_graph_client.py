"""The Graph client against the local HTTPS fake: real msal sign-in, real HTTP, real TLS."""

import threading
import time

import pytest
import requests
from fakes.graph import FakeGraph, fake_graph
from fakes.identity import ConnectProxy, Reply
from test_signin import wait_until

from tui.entra.graph import (
    GRAPH_CLIENT_ID,
    READINESS_PERMISSIONS,
    GraphClient,
    GraphError,
    Waiting,
    connect,
    graph_root,
    graph_sign_in_config,
    retry_after_seconds,
    scopes_for,
)
from tui.entra.signin import Cancelled, CancelToken, WaitingForSignIn
from tui.errors import UserError


@pytest.fixture
def graph(tmp_path, monkeypatch):
    with fake_graph(tmp_path, monkeypatch=monkeypatch) as fake:
        yield fake


def client(fake: FakeGraph, *, events=None, **kwargs) -> GraphClient:
    events = [] if events is None else events
    return connect(
        fake.sign_in_config(),
        ["User.Read"],
        graph_url=fake.graph_url,
        on_event=events.append,
        cancel=kwargs.pop("cancel", CancelToken()),
        **kwargs,
    )


def items(count: int) -> list[dict]:
    return [{"id": str(n), "skuPartNumber": f"SKU{n}"} for n in range(count)]


# --- national clouds and scopes (pure) ---------------------------------------------------


@pytest.mark.parametrize(
    ("authority", "root"),
    [
        ("https://login.microsoftonline.com/organizations", "https://graph.microsoft.com"),
        ("https://login.microsoftonline.us/contoso.us", "https://graph.microsoft.us"),
        ("https://login.chinacloudapi.cn/common", "https://microsoftgraph.chinacloudapi.cn"),
        ("https://LOGIN.microsoftonline.com/x", "https://graph.microsoft.com"),
    ],
)
def test_graph_host_matches_the_login_host(authority, root):
    assert graph_root(authority) == root


def test_graph_url_override_wins_and_is_normalised():
    authority = "https://login.microsoftonline.us/organizations"
    assert graph_root(authority, "https://dod-graph.microsoft.us/v1.0/") == (
        "https://dod-graph.microsoft.us"
    )
    assert graph_root(authority, "https://localhost:8443") == "https://localhost:8443"


def test_unknown_login_host_asks_for_graph_url():
    with pytest.raises(UserError, match="--graph-url"):
        graph_root("https://login.example.org/organizations")


def test_plain_http_graph_url_is_refused():
    with pytest.raises(UserError, match="https://"):
        graph_root("https://login.microsoftonline.com/x", "http://graph.example")


def test_scopes_live_on_the_clouds_own_graph_host():
    assert scopes_for("https://graph.microsoft.us", ["User.Read", "Policy.Read.All"]) == [
        "https://graph.microsoft.us/User.Read",
        "https://graph.microsoft.us/Policy.Read.All",
    ]


def test_default_client_is_graph_command_line_tools():
    config = graph_sign_in_config()
    assert config.client_id == GRAPH_CLIENT_ID == "14d82eec-204b-4c2f-b7e8-296a70dab67e"
    assert config.authority == "https://login.microsoftonline.com/organizations"
    assert graph_sign_in_config(client_id="other").client_id == "other"


def test_retry_after_as_seconds_or_http_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


# --- sign-in and requests -----------------------------------------------------------------


def test_sign_in_asks_only_for_the_permissions_given_on_the_graph_host(graph):
    events = []
    with connect(
        graph.sign_in_config(),
        READINESS_PERMISSIONS,
        graph_url=graph.graph_url,
        on_event=events.append,
        cancel=CancelToken(),
    ) as api:
        me = api.get("/me")
    asked = graph.identity.calls_to("/oauth2/v2.0/devicecode")[0].form
    assert asked["client_id"] == GRAPH_CLIENT_ID
    wanted = {f"{graph.graph_url}/{name}" for name in READINESS_PERMISSIONS}
    assert set(asked["scope"].split()) - {"openid", "profile", "offline_access"} == wanted
    assert me["userPrincipalName"] == graph.identity.username
    assert isinstance(events[0], WaitingForSignIn)


def test_the_token_is_sent_but_never_shown(graph):
    api = client(graph)
    api.get("/me")
    token = graph.identity.calls_to("/v1.0/me")[0].bearer
    assert token in graph.identity.access_tokens
    assert token not in repr(api) and token not in str(vars(api).get("root"))
    graph.tenant.forbidden = {"me"}
    with pytest.raises(GraphError) as caught:
        api.get("/me")
    assert token not in str(caught.value)


def test_paging_follows_next_links(graph):
    graph.tenant.skus = items(7)
    graph.tenant.page_size = 3
    with client(graph) as api:
        found = api.get_all("/subscribedSkus")
    assert [sku["id"] for sku in found] == [str(n) for n in range(7)]
    assert graph.served("subscribedSkus") == 3


def test_paging_keeps_the_query_of_the_first_request(graph):
    graph.tenant.page_size = 1
    graph.tenant.service_principals *= 3  # three copies of SyncFabric, one other app
    with client(graph) as api:
        found = api.get_all(
            "/servicePrincipals",
            params={"$filter": "appId eq '00000014-0000-0000-c000-000000000000'"},
        )
    assert len(found) == 3 and graph.served("servicePrincipals") == 3


def test_a_next_link_to_another_host_is_not_followed(graph):
    @graph.identity.route("GET", r"/v1\.0/elsewhere")
    def elsewhere(request):
        return Reply.json({"value": [1], "@odata.nextLink": "https://evil.example/v1.0/x"})

    with client(graph) as api, pytest.raises(UserError, match="another host"):
        api.get_all("/elsewhere")


def test_429_waits_as_retry_after_says_then_succeeds(graph):
    graph.tenant.skus = items(2)
    graph.tenant.throttle = {"subscribedSkus": 2}
    graph.tenant.retry_after = "1"
    slept, events = [], []
    with client(graph, events=events, sleep=slept.append) as api:
        found = api.get_all("/subscribedSkus")
    assert len(found) == 2
    assert slept == [1.0, 1.0]
    assert [e for e in events if isinstance(e, Waiting)] == [
        Waiting("/v1.0/subscribedSkus", 1.0)
    ] * 2
    assert graph.served("subscribedSkus") == 3


def test_503_without_retry_after_backs_off_exponentially(graph):
    calls = []

    @graph.identity.route("GET", r"/v1\.0/flaky")
    def flaky(request):
        calls.append(request)
        if len(calls) < 3:
            return Reply.json({"error": {"code": "serviceNotAvailable"}}, 503)
        return Reply.json({"ok": True})

    slept = []
    with client(graph, sleep=slept.append) as api:
        assert api.get("/flaky") == {"ok": True}
    assert slept == [1.0, 2.0]


def test_throttling_that_never_ends_is_bounded(graph):
    graph.tenant.throttle = {"subscribedSkus": 100}
    slept = []
    api = GraphClient(
        graph.graph_url, _token(graph), retries=3, sleep=slept.append, session=_trusting(graph)
    )
    with pytest.raises(GraphError) as caught:
        api.get_all("/subscribedSkus")
    assert caught.value.status == 429
    assert len(slept) == 3 and graph.served("subscribedSkus") == 4


def test_a_retry_after_longer_than_allowed_is_not_waited_for(graph):
    graph.tenant.throttle = {"subscribedSkus": 1}
    graph.tenant.retry_after = "3600"
    slept = []
    api = GraphClient(
        graph.graph_url, _token(graph), max_wait=60, sleep=slept.append, session=_trusting(graph)
    )
    with pytest.raises(GraphError) as caught:
        api.get("/subscribedSkus")
    assert caught.value.status == 429 and slept == []


def test_403_is_a_forbidden_graph_error(graph):
    graph.tenant.forbidden = {"deviceRegistrationPolicy"}
    with client(graph) as api, pytest.raises(GraphError) as caught:
        api.get("/policies/deviceRegistrationPolicy")
    assert caught.value.forbidden and caught.value.code == "Authorization_RequestDenied"


def test_cancel_interrupts_a_throttling_wait(graph):
    graph.tenant.throttle = {"subscribedSkus": 1}
    graph.tenant.retry_after = "30"
    cancel = CancelToken()
    events: list = []
    api = client(graph, events=events, cancel=cancel)
    failure: list[BaseException] = []

    def read():
        try:
            api.get("/subscribedSkus")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            failure.append(exc)

    worker = threading.Thread(target=read)
    started = time.monotonic()
    worker.start()
    wait_until(lambda: any(isinstance(e, Waiting) for e in events))
    cancel.cancel()
    worker.join(5)
    assert not worker.is_alive()
    assert isinstance(failure[0], Cancelled)
    assert time.monotonic() - started < 10  # far less than the 30 s Graph asked for


def test_slow_graph_times_out_with_a_sentence(graph):
    release = threading.Event()

    @graph.identity.route("GET", r"/v1\.0/slow")
    def slow(request):
        release.wait(10)
        return Reply.json({})

    api = GraphClient(graph.graph_url, _token(graph), timeout=0.3, session=_trusting(graph))
    try:
        with pytest.raises(UserError, match="did not answer within 0.3 seconds"):
            api.get("/slow")
    finally:
        release.set()


def test_dropped_connection_is_a_sentence(graph):
    @graph.identity.route("GET", r"/v1\.0/drop")
    def drop(request):
        return Reply.dropped()

    api = GraphClient(graph.graph_url, _token(graph), retries=0, session=_trusting(graph))
    with pytest.raises(UserError, match="Could not connect to Microsoft Graph"):
        api.get("/drop")


def test_untrusted_certificate_is_a_sentence(graph, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    api = GraphClient(graph.graph_url, "token")
    with pytest.raises(UserError, match="REQUESTS_CA_BUNDLE"):
        api.get("/me")


def test_https_proxy_variable_carries_the_graph_calls(graph, monkeypatch):
    with ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        with client(graph) as api:
            api.get("/me")
    assert graph.identity.host in proxy.tunnels
    assert graph.identity.calls_to("/v1.0/me")


def test_answer_that_is_not_json_is_a_sentence(graph):
    @graph.identity.route("GET", r"/v1\.0/html")
    def page(request):
        return Reply.text("<html>proxy login</html>")

    with client(graph) as api, pytest.raises(UserError, match="not JSON"):
        api.get("/html")


def _token(fake: FakeGraph) -> str:
    with client(fake) as api:
        api.get("/me")
    return fake.identity.calls_to("/v1.0/me")[-1].bearer


def _trusting(fake: FakeGraph) -> requests.Session:
    session = requests.Session()
    session.verify = str(fake.ca_bundle)
    return session
