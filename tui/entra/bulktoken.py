"""The Entra ID bulk token (BPRT): sign in, then ``bulkaadjtoken/begin`` and ``poll``.

:func:`fetch_bulk_token` blocks (run it in a worker thread); :func:`get_bulk_token` is
the same for asyncio code such as the terminal app: events arrive on the event loop and
cancelling the awaiting task stops the work within a second, leaving no thread behind.
The protocol and every error sentence are explained in docs/bulk-token.md.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
import uuid
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from tui.entra.signin import (
    DRS_SCOPE,
    SIGN_IN_ADVICE,
    Cancelled,
    CancelToken,
    EventSink,
    SignInConfig,
    TimedOut,
    aadsts_code,
    network_error,
    open_session,
    sign_in,
)
from tui.errors import UserError
from tui.project import rules
from tui.project.model import EntraJoin, Project

if TYPE_CHECKING:
    import requests

BEGIN_PATH = "/webapp/bulkaadjtoken/begin"
POLL_PATH = "/webapp/bulkaadjtoken/poll"


@dataclass(frozen=True, slots=True)
class BulkToken:
    bprt: str = field(repr=False)  # the credential: never shown
    package_id: str
    package_user: str
    expires: date

    def store_in(self, entra: EntraJoin) -> None:
        """Record the token in a project's Entra ID settings (what the package is built from)."""
        entra.bprt = self.bprt
        entra.expires = self.expires
        entra.package_user = self.package_user
        entra.token_package_id = self.package_id
        entra.revoked = None  # a new token, a new package user


# Progress events (besides tui.entra.signin's WaitingForSignIn / WaitingForBrowser / SignedIn).
@dataclass(frozen=True, slots=True)
class CreatingPackageUser:
    package_id: str


@dataclass(frozen=True, slots=True)
class Polling:
    attempt: int


@dataclass(frozen=True, slots=True)
class Done:
    package_user: str


# --- rules and errors ---------------------------------------------------------------


def check_expiry(expires: date | None, today: date) -> None:
    """The expiry must be a future date at most 180 days away (tui.project.rules owns the rule)."""
    if expires is None:
        raise UserError("Bulk token expiry: choose the date the token expires.", code="expires")
    project = Project(entra=EntraJoin(expires=expires))
    if problem := rules.check_field(project, "entra.expires", today=today):
        raise UserError(problem, code="expires")


_BULK_ADVICE = {
    "240001": "this account may not join devices to Entra ID: allow it under Entra ID > "
    "Devices > Device settings > Users may join devices to Microsoft Entra ID (if the "
    "tenant never used Windows Configuration Designer, an administrator may also need to "
    "consent to its app), then try again",
    # A public troubleshooting guide links 240003 to MFA on the requesting account (L).
    "240003": "Entra ID wants multi-factor authentication for this account: sign in again "
    "and complete it",
    "240005": "this account has no role that may create bulk tokens: assign it Cloud Device "
    "Administrator (or Intune Administrator) and try again",
    "90092": "the Microsoft.Azure.SyncFabric service principal (app id "
    "00000014-0000-0000-c000-000000000000) is missing in this tenant: create it, then try "
    "again",
    "90202": "the Microsoft.Azure.SyncFabric service principal (app id "
    "00000014-0000-0000-c000-000000000000) is missing or disabled in this tenant: create or "
    "enable it, then try again",
}


def bulk_error(result: dict[str, Any]) -> UserError:
    """A ``CompleteError`` answer's decoded ``resultData`` as one sentence."""
    error = str(result.get("error") or "")
    description = str(result.get("error_description") or "")
    code = aadsts_code(description)
    if code in _BULK_ADVICE:
        return UserError(
            f"Entra ID refused the bulk token (AADSTS{code}): {_BULK_ADVICE[code]}.",
            code=f"AADSTS{code}",
        )
    if code in SIGN_IN_ADVICE:
        return UserError(
            f"Entra ID refused the bulk token (AADSTS{code}): {SIGN_IN_ADVICE[code]}",
            code=f"AADSTS{code}",
        )
    first = description.strip().splitlines()[0].rstrip(".") if description.strip() else error
    return UserError(
        f"Entra ID refused the bulk token ({first or 'no reason given'}).",
        code=f"AADSTS{code}" if code else (error or "refused"),
    )


