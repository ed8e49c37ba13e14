"""MSAL sign-in against the local HTTPS fake identity server: real msal, real HTTP, real TLS."""

import html
import re
import socket
import threading
import time
from dataclasses import replace
from datetime import datetime

import pytest
import requests
from fakes.identity import ConnectProxy, Reply, trusted_identity_server

from tui.entra.signin import (
    DRS_SCOPE,
    Cancelled,
    CancelToken,
    SignedIn,
    SignInConfig,
    TimedOut,
    WaitingForBrowser,
    WaitingForSignIn,
    authority_for,
    check_authority,
    event_text,
    resolve_ca_bundle,
    sign_in,
)
from tui.errors import UserError

# The fake asks for a 1 s polling interval; tests shrink one second to this.
UNIT = 0.02
# msal warns when we poll "too soon" by its own wall clock; that is the shrunk time.
pytestmark = pytest.mark.filterwarnings("ignore:Attempted too soon")


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        yield server


def config_for(server, **kw) -> SignInConfig:
    return SignInConfig(authority=server.authority(), client_id="test-client", **kw)


def run_sign_in(server, *, events=None, **kw):
    events = [] if events is None else events
    kw.setdefault("cancel", CancelToken())
    kw.setdefault("interval_unit", UNIT)
    return sign_in(config_for(server), on_event=events.append, **kw)


