"""The bulk token flow against the local HTTPS fake: real msal, real begin/poll over TLS."""

import asyncio
import json
import logging
import threading
import time
from datetime import date, timedelta

import pytest
from fakes.identity import (
    ConnectProxy,
    Reply,
    bulk_aadsts,
    bulk_error,
    bulk_started,
    trusted_identity_server,
    unsigned_jwt,
)
from test_signin import wait_until

from tui.entra.bulktoken import (
    BulkToken,
    CreatingPackageUser,
    Done,
    Polling,
    check_expiry,
    fetch_bulk_token,
    get_bulk_token,
    package_user_from,
)
from tui.entra.signin import Cancelled, SignedIn, SignInConfig, TimedOut, WaitingForSignIn
from tui.errors import UserError
from tui.project.model import EntraJoin, Project

UNIT = 0.02  # one second of the sign-in polling interval, shrunk
TODAY = date.today()
EXPIRES = TODAY + timedelta(days=90)
pytestmark = pytest.mark.filterwarnings("ignore:Attempted too soon")


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        server.approve_after(1)
        yield server


def fetch(server, *, events=None, cancel=None, **kw):
    from tui.entra.signin import CancelToken

    events = [] if events is None else events
    kw.setdefault("interval_unit", UNIT)
    kw.setdefault("poll_interval", 0.01)
    config = SignInConfig(authority=server.authority(), client_id="test-client")
    return fetch_bulk_token(
        config, EXPIRES, on_event=events.append, cancel=cancel or CancelToken(), **kw
    )


# --- success ------------------------------------------------------------------------


def test_started_then_complete_success(identity):
    events = []
    token = fetch(identity, events=events)

    assert token.bprt == identity.bprt
    assert token.expires == EXPIRES
    assert token.package_user == f"package_{token.package_id}@contoso.example"
    assert identity.bprt not in repr(token) and identity.bprt not in str(token)

    kinds = [type(e) for e in events]
    assert kinds == [WaitingForSignIn, SignedIn, CreatingPackageUser, Polling, Polling, Done]
    assert events[2] == CreatingPackageUser(token.package_id)
    assert [e.attempt for e in events if isinstance(e, Polling)] == [1, 2]
    assert events[-1] == Done(token.package_user)

    (begin,) = identity.calls_to("/webapp/bulkaadjtoken/begin")
    assert begin.bearer in identity.access_tokens
    assert begin.headers["content-type"] == "application/json; charset=utf-8"
    assert begin.json == {
        "pid": token.package_id,
        "name": f"package_{token.package_id}",
        "exp": EXPIRES.strftime("%m/%d/%Y"),
    }
    polls = identity.calls_to("/webapp/bulkaadjtoken/poll")
    assert [p.query["flowToken"] for p in polls] == [f"AQABflow-{token.package_id}"] * 2
    assert all(p.bearer == begin.bearer for p in polls)


def test_given_package_id_is_sent(identity):
    pid = "1d3c4f1e-0000-4000-8000-000000000001"
    token = fetch(identity, package_id=pid)
    assert token.package_id == pid
    assert identity.calls_to("/begin")[0].json["pid"] == pid


def test_unauthorized_client_from_poll_is_retried(identity):
    identity.poll_script = [bulk_error("unauthorized_client", "AADSTS700016: not yet."), None]
    assert fetch(identity).bprt == identity.bprt
    assert len(identity.calls_to("/poll")) == 2


def test_package_user_falls_back_to_the_signed_in_domain(identity):
    result = {"flowToken": None, "state": "CompleteSuccess"}
    result["resultData"] = json.dumps({"refresh_token": identity.bprt})
    identity.poll_script = [Reply.json(result)]
    token = fetch(identity)
    assert token.package_user == f"package_{token.package_id}@contoso.example"


def test_package_user_from_id_token_and_fallbacks():
    jwt = unsigned_jwt({"upn": "package_x@fabrikam.example"})
    assert package_user_from({"id_token": jwt}, "x", "a@b.example") == "package_x@fabrikam.example"
    assert package_user_from({"id_token": "garbage"}, "p", "a@b.example") == "package_p@b.example"
    assert package_user_from({}, "p", "") == ""