def _empty_answer() -> UserError:
    return UserError(
        "Entra ID returned an empty answer instead of the bulk token: this happens with "
        "federated accounts in a staged rollout; sign in with a cloud-only account that is "
        "not in the staged rollout, then try again.",
        code="empty",
    )


def _malformed(host: str) -> UserError:
    return UserError(
        f"{host} answered the bulk token request with something unexpected: check the "
        "authority and try again later.",
        code="malformed",
    )


def package_user_from(result: dict[str, Any], pid: str, signed_in_user: str) -> str:
    """The package user's UPN: from the returned id_token, else the requester's domain."""
    try:
        payload = str(result.get("id_token") or "").split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        for name in ("upn", "preferred_username", "unique_name"):
            if isinstance(claims.get(name), str) and "@" in claims[name]:
                return claims[name]
    except (IndexError, ValueError, binascii.Error, AttributeError):
        pass
    domain = signed_in_user.rpartition("@")[2]
    return f"package_{pid}@{domain}" if "@" in signed_in_user and domain else ""


# --- begin / poll -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Answer:
    state: str  # Started, CompleteSuccess, ... ("Retry" for a transient error)
    flow_token: str | None
    result: dict[str, Any]  # the decoded resultData


def _read(response: requests.Response, host: str) -> _Answer:
    """A begin/poll answer; errors (HTTP, empty, malformed, CompleteError) raise."""
    if response.status_code in (401, 403):
        raise UserError(
            f"Entra ID did not accept the sign-in for creating a bulk token (HTTP "
            f"{response.status_code}): sign in again with an account that may join devices.",
            code=f"http{response.status_code}",
        )
    if response.status_code != 200:
        raise UserError(
            f"{host} could not create the bulk token (HTTP {response.status_code}): try "
            "again later.",
            code=f"http{response.status_code}",
        )
    if not response.content.strip():
        raise _empty_answer()
    try:
        answer = response.json()
        state, flow_token = answer["state"], answer.get("flowToken")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _malformed(host) from None
    if not isinstance(state, str) or not isinstance(flow_token, str | None):
        raise _malformed(host)
    result = _result_data(answer.get("resultData"), host)
    if "Error" in state:
        if result.get("error") == "unauthorized_client":
            return _Answer("Retry", flow_token, result)  # transient: poll again
        raise bulk_error(result)
    if state == "CompleteSuccess" and not result.get("refresh_token"):
        raise _empty_answer()
    return _Answer(state, flow_token, result)


def _result_data(raw: Any, host: str) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    try:
        result = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise _malformed(host) from None
    if not isinstance(result, dict):
        raise _malformed(host)
    return result


