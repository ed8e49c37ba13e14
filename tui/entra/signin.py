"""Signing an administrator in to Microsoft Entra ID with MSAL, from a terminal.

Device code is the default (works over SSH: the code is entered on any other device);
an interactive browser sign-in is the second choice where a browser exists here.
The bulk token and the Microsoft Graph checks both use :func:`sign_in`.

Everything blocking runs in the caller's thread and can be cancelled from any other
thread with a :class:`CancelToken`: waits are ``Event.wait`` calls, so a cancel takes
effect at once; an HTTP request already on the wire finishes first (bounded by
``SignInConfig.http_timeout``).
"""

from __future__ import annotations

import os
import re
import time
import webbrowser
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tui.entra.browser import WaitingForBrowser, browser_flow
from tui.entra.cancel import Cancelled, CancelToken, TimedOut
from tui.errors import UserError

if TYPE_CHECKING:
    import requests

# The Device Registration Service audience: what bulkaadjtoken/begin wants.
DRS_SCOPE = "urn:ms-drs:enterpriseregistration.windows.net/.default"
# Windows Configuration Designer's own public client: the id Microsoft's tool uses for
# this very call, so it is the one tenants have seen and consented to (docs/bulk-token.md).
DEFAULT_CLIENT_ID = "de0853a1-ab20-47bd-990b-71ad5077ac7b"
DEFAULT_TENANT = "organizations"
CLOUD_HOSTS = {
    "global": "login.microsoftonline.com",
    "usgov": "login.microsoftonline.us",
    "china": "login.chinacloudapi.cn",
}
DEFAULT_AUTHORITY = f"https://{CLOUD_HOSTS['global']}/{DEFAULT_TENANT}"


# --- configuration ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignInConfig:
    """Where and how to sign in. ``authority`` is ``https://<login host>/<tenant>``."""

    authority: str = DEFAULT_AUTHORITY
    client_id: str = DEFAULT_CLIENT_ID
    proxy: str | None = None  # e.g. http://proxy:3128; else HTTPS_PROXY/NO_PROXY apply
    ca_bundle: str | None = None  # else REQUESTS_CA_BUNDLE / SSL_CERT_FILE / built-in
    http_timeout: float = 30.0  # seconds per HTTP request

    @classmethod
    def for_cloud(
        cls, cloud: str = "global", tenant: str = DEFAULT_TENANT, **kw: Any
    ) -> SignInConfig:
        if cloud not in CLOUD_HOSTS:
            names = ", ".join(CLOUD_HOSTS)
            raise UserError(f'The cloud "{cloud}" is not known; use one of {names}.')
        return cls(authority=f"https://{CLOUD_HOSTS[cloud]}/{tenant}", **kw)

    @property
    def login_host(self) -> str:
        """Host (and port) of the authority; the bulk token endpoints live there too."""
        return urlsplit(self.authority).netloc

    @property
    def login_base(self) -> str:
        return f"https://{self.login_host}"


def check_authority(authority: str) -> str:
    """The authority, normalised; a UserError when it is not ``https://host/tenant``."""
    parts = urlsplit(authority.strip())
    tenant = parts.path.strip("/")
    if parts.scheme != "https" or not parts.netloc or not tenant or "/" in tenant:
        raise UserError(
            f'The authority "{authority}" is not valid: use https://<login host>/<tenant>, '
            f"for example {DEFAULT_AUTHORITY}."
        )
    return f"https://{parts.netloc}/{tenant}"


def authority_for(explicit: str | None, project_authority: str | None) -> str:
    """--authority (checked), else the project's login host with the organizations tenant,
    else the default authority."""
    if explicit:
        return check_authority(explicit)
    host = urlsplit(project_authority or "").netloc
    return f"https://{host}/{DEFAULT_TENANT}" if host else DEFAULT_AUTHORITY


def check_timeout(seconds: float) -> float:
    """The --timeout of a sign-in command; NaN is refused too (a NaN deadline never passes)."""
    if not seconds > 0:
        raise UserError("--timeout: give a number of seconds above 0.")
    return seconds


def resolve_ca_bundle(explicit: str | None, environ: Mapping[str, str]) -> str | bool:
    """The CA bundle to verify TLS with: explicit, then the usual variables, else built-in."""
    for candidate in (
        explicit,
        environ.get("REQUESTS_CA_BUNDLE"),
        environ.get("CURL_CA_BUNDLE"),
        environ.get("SSL_CERT_FILE"),
    ):
        if candidate:
            if not os.path.isfile(candidate):
                raise UserError(f'The CA bundle "{candidate}" does not exist or is not a file.')
            return candidate
    return True