def test_proxy_carries_sign_in_and_bulk_calls(identity):
    with ConnectProxy() as proxy:
        config = SignInConfig(authority=identity.authority(), proxy=proxy.url)
        from tui.entra.signin import CancelToken

        fetch_bulk_token(
            config,
            EXPIRES,
            on_event=lambda e: None,
            cancel=CancelToken(),
            interval_unit=UNIT,
            poll_interval=0.01,
        )
    assert set(proxy.tunnels) == {identity.host}
    # every request of the run, sign-in and bulk alike, came through the tunnels
    assert identity.calls_to("/begin") and identity.calls_to("/poll")


# --- expiry rules before any network call ---------------------------------------------


@pytest.mark.parametrize("days", [-1, 0, 181])
def test_bad_expiry_is_refused_before_any_request(identity, days):
    from tui.entra.signin import CancelToken

    config = SignInConfig(authority=identity.authority())
    with pytest.raises(UserError) as err:
        fetch_bulk_token(
            config, TODAY + timedelta(days=days), on_event=lambda e: None, cancel=CancelToken()
        )
    assert err.value.code == "expires"
    assert identity.calls == []


def test_expiry_limits():
    check_expiry(TODAY + timedelta(days=1), TODAY)
    check_expiry(TODAY + timedelta(days=180), TODAY)
    for bad in (None, TODAY, TODAY + timedelta(days=181)):
        with pytest.raises(UserError, match="expir"):
            check_expiry(bad, TODAY)


# --- Entra ID refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (240001, "may not join devices"),
        (240005, "Cloud Device Administrator"),
        (90092, "Microsoft.Azure.SyncFabric"),
        (90202, "Microsoft.Azure.SyncFabric"),
        (50076, "multi-factor"),
        (53003, "Conditional Access"),
    ],
)
def test_complete_error_codes_become_advice(identity, code, words):
    identity.poll_script = [bulk_started(), bulk_aadsts(code)]
    with pytest.raises(UserError) as err:
        fetch(identity)
    assert err.value.code == f"AADSTS{code}"
    assert words in str(err.value)
    assert f"AADSTS{code}" in str(err.value)


def test_error_on_begin(identity):
    identity.begin_script = [bulk_aadsts(240001)]
    with pytest.raises(UserError) as err:
        fetch(identity)
    assert err.value.code == "AADSTS240001"
    assert identity.calls_to("/poll") == []


def test_unknown_refusal_keeps_only_the_first_line(identity):
    identity.poll_script = [bulk_aadsts(99999, "Odd failure.")]
    with pytest.raises(UserError) as err:
        fetch(identity)
    assert str(err.value) == "Entra ID refused the bulk token (AADSTS99999: Odd failure)."


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply.text("<html>proxy login</html>"), "malformed"),
        (Reply.json({"flowToken": "x"}), "malformed"),
        (Reply.json({"state": "CompleteError", "resultData": "{not json"}), "malformed"),
        (Reply.json([1, 2]), "malformed"),
        (Reply.text(""), "empty"),
        (Reply.json({"state": "CompleteSuccess", "resultData": None}), "empty"),
        (Reply.json({"error": "invalid_token"}, 401), "http401"),
        (Reply.text("oops", 500), "http500"),
    ],
)
def test_unexpected_poll_answers(identity, reply, code):
    identity.poll_script = [reply]
    with pytest.raises(UserError) as err:
        fetch(identity)
    assert err.value.code == code
    assert "\n" not in str(err.value)


def test_begin_without_flow_token_is_malformed(identity):
    identity.begin_script = [Reply.json({"state": "Started", "flowToken": None})]
    with pytest.raises(UserError) as err:
        fetch(identity)
    assert err.value.code == "malformed"


def test_dropped_connection(identity):
    identity.poll_script = [Reply.dropped()]
    with pytest.raises(UserError) as err:
        fetch(identity)
    assert err.value.code == "network"
    assert identity.host in str(err.value)


# --- timeouts and cancellation --------------------------------------------------------