def fetch_bulk_token(
    config: SignInConfig,
    expires: date,
    *,
    on_event: EventSink,
    cancel: CancelToken,
    today: date | None = None,
    timeout: float = 1200.0,
    poll_timeout: float = 180.0,
    poll_interval: float = 1.0,
    package_id: str | None = None,
    method: str = "device_code",
    open_browser: Callable[[str], bool] = webbrowser.open,
    interval_unit: float = 1.0,
) -> BulkToken:
    """Sign in and obtain a bulk token valid until ``expires``; blocks until done.

    ``timeout`` bounds the whole operation (sign-in wait included) and ``poll_timeout``
    the wait for Entra ID to create the package user, both in seconds. Raises UserError
    (:class:`~tui.entra.signin.Cancelled`, :class:`~tui.entra.signin.TimedOut` among them).
    """
    import requests

    check_expiry(expires, today or date.today())
    deadline = time.monotonic() + timeout
    pid = package_id or str(uuid.uuid4())
    host = config.login_host
    with open_session(config) as session:
        signed_in = sign_in(
            config,
            (DRS_SCOPE,),
            on_event=on_event,
            cancel=cancel,
            deadline=deadline,
            method=method,
            session=session,
            open_browser=open_browser,
            interval_unit=interval_unit,
        )
        headers = {
            "Authorization": f"Bearer {signed_in.access_token}",
            "Accept": "application/json",
        }
        body = {"pid": pid, "name": f"package_{pid}", "exp": expires.strftime("%m/%d/%Y")}
        cancel.check()
        on_event(CreatingPackageUser(pid))
        try:
            begun = _read(
                session.post(
                    config.login_base + BEGIN_PATH,
                    data=json.dumps(body).encode(),
                    headers={**headers, "Content-Type": "application/json; charset=utf-8"},
                ),
                host,
            )
            if not begun.flow_token:
                raise _malformed(host)
            poll_deadline = min(deadline, time.monotonic() + poll_timeout)
            result = _poll(
                session,
                config,
                headers,
                begun.flow_token,
                on_event,
                cancel,
                poll_deadline,
                poll_interval,
            )
        except requests.exceptions.RequestException as exc:
            raise network_error(exc, host, config.http_timeout) from None
    token = BulkToken(
        bprt=result["refresh_token"],
        package_id=pid,
        package_user=package_user_from(result, pid, signed_in.username),
        expires=expires,
    )
    on_event(Done(token.package_user))
    return token


def _poll(
    session: requests.Session,
    config: SignInConfig,
    headers: dict[str, str],
    flow_token: str,
    on_event: EventSink,
    cancel: CancelToken,
    deadline: float,
    interval: float,
) -> dict[str, Any]:
    attempt = 0
    while True:
        pause = interval if attempt else 0.0  # the first poll goes right after begin
        if cancel.wait(min(pause, max(0.0, deadline - time.monotonic()))):
            raise Cancelled()
        if time.monotonic() >= deadline:
            raise TimedOut(
                "Entra ID did not finish creating the bulk token in time: try again later.",
                code="timeout",
            )
        attempt += 1
        on_event(Polling(attempt))
        # No response kept in a local: a live Response holds its connection open even
        # after the session is closed (e.g. while a caller keeps the Cancelled traceback).
        answer = _read(
            session.get(
                config.login_base + POLL_PATH, params={"flowToken": flow_token}, headers=headers
            ),
            config.login_host,
        )
        if answer.state == "CompleteSuccess":
            return answer.result


# --- asyncio ------------------------------------------------------------------------


async def get_bulk_token(
    config: SignInConfig,
    expires: date,
    *,
    on_event: EventSink,
    cancel: CancelToken | None = None,
    **options: Any,
) -> BulkToken:
    """:func:`fetch_bulk_token` in its own thread; ``on_event`` runs on the event loop.

    Cancelling the awaiting task cancels the work and waits for its thread to end.
    """
    loop = asyncio.get_running_loop()
    cancel = cancel or CancelToken()
    done: asyncio.Future[BulkToken] = loop.create_future()

    def settle(outcome: BulkToken | BaseException) -> None:
        if done.cancelled():
            return
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)

    def work() -> None:
        try:
            outcome: BulkToken | BaseException = fetch_bulk_token(
                config,
                expires,
                on_event=lambda event: loop.call_soon_threadsafe(on_event, event),
                cancel=cancel,
                **options,
            )
        except BaseException as exc:  # handed to the awaiting task
            outcome = exc
        loop.call_soon_threadsafe(settle, outcome)

    thread = threading.Thread(target=work, name="bulk-token", daemon=True)
    thread.start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        cancel.cancel()
        while not done.done():
            try:
                await asyncio.shield(done)
            except asyncio.CancelledError:
                continue
            except BaseException:
                break
        raise
    finally:
        if done.done() and not done.cancelled():
            done.exception()  # retrieved: no "never retrieved" warning after a cancel
        thread.join()