def wait_until(condition, seconds=5.0):
    """Poll a real condition with a deadline (no bare sleeps as synchronisation)."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


# --- device code: the happy paths ---------------------------------------------------


def test_device_code_pending_then_success(identity):
    identity.approve_after(2)
    events = []
    result = run_sign_in(identity, events=events)

    assert result.username == "admin@contoso.example"
    assert result.tenant_id == identity.tenant_id
    assert result.access_token in identity.access_tokens
    assert "access_token" not in repr(result) and result.access_token not in repr(result)
    waiting, signed_in = events
    assert isinstance(waiting, WaitingForSignIn) and waiting.user_code == "FAKE-CODE"
    assert waiting.verification_uri == f"{identity.base_url}/devicelogin"
    assert signed_in == SignedIn("admin@contoso.example")

    paths = [c.path for c in identity.calls]
    assert paths[0] == "/organizations/v2.0/.well-known/openid-configuration"
    assert paths[1] == "/organizations/oauth2/v2.0/devicecode"
    assert paths[2:] == ["/organizations/oauth2/v2.0/token"] * 3
    device_request = identity.calls[1].form
    assert device_request["client_id"] == "test-client"
    assert DRS_SCOPE in device_request["scope"].split()
    token_request = identity.calls[2].form
    assert token_request["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"


def test_slow_down_makes_the_next_poll_wait_longer(identity):
    identity.token_script = ["authorization_pending", "slow_down", "success"]
    run_sign_in(identity)
    t1, t2, t3 = (c.at for c in identity.calls_to("/token"))
    # interval 1 -> after slow_down 1 + 5 (RFC 8628 via msal), in shrunk seconds.
    assert t3 - t2 >= 6 * UNIT
    assert t3 - t2 > (t2 - t1) * 2


def test_explicit_ca_bundle_beats_requests_ca_bundle(identity, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    identity.approve_after(0)
    config = config_for(identity, ca_bundle=str(identity.ca_bundle))
    result = sign_in(config, on_event=lambda e: None, cancel=CancelToken(), interval_unit=UNIT)
    assert result.username == identity.username


def test_ssl_cert_file_is_honoured_when_nothing_else_is_set(identity, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("SSL_CERT_FILE", str(identity.ca_bundle))
    identity.approve_after(0)
    assert run_sign_in(identity).username == identity.username


def test_proxy_carries_msal_traffic(identity):
    identity.approve_after(0)
    with ConnectProxy() as proxy:
        config = config_for(identity, proxy=proxy.url)
        sign_in(config, on_event=lambda e: None, cancel=CancelToken(), interval_unit=UNIT)
    assert proxy.tunnels and set(proxy.tunnels) == {identity.host}


def test_https_proxy_variable_is_honoured(identity, monkeypatch):
    identity.approve_after(0)
    with ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "")
        run_sign_in(identity)
    assert identity.host in proxy.tunnels


# --- device code: failures ----------------------------------------------------------


def test_expired_device_code(identity):
    identity.token_script = ["authorization_pending", "expired_token"]
    with pytest.raises(UserError) as err:
        run_sign_in(identity)
    assert err.value.code == "expired_token"
    assert "expired" in str(err.value)


def test_device_code_expired_before_anyone_signed_in(identity):
    identity.device_code_expires_in = 0
    with pytest.raises(UserError) as err:
        run_sign_in(identity)
    assert err.value.code == "expired_token"
    assert identity.calls_to("/token") == []


@pytest.mark.parametrize("error", ["authorization_declined", "access_denied"])
def test_user_declined(identity, error):
    identity.token_script = [error]
    with pytest.raises(UserError) as err:
        run_sign_in(identity)
    assert err.value.code == error
    assert "declined" in str(err.value)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (50076, "multi-factor"),
        (50079, "multi-factor"),
        (53003, "Conditional Access"),
        (700016, "client id"),
        (90002, "tenant"),
    ],
)
def test_entra_refusals_become_advice(identity, code, words):
    identity.token_script = [
        {
            "error": "invalid_grant",
            "error_description": f"AADSTS{code}: refused.\r\nTrace ID: x",
            "error_codes": [code],
        }
    ]
    with pytest.raises(UserError) as err:
        run_sign_in(identity)
    assert err.value.code == f"AADSTS{code}"
    assert words in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_error_keeps_first_line_only(identity):
    identity.token_script = [{"error": "server_error", "error_description": "Boom.\r\nTrace"}]
    with pytest.raises(UserError) as err:
        run_sign_in(identity)
    assert str(err.value) == "Sign-in failed (Boom)."
    assert err.value.code == "server_error"


def test_unknown_tenant(identity):
    @identity.route("GET", r"/nope/v2\.0/\.well-known/openid-configuration")
    def _missing(request):
        return Reply.json({"error": "invalid_tenant"}, 400)

    config = SignInConfig(authority=identity.authority("nope"))
    with pytest.raises(UserError) as err:
        sign_in(config, on_event=lambda e: None, cancel=CancelToken())
    assert err.value.code == "authority"


def test_unexpected_discovery_answer(identity):
    @identity.route("GET", r"/organizations/v2\.0/\.well-known/openid-configuration")
    def _garbage(request):
        return Reply.text("<html>captive portal</html>")

    with pytest.raises(UserError) as err:
        run_sign_in(identity)
    assert err.value.code == "unexpected"


def test_untrusted_certificate_is_a_tls_error(identity, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(UserError) as err:
        run_sign_in(identity)
    assert err.value.code == "tls"
    assert "--ca-bundle" in str(err.value)


def test_network_down():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    config = SignInConfig(authority=f"https://127.0.0.1:{port}/organizations")
    with pytest.raises(UserError) as err:
        sign_in(config, on_event=lambda e: None, cancel=CancelToken())
    assert err.value.code == "network"
    assert f"127.0.0.1:{port}" in str(err.value)


def test_bad_authority_fails_before_any_request(identity):
    config = SignInConfig(authority=f"http://{identity.host}/organizations")
    with pytest.raises(UserError, match="authority"):
        sign_in(config, on_event=lambda e: None, cancel=CancelToken())
    assert identity.calls == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "https://login.microsoftonline.us/contoso.com/",
            "https://login.microsoftonline.us/contoso.com",
        ),
        ("https://localhost:8443/organizations", "https://localhost:8443/organizations"),
    ],
)
def test_check_authority_accepts(given, expected):
    assert check_authority(given) == expected


@pytest.mark.parametrize(
    "bad", ["login.microsoftonline.com/x", "https://login.microsoftonline.com", "https://h/a/b"]
)
def test_check_authority_rejects(bad):
    with pytest.raises(UserError):
        check_authority(bad)


@pytest.mark.parametrize(
    ("explicit", "project", "expected"),
    [
        ("https://a.example/t", "https://login.microsoftonline.us/x", "https://a.example/t"),
        (
            None,
            "https://login.microsoftonline.us/contoso.us",
            "https://login.microsoftonline.us/organizations",
        ),
        ("https://a.example/t/", None, "https://a.example/t"),
        (None, "", "https://login.microsoftonline.com/organizations"),
        (None, "not a url", "https://login.microsoftonline.com/organizations"),
    ],
)
def test_authority_for_prefers_the_option_then_the_projects_login_host(explicit, project, expected):
    assert authority_for(explicit, project) == expected


def test_authority_for_checks_the_option():
    with pytest.raises(UserError, match="authority"):
        authority_for("http://a.example/t", None)


def test_event_text_words_each_sign_in_event_and_nothing_else():
    waiting = WaitingForSignIn("ABC123", "https://microsoft.com/devicelogin", "", datetime.now())
    assert event_text(waiting) == (
        "To sign in, open https://microsoft.com/devicelogin and enter the code ABC123."
    )
    assert event_text(replace(waiting, message="Entra's own words.")) == "Entra's own words."
    assert event_text(WaitingForBrowser("https://x/authorize")).endswith("https://x/authorize")
    assert event_text(SignedIn("")) == "Signed in as an unnamed account."
    assert event_text(object()) is None


def test_for_cloud_builds_national_cloud_authority():
    config = SignInConfig.for_cloud("usgov", "contoso.us")
    assert config.authority == "https://login.microsoftonline.us/contoso.us"
    assert config.login_host == "login.microsoftonline.us"
    with pytest.raises(UserError, match="cloud"):
        SignInConfig.for_cloud("mars")


def test_resolve_ca_bundle_order(tmp_path):
    a, b = tmp_path / "a.pem", tmp_path / "b.pem"
    a.write_text("x")
    b.write_text("y")
    assert resolve_ca_bundle(str(a), {"REQUESTS_CA_BUNDLE": str(b)}) == str(a)
    assert resolve_ca_bundle(None, {"SSL_CERT_FILE": str(b)}) == str(b)
    assert resolve_ca_bundle(None, {}) is True
    with pytest.raises(UserError, match="CA bundle"):
        resolve_ca_bundle(str(tmp_path / "missing.pem"), {})


# --- cancellation and timeout -------------------------------------------------------


def test_cancel_during_device_code_wait_is_prompt_and_leaves_no_thread(identity):
    identity.token_script = ["authorization_pending"]  # nobody ever signs in
    before = set(threading.enumerate())
    cancel = CancelToken()
    outcome = {}

    def worker():
        try:
            run_sign_in(identity, cancel=cancel, interval_unit=1.0)  # real 1 s waits
        except UserError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    wait_until(lambda: len(identity.calls_to("/token")) >= 1)
    started = time.monotonic()
    cancel.cancel()
    thread.join(5)
    assert time.monotonic() - started < 1.0
    assert isinstance(outcome["error"], Cancelled)
    wait_until(lambda: set(threading.enumerate()) <= before)


def test_cancel_before_start_makes_no_request(identity):
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        run_sign_in(identity, cancel=cancel)
    assert identity.calls == []


def test_deadline_ends_the_wait(identity):
    identity.token_script = ["authorization_pending"]
    started = time.monotonic()
    with pytest.raises(TimedOut) as err:
        run_sign_in(identity, deadline=started + 0.3, interval_unit=1.0)
    assert 0.3 <= time.monotonic() - started < 1.5
    assert err.value.code == "timeout"


# --- interactive browser ------------------------------------------------------------


def fake_browser(ca_bundle):
    """Plays the user's browser: follows the authorize URL back to the local redirect."""
    opened = []

    def open_browser(url: str) -> bool:
        opened.append(url)

        def visit():
            page = requests.get(url, verify=str(ca_bundle), timeout=5).text
            action = html.unescape(re.search(r'action="([^"]+)"', page).group(1))
            fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
            requests.post(action, data={k: html.unescape(v) for k, v in fields.items()}, timeout=5)

        threading.Thread(target=visit, daemon=True).start()
        return True

    return open_browser, opened