def test_server_that_never_finishes_times_out(identity):
    identity.poll_script = [bulk_started()]
    started = time.monotonic()
    with pytest.raises(TimedOut) as err:
        fetch(identity, poll_timeout=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 2.0
    assert err.value.code == "timeout"
    assert len(identity.calls_to("/poll")) >= 3


def test_overall_timeout_covers_the_sign_in_wait(identity):
    identity.token_script = ["authorization_pending"]
    started = time.monotonic()
    with pytest.raises(TimedOut):
        fetch(identity, timeout=0.3, interval_unit=1.0)
    assert time.monotonic() - started < 1.5
    assert identity.calls_to("/begin") == []


def _cancel_while(identity, ready, **kw):
    from tui.entra.signin import CancelToken

    before = set(threading.enumerate())
    cancel = CancelToken()
    outcome = {}

    def worker():
        try:
            fetch(identity, cancel=cancel, **kw)
        except UserError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    wait_until(ready)
    started = time.monotonic()
    cancel.cancel()
    thread.join(5)
    assert time.monotonic() - started < 1.0
    assert isinstance(outcome["error"], Cancelled)
    wait_until(lambda: set(threading.enumerate()) <= before)


def test_cancel_during_sign_in_wait(identity):
    identity.token_script = ["authorization_pending"]
    _cancel_while(identity, lambda: identity.calls_to("/token"), interval_unit=1.0)
    assert identity.calls_to("/begin") == []


def test_cancel_during_poll_wait(identity):
    identity.poll_script = [bulk_started()]
    _cancel_while(identity, lambda: identity.calls_to("/poll"), poll_interval=1.0)


# --- asyncio API ----------------------------------------------------------------------


async def test_async_api_delivers_events_on_the_loop(identity):
    loop_thread = threading.get_ident()
    seen = []
    config = SignInConfig(authority=identity.authority())
    token = await get_bulk_token(
        config,
        EXPIRES,
        on_event=lambda e: seen.append((type(e), threading.get_ident())),
        interval_unit=UNIT,
        poll_interval=0.01,
    )
    assert isinstance(token, BulkToken) and token.bprt == identity.bprt
    assert {thread for _, thread in seen} == {loop_thread}
    assert seen[-1][0] is Done
    assert not [t for t in threading.enumerate() if t.name == "bulk-token"]


async def test_async_errors_arrive_as_user_errors(identity):
    identity.poll_script = [bulk_aadsts(240005)]
    config = SignInConfig(authority=identity.authority())
    with pytest.raises(UserError) as err:
        await get_bulk_token(
            config, EXPIRES, on_event=lambda e: None, interval_unit=UNIT, poll_interval=0.01
        )
    assert err.value.code == "AADSTS240005"


async def test_cancelling_the_task_stops_the_thread(identity):
    identity.poll_script = [bulk_started()]
    polling = asyncio.Event()
    config = SignInConfig(authority=identity.authority())

    def on_event(event):
        if isinstance(event, Polling):
            polling.set()

    task = asyncio.create_task(
        get_bulk_token(config, EXPIRES, on_event=on_event, interval_unit=UNIT, poll_interval=1.0)
    )
    await asyncio.wait_for(polling.wait(), 5)
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0
    assert not [t for t in threading.enumerate() if t.name == "bulk-token"]


# --- secrets --------------------------------------------------------------------------


def test_no_secret_in_logs_events_or_errors(identity, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, msal, urllib3, requests
    texts = []
    events = []
    token = fetch(identity, events=events)
    texts += [repr(token), str(token), *map(repr, events)]
    for script in (
        [bulk_aadsts(240001)],
        [Reply.text("garbage")],
        [Reply.dropped()],
        [Reply.json({"state": "CompleteSuccess", "resultData": None})],
    ):
        identity.poll_script = script
        with pytest.raises(UserError) as err:
            fetch(identity)
        texts += [str(err.value), repr(err.value), str(err.value.code)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.exc_info) for record in caplog.records if record.exc_info]
    assert any("bulkaadjtoken" in t for t in texts)  # the logs were really captured
    secrets = [identity.bprt, identity.refresh_token, *identity.access_tokens]
    assert len(secrets) >= 3
    leaks = [s for s in secrets for t in texts if s in t]
    assert leaks == []


def test_store_in_records_every_token_field_in_the_project():
    project = Project(entra=EntraJoin(authority="https://login.microsoftonline.us/x"))
    token = BulkToken("eyJ.bprt", "6f1e2a4c", "package_6f1e2a4c@contoso.com", EXPIRES)
    token.store_in(project.entra)
    assert project.entra == EntraJoin(
        authority="https://login.microsoftonline.us/x",
        bprt="eyJ.bprt",
        expires=EXPIRES,
        package_user="package_6f1e2a4c@contoso.com",
        token_package_id="6f1e2a4c",
    )
