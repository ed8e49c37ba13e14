"""One small Microsoft Graph client: the national-cloud host, paging, throttling and timeouts.

Every Graph call of the readiness check and the enrollment verification goes through
``GraphClient``. It holds a delegated access token (from ``tui.entra.signin``) and never shows it.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from tui.entra.signin import (
    DEFAULT_AUTHORITY,
    CancelToken,
    SignInConfig,
    UntrustedCertificate,
    open_session,
    sign_in,
)
from tui.errors import UserError

# Microsoft Graph Command Line Tools: a first-party public client that may ask for Graph
# delegated scopes with device code in every tenant (docs/graph-checks.md).
GRAPH_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

GRAPH_ROOTS = {
    "login.microsoftonline.com": "https://graph.microsoft.com",
    # US Government L4 and L5 (DoD) share the login host; L5 needs --graph-url.
    "login.microsoftonline.us": "https://graph.microsoft.us",
    "login.chinacloudapi.cn": "https://microsoftgraph.chinacloudapi.cn",
}

# Least-privilege delegated permissions, asked for only when a check starts.
READINESS_PERMISSIONS = (
    "User.Read",
    "LicenseAssignment.Read.All",
    "Policy.Read.DeviceConfiguration",
    "Application.Read.All",
    "Policy.Read.All",
    "GroupMember.Read.All",
    "Domain.Read.All",
    "DeviceManagementServiceConfig.Read.All",
)
# Added to the readiness permissions when the project already has a package user.
PACKAGE_USER_PERMISSIONS = ("User.Read.All",)
# The package-user checks' policies and group membership: all among READINESS_PERMISSIONS.
PACKAGE_POLICY_PERMISSIONS = (
    "Policy.Read.DeviceConfiguration",
    "Policy.Read.All",
    "GroupMember.Read.All",
)
VERIFY_PERMISSIONS = ("User.Read", "User.Read.All", "Device.Read.All", *PACKAGE_POLICY_PERMISSIONS)
# Only for ``bulk-enroll revoke``, in a sign-in of its own: deleting a user needs
# User.ReadWrite.All (its least-privileged delegated permission); devices are listed first.
REVOKE_PERMISSIONS = ("User.Read", "User.ReadWrite.All", "Device.Read.All")

RETRY_STATUSES = frozenset({429, 503})
MAX_PAGES = 500


def graph_root(authority: str, override: str | None = None) -> str:
    """The Graph service root (``https://host``) for a sign-in authority, or the override."""
    if override:
        parts = urlsplit(override.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise UserError(f"Graph URL {override!r}: give an https:// address.")
        path = parts.path.rstrip("/")
        for version in ("/v1.0", "/beta"):
            path = path.removesuffix(version)
        return f"https://{parts.netloc}{path}"
    host = (urlsplit(authority).hostname or "").lower()
    try:
        return GRAPH_ROOTS[host]
    except KeyError:
        raise UserError(
            f"Authority {authority!r}: no known Microsoft Graph host for login host "
            f"{host or '(none)'}; give the Graph address (--graph-url, or the tenant "
            "connection's Microsoft Graph address in the app)."
        ) from None


def scopes_for(root: str, permissions: Iterable[str]) -> list[str]:
    """Scope strings on the cloud's own Graph host, as national clouds require."""
    return [f"{root}/{name}" for name in permissions]


class GraphError(Exception):
    """Microsoft Graph answered with an error status (after any retries)."""

    def __init__(self, status: int, code: str, message: str, path: str) -> None:
        super().__init__(f"Microsoft Graph {path}: {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.path = path

    @property
    def forbidden(self) -> bool:
        return self.status == 403 or (self.status == 401 and "Denied" in self.code)

    @property
    def not_found(self) -> bool:
        return self.status == 404


@dataclass(frozen=True, slots=True)
class Waiting:
    """Progress event: Graph asked us to slow down; the next try is in ``seconds``."""

    path: str
    seconds: float


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class GraphClient:
    """GET/POST against one Graph root with a bearer token.

    ``sleep`` waits between retries (tests inject one); by default it waits on ``cancel`` so a
    cancel interrupts a throttling wait at once.
    """

    def __init__(
        self,
        root: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        max_wait: float = 60.0,
        sleep: Callable[[float], object] | None = None,
        cancel: CancelToken | None = None,
        on_event: Callable[[object], None] | None = None,
    ) -> None:
        self.root = root.rstrip("/")
        self._token = token
        self._session = session or requests.Session()
        self._timeout = timeout
        self._retries = retries
        self._max_wait = max_wait
        self.cancel = cancel or CancelToken()
        self._sleep = sleep or self.cancel.wait
        self._on_event = on_event or (lambda event: None)

    def __repr__(self) -> str:
        return f"GraphClient(root={self.root!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, path: str, *, version: str = "v1.0", params: dict | None = None) -> dict:
        return self._request("GET", self._url(path, version), params=params)

    def post(self, path: str, body: dict, *, version: str = "v1.0") -> dict:
        return self._request("POST", self._url(path, version), json=body)

    def delete(self, path: str, *, version: str = "v1.0") -> dict:
        return self._request("DELETE", self._url(path, version))

    def get_all(
        self, path: str, *, version: str = "v1.0", params: dict | None = None
    ) -> list[dict]:
        return list(self.iter_all(path, version=version, params=params))

    def iter_all(
        self, path: str, *, version: str = "v1.0", params: dict | None = None
    ) -> Iterator[dict]:
        """Every item of a collection, following ``@odata.nextLink`` on the same host."""
        url: str | None = self._url(path, version)
        for _ in range(MAX_PAGES):
            page = self._request("GET", url, params=params)
            yield from page.get("value") or []
            url, params = page.get("@odata.nextLink"), None
            if not url:
                return
            host = urlsplit(url).netloc
            if host != urlsplit(self.root).netloc:
                raise UserError(
                    f"Microsoft Graph sent a next-page link to another host ({host}); "
                    "stopped so the sign-in token is not sent there."
                )
        raise UserError(f"Microsoft Graph {path}: more than {MAX_PAGES} pages; stopped.")

    def _url(self, path: str, version: str) -> str:
        return f"{self.root}/{version}/{path.lstrip('/')}"

    def _request(self, method: str, url: str, **kwargs: Any) -> dict:
        path = urlsplit(url).path
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        for attempt in range(self._retries + 1):
            self._check_cancel()
            response = self._send(method, url, headers, **kwargs)
            if response.status_code not in RETRY_STATUSES or attempt == self._retries:
                break
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = min(2.0**attempt, self._max_wait)
            if wait > self._max_wait:
                break
            self._on_event(Waiting(path, wait))
            self._sleep(wait)
        self._check_cancel()
        if response.status_code >= 400:
            raise _graph_error(response, path)
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise UserError(f"Microsoft Graph {path}: the answer is not JSON.") from None
        if not isinstance(data, dict):
            raise UserError(f"Microsoft Graph {path}: unexpected answer (not a JSON object).")
        return data

    def _send(self, method: str, url: str, headers: dict, **kwargs: Any) -> requests.Response:
        host = urlsplit(url).netloc
        try:
            return self._session.request(
                method, url, headers=headers, timeout=self._timeout, **kwargs
            )
        except requests.exceptions.SSLError:
            raise UntrustedCertificate(
                host, "set REQUESTS_CA_BUNDLE to the CA bundle your network uses."
            ) from None
        except requests.exceptions.ProxyError:
            raise UserError(
                f"The proxy refused the connection to {host}: check HTTPS_PROXY."
            ) from None
        except requests.exceptions.Timeout:
            raise UserError(
                f"Microsoft Graph ({host}) did not answer within {self._timeout:g} seconds."
            ) from None
        except requests.exceptions.ConnectionError:
            raise UserError(
                f"Could not connect to Microsoft Graph ({host}): check the network or proxy."
            ) from None

    def _check_cancel(self) -> None:
        self.cancel.check()


def _graph_error(response: requests.Response, path: str) -> GraphError:
    code, message = "", ""
    try:
        error = response.json().get("error") or {}
        code, message = str(error.get("code", "")), str(error.get("message", ""))
    except (ValueError, AttributeError):
        pass
    if response.status_code in RETRY_STATUSES:
        message = message or "still throttled after retries"
    return GraphError(response.status_code, code or response.reason or "", message, path)


def graph_sign_in_config(
    authority: str | None = None,
    client_id: str | None = None,
    *,
    proxy: str | None = None,
    ca_bundle: str | None = None,
    http_timeout: float = 30.0,
) -> SignInConfig:
    """Sign-in settings for Graph: the Graph Command Line Tools client unless told otherwise."""
    return SignInConfig(
        authority=authority or DEFAULT_AUTHORITY,
        client_id=client_id or GRAPH_CLIENT_ID,
        proxy=proxy,
        ca_bundle=ca_bundle,
        http_timeout=http_timeout,
    )


def connect(
    config: SignInConfig,
    permissions: Sequence[str],
    *,
    graph_url: str | None = None,
    on_event: Callable[[object], None],
    cancel: CancelToken,
    deadline: float | None = None,
    sleep: Callable[[float], object] | None = None,
    sign_in_options: dict[str, Any] | None = None,
) -> GraphClient:
    """Sign in for these Graph permissions and return a client; close it after.

    ``sign_in_options`` go to ``tui.entra.signin.sign_in``: ``method="browser"`` (and a test's
    ``open_browser``) for the browser sign-in; the device code otherwise."""
    root = graph_root(config.authority, graph_url)
    session = open_session(config)
    try:
        result = sign_in(
            config,
            scopes_for(root, permissions),
            on_event=on_event,
            cancel=cancel,
            deadline=deadline,
            session=session,
            **(sign_in_options or {}),
        )
    except BaseException:
        session.close()
        raise
    return GraphClient(
        root,
        result.access_token,
        session=session,
        timeout=config.http_timeout,
        cancel=cancel,
        sleep=sleep,
        on_event=on_event,
    )