def test_browser_sign_in(identity):
    open_browser, opened = fake_browser(identity.ca_bundle)
    events = []
    result = run_sign_in(identity, events=events, method="browser", open_browser=open_browser)
    assert result.username == identity.username
    assert isinstance(events[0], WaitingForBrowser) and events[0].auth_uri == opened[0]
    authorize = identity.calls_to("/authorize")[0]
    assert authorize.query["redirect_uri"].startswith("http://localhost:")
    assert authorize.query["response_mode"] == "form_post"
    assert authorize.query["code_challenge_method"] == "S256"  # PKCE
    token = identity.calls_to("/token")[0].form
    assert token["grant_type"] == "authorization_code" and token["code_verifier"]


def test_browser_sign_in_without_a_browser(identity):
    with pytest.raises(UserError) as err:
        run_sign_in(identity, method="browser", open_browser=lambda url: False)
    assert err.value.code == "no_browser"


def test_cancel_during_browser_wait(identity):
    before = set(threading.enumerate())
    cancel = CancelToken()
    outcome = {}
    opened = threading.Event()

    def worker():
        try:
            run_sign_in(
                identity,
                method="browser",
                cancel=cancel,
                open_browser=lambda u: opened.set() or True,
            )
        except UserError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    assert opened.wait(5)
    started = time.monotonic()
    cancel.cancel()
    thread.join(5)
    assert time.monotonic() - started < 1.0
    assert isinstance(outcome["error"], Cancelled)
    wait_until(lambda: set(threading.enumerate()) <= before)  # the receiver thread too


@pytest.mark.parametrize("error", [KeyError("ours"), TypeError("ours"), RuntimeError("ours")])
def test_an_error_of_our_own_callback_is_not_called_an_unexpected_answer(identity, error):
    identity.approve_after(1)

    def on_event(event):
        raise error

    with pytest.raises(type(error)) as raised:
        sign_in(config_for(identity), on_event=on_event, cancel=CancelToken(), interval_unit=UNIT)
    assert raised.value is error