def open_session(config: SignInConfig) -> requests.Session:
    """One HTTP session for msal and the bulk calls, so both honour proxy and CA bundle."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    verify = resolve_ca_bundle(config.ca_bundle, os.environ)
    proxies = {"http": config.proxy, "https": config.proxy} if config.proxy else None
    timeout = config.http_timeout

    class _Session(requests.Session):
        # requests lets REQUESTS_CA_BUNDLE and HTTPS_PROXY override a session's own
        # settings; passing them per request makes the explicit choice win.
        def request(self, method, url, **kwargs):  # type: ignore[override]
            kwargs.setdefault("verify", verify)
            kwargs.setdefault("timeout", timeout)
            if proxies:
                kwargs.setdefault("proxies", proxies)
            return super().request(method, url, **kwargs)

    session = _Session()
    # One retry on connection setup, as msal's own. Never on a 429/503: urllib3 would sleep
    # for Retry-After itself, where a cancel or our deadlines cannot reach it.
    retry = Retry(total=1, read=False, status=0, respect_retry_after_header=False)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# --- events and result --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitingForSignIn:
    """Show this to the user: open ``verification_uri`` elsewhere and enter ``user_code``."""

    user_code: str
    verification_uri: str
    message: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    username: str


@dataclass(frozen=True, slots=True)
class SignInResult:
    access_token: str = field(repr=False)
    username: str
    tenant_id: str
    claims: Mapping[str, Any] = field(repr=False, default_factory=dict)


EventSink = Callable[[object], None]


def event_text(event: object) -> str | None:
    """A sign-in event in words for the command line; None for any other event."""
    match event:
        case WaitingForSignIn():
            return event.message or (
                f"To sign in, open {event.verification_uri} and enter the code {event.user_code}."
            )
        case WaitingForBrowser():
            return f"Sign in in the web browser; if none opened, visit {event.auth_uri}"
        case SignedIn():
            return f"Signed in as {event.username or 'an unnamed account'}."
    return None


# --- errors -------------------------------------------------------------------------

SIGN_IN_ADVICE = {
    "50076": "Entra ID asks for multi-factor authentication: finish it in the browser "
    "where you entered the code, then try again.",
    "50079": "Entra ID asks you to register for multi-factor authentication: register at "
    "https://aka.ms/mfasetup, then try again.",
    "50158": "Entra ID asks for an extra security check: finish it in the browser, then try again.",
    "53000": "A Conditional Access policy requires a managed device for this sign-in: "
    "sign in from a compliant device or ask for an exclusion.",
    "53001": "A Conditional Access policy requires a domain-joined device for this sign-in.",
    "53003": "A Conditional Access policy blocked this sign-in: ask your Entra ID "
    "administrator to allow it for the account you use.",
    "65001": "This app is not consented in your tenant: an administrator must grant "
    "consent for the client id, or use another client id.",
    "700016": "The client id is not known in this tenant: check --client-id.",
    "7000218": "The client id does not allow sign-in from a device without a secret: "
    "use a public client id.",
    "90002": "The tenant was not found: check the tenant name or id in the authority.",
    "50020": "The account belongs to another tenant: sign in with an account of this tenant.",
    "50126": "The user name or password was wrong.",
    "50055": "The password has expired: change it, then try again.",
}


def aadsts_code(text: str | None) -> str | None:
    match = re.search(r"AADSTS(\d+)", text or "")
    return match.group(1) if match else None


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def sign_in_error(result: Mapping[str, Any]) -> UserError:
    """A failed msal answer (``error``, ``error_description``) as one sentence."""
    error = str(result.get("error", ""))
    description = str(result.get("error_description", ""))
    codes = [str(c) for c in result.get("error_codes") or []]
    code = next((c for c in codes if c in SIGN_IN_ADVICE), None) or aadsts_code(description)
    if error in ("authorization_declined", "access_denied"):
        return UserError(
            "The sign-in was declined: run it again and approve the request.", code=error
        )
    if error in ("expired_token", "code_expired"):
        return UserError(
            "The sign-in code expired before anyone signed in: start again and enter the "
            "code within the time shown.",
            code=error,
        )
    if code in SIGN_IN_ADVICE:
        return UserError(f"Sign-in failed: {SIGN_IN_ADVICE[code]}", code=f"AADSTS{code}")
    detail = _first_line(description) or error or "no reason given"
    return UserError(
        f"Sign-in failed ({detail.rstrip('.')}).", code=f"AADSTS{code}" if code else error
    )


CA_ADVICE = "if a proxy inspects TLS, give its CA with --ca-bundle or REQUESTS_CA_BUNDLE."


class UntrustedCertificate(UserError):
    """The TLS certificate of ``host`` is not trusted; ``advised`` words where to give the
    CA for where the sentence is shown (a command's option, the app's field)."""

    def __init__(self, host: str, advice: str = CA_ADVICE) -> None:
        self.host = host
        super().__init__(self.advised(advice), code="tls")

    def advised(self, advice: str) -> str:
        return (
            f"The secure connection to {self.host} failed because its certificate is not "
            f"trusted: {advice}"
        )


def network_error(exc: Exception, host: str, timeout: float) -> UserError:
    """A requests/OS error as one sentence with what to check."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return UntrustedCertificate(host)
    if isinstance(exc, requests.exceptions.ProxyError):
        return UserError(
            "The HTTP proxy could not be used: check --proxy or HTTPS_PROXY.", code="proxy"
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return UserError(
            f"{host} did not answer within {timeout:g} seconds: check the network or proxy.",
            code="timeout",
        )
    return UserError(
        f"Could not reach {host}: check the network connection and proxy settings.",
        code="network",
    )


class _OwnError(Exception):
    """An exception raised by our own ``on_event``: carried past the clauses below, which are
    for what msal and the host can answer, and raised again as it was."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def _own(on_event: EventSink) -> EventSink:
    def call(event: object) -> None:
        try:
            on_event(event)
        except Exception as exc:
            raise _OwnError(exc) from exc

    return call


def _unexpected(host: str) -> UserError:
    return UserError(
        f"{host} gave an unexpected answer: check the authority and try again later.",
        code="unexpected",
    )


# --- sign-in ------------------------------------------------------------------------


def sign_in(
    config: SignInConfig,
    scopes: Sequence[str] = (DRS_SCOPE,),
    *,
    on_event: EventSink,
    cancel: CancelToken,
    deadline: float | None = None,
    method: str = "device_code",
    session: requests.Session | None = None,
    open_browser: Callable[[str], bool] = webbrowser.open,
    interval_unit: float = 1.0,
) -> SignInResult:
    """Sign in and return an access token for ``scopes``; blocks until done.

    ``deadline`` is a ``time.monotonic()`` value. ``interval_unit`` is the length of one
    second of the server's polling interval (tests shrink it). Raises :class:`UserError`.
    """
    import msal
    import requests

    if method not in ("device_code", "browser"):
        raise ValueError(f"unknown sign-in method {method!r}")
    authority = check_authority(config.authority)
    own_session = session is None
    session = session or open_session(config)
    host = config.login_host
    events = _own(on_event)
    try:
        cancel.check()
        # No instance discovery: we trust the authority the technician configured, it
        # keeps national clouds and tests off login.microsoftonline.com, and a fresh app
        # per sign-in has no cache to share across authority aliases.
        app = msal.PublicClientApplication(
            config.client_id, authority=authority, http_client=session, instance_discovery=False
        )
        if method == "device_code":
            result = _device_code(app, scopes, events, cancel, deadline, interval_unit)
        else:
            result = browser_flow(app, scopes, events, cancel, deadline, open_browser)
    except _OwnError as exc:
        raise exc.error from None
    except requests.exceptions.RequestException as exc:
        raise network_error(exc, host, config.http_timeout) from None
    except ValueError as exc:
        # msal wraps the discovery failure; a 4xx answer there means "no such tenant".
        if "HTTP status: 4" in f"{exc} {exc.__context__}":
            raise UserError(
                f"The authority {authority} was not found: check the tenant name or id.",
                code="authority",
            ) from None
        raise _unexpected(host) from None
    except (RuntimeError, KeyError, TypeError):  # msal's on a malformed answer
        raise _unexpected(host) from None
    finally:
        if own_session:
            session.close()
    if "access_token" not in result:
        raise sign_in_error(result)
    claims = result.get("id_token_claims") or {}
    signed_in = SignInResult(
        access_token=result["access_token"],
        username=str(claims.get("preferred_username") or claims.get("upn") or ""),
        tenant_id=str(claims.get("tid") or ""),
        claims=claims,
    )
    on_event(SignedIn(signed_in.username))
    return signed_in


def _device_code(
    app: Any,
    scopes: Sequence[str],
    on_event: EventSink,
    cancel: CancelToken,
    deadline: float | None,
    interval_unit: float,
) -> dict[str, Any]:
    flow = app.initiate_device_flow(scopes=list(scopes))
    if "user_code" not in flow:
        raise sign_in_error(flow)
    on_event(
        WaitingForSignIn(
            user_code=flow["user_code"],
            verification_uri=flow.get("verification_uri", ""),
            message=flow.get("message", ""),
            expires_at=datetime.fromtimestamp(flow["expires_at"], UTC),
        )
    )
    while True:
        cancel.check()
        if time.time() >= flow["expires_at"]:
            return {"error": "expired_token"}
        # msal's documented non-blocking mode: one token request per call, we do the waiting.
        result = app.acquire_token_by_device_flow(flow, exit_condition=lambda _flow: True)
        if result.get("error") not in ("authorization_pending", "slow_down"):
            return result
        pause = flow.get("interval", 5) * interval_unit
        if deadline is not None and time.monotonic() + pause >= deadline:
            cancel.wait(deadline - time.monotonic())
            cancel.check()
            raise TimedOut("Nobody completed the sign-in in time.", code="timeout")
        if cancel.wait(pause):
            raise Cancelled()
