"""A local HTTPS fake of the Microsoft identity platform, for tests with the real msal.

It speaks TLS with a throw-away CA (``trustme``), because msal accepts only https
authorities. Out of the box it serves:

- OIDC discovery: ``/<tenant>/v2.0/.well-known/openid-configuration``
- device code:    ``POST /<tenant>/oauth2/v2.0/devicecode``
- token:          ``POST /<tenant>/oauth2/v2.0/token`` (device-code, auth-code and
  refresh-token grants), answering from ``token_script``
- authorize:      ``GET /<tenant>/oauth2/v2.0/authorize`` (redirects straight back
  with a code, as if the user had signed in)
- bulk token:     ``POST /webapp/bulkaadjtoken/begin`` and ``GET .../poll``, answering
  from ``begin_script`` and ``poll_script``

Scripts are lists consumed one item per request; when one item is left it repeats.
Other fakes (e.g. Microsoft Graph) add their own endpoints with :meth:`route`::

    @server.route("GET", "/v1.0/organization")
    def organization(request: Request) -> Reply:
        return Reply.json({"value": []})

Every request is recorded in ``server.calls``; bearer-protected routes check the
``Authorization`` header against the access tokens the fake has issued.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import re
import secrets
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import trustme

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float = 0.0  # time.monotonic() when it arrived

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else None


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})

    @classmethod
    def text(cls, text: str, status: int = 200) -> Reply:
        return cls(status, text.encode(), {"Content-Type": "text/plain"})

    @classmethod
    def redirect(cls, location: str) -> Reply:
        return cls(302, b"", {"Location": location})

    @classmethod
    def dropped(cls) -> Reply:
        return cls(drop=True)


Handler = Callable[[Request], Reply]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT with the right shape; nobody in these tests checks signatures."""
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(b'sig')}"


# --- bulkaadjtoken answers -------------------------------------------------------------


def bulk_started(flow_token: str = "AQABflow") -> Reply:
    return Reply.json({"flowToken": flow_token, "state": "Started", "resultData": None})


def bulk_error(error: str, description: str, state: str = "CompleteError") -> Reply:
    result = json.dumps({"error": error, "error_description": description})
    return Reply.json({"flowToken": None, "state": state, "resultData": result})


def bulk_aadsts(code: int, text: str = "Something went wrong.") -> Reply:
    return bulk_error(
        "invalid_request", f"AADSTS{code}: {text}\r\nTrace ID: 0\r\nCorrelation ID: 0"
    )


# What a process takes a CA bundle from besides its options (requests, curl, OpenSSL).
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def environment_without_tls_settings() -> dict[str, str]:
    """This process's environment with no CA bundle and no proxy in it: for a command that
    must reach the fake server through the project's tenant connection alone."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in CA_VARIABLES and not k.lower().endswith("_proxy")
    }


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-reply (a cancelled sign-in) is not an error of the server:
    socketserver would print its traceback into the test run's output."""

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            super().handle_error(request, client_address)


class FakeIdentityServer:
    """Start with ``with FakeIdentityServer(tmp_path) as server:``."""

    def __init__(self, tmp_path: Path, *, tenant_id: str | None = None) -> None:
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.domain = "contoso.example"
        self.username = f"admin@{self.domain}"
        self.user_code = "FAKE-CODE"
        self.device_code_expires_in = 900
        self.interval = 1  # seconds, as sent to the client
        # Secrets handed out; tests assert they never leak.
        self.access_tokens: set[str] = set()
        self.refresh_token = "fake-refresh-" + secrets.token_urlsafe(24)
        self.bprt = "fake-bprt-" + secrets.token_urlsafe(32)
        self.package_users: dict[str, str] = {}  # pid -> upn created by begin/poll
        # Scripts (see module docstring).
        self.token_script: list[str | dict] = ["authorization_pending"]
        self.begin_script: list[Reply | None] = [None]  # None: a normal Started answer
        self.poll_script: list[Reply | None] = [bulk_started(), None]  # None: success
        self.calls: list[Request] = []
        self._nonces: dict[str, str] = {}
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._lock = threading.Lock()
        self._ca = trustme.CA()
        self.ca_bundle = tmp_path / "fake-identity-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_bundle))
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._install_default_routes()

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FakeIdentityServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        server = _QuietServer(("127.0.0.1", 0), _handler_class(self))
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(5)
            self._server = None

    @property
    def host(self) -> str:
        """The login host, with port: the bulk endpoints live here too."""
        assert self._server is not None, "server not started"
        return f"localhost:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"https://{self.host}"

    def authority(self, tenant: str = "organizations") -> str:
        return f"{self.base_url}/{tenant}"

    # --- routing -----------------------------------------------------------------------

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register a handler for ``method`` and a path regex (full match); last wins."""

        def register(handler: Handler) -> Handler:
            with self._lock:
                self._routes.insert(0, (method.upper(), re.compile(path), handler))
            return handler

        return register

    def calls_to(self, path_suffix: str) -> list[Request]:
        with self._lock:
            return [c for c in self.calls if c.path.endswith(path_suffix)]

    def approve_after(self, polls: int) -> None:
        """The user signs in after ``polls`` token requests answered authorization_pending."""
        self.token_script = ["authorization_pending"] * polls + ["success"]

    def handle(self, request: Request) -> Reply:
        with self._lock:
            self.calls.append(request)
            routes = list(self._routes)
        for method, pattern, handler in routes:
            if method == request.method and pattern.fullmatch(request.path):
                return handler(request)
        return Reply.json({"error": "not_found", "error_description": request.path}, 404)

    def _next(self, script: list) -> Any:
        with self._lock:
            return script.pop(0) if len(script) > 1 else script[0]

    # --- the identity platform ---------------------------------------------------------

    def _install_default_routes(self) -> None:
        tenant = r"/(?P<tenant>[^/]+)"
        self.route("GET", tenant + r"/v2\.0/\.well-known/openid-configuration")(self._discovery)
        self.route("POST", tenant + r"/oauth2/v2\.0/devicecode")(self._devicecode)
        self.route("POST", tenant + r"/oauth2/v2\.0/token")(self._token)
        self.route("GET", tenant + r"/oauth2/v2\.0/authorize")(self._authorize)
        self.route("POST", r"/webapp/bulkaadjtoken/begin")(self._begin)
        self.route("GET", r"/webapp/bulkaadjtoken/poll")(self._poll)

    def _tenant_of(self, request: Request) -> str:
        return request.path.split("/")[1]

    def _discovery(self, request: Request) -> Reply:
        base = f"{self.base_url}/{self._tenant_of(request)}"
        return Reply.json(
            {
                "issuer": f"{self.base_url}/{self.tenant_id}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "tenant_region_scope": "EU",
            }
        )

    def _devicecode(self, request: Request) -> Reply:
        form = request.form
        if not form.get("client_id"):
            return Reply.json({"error": "invalid_request"}, 400)
        verification_uri = f"{self.base_url}/devicelogin"
        return Reply.json(
            {
                "user_code": self.user_code,
                "device_code": "device-" + secrets.token_urlsafe(16),
                "verification_uri": verification_uri,
                "expires_in": self.device_code_expires_in,
                "interval": self.interval,
                "message": f"To sign in, use a web browser to open the page {verification_uri} "
                f"and enter the code {self.user_code} to authenticate.",
            }
        )

    def _authorize(self, request: Request) -> Reply:
        """The user is signed in at once; the answer goes back as Entra sends it."""
        query = request.query
        code = "authcode-" + secrets.token_urlsafe(8)
        with self._lock:
            self._nonces[code] = query.get("nonce", "")
        params = {"code": code, "state": query.get("state", "")}
        if query.get("response_mode") == "form_post":  # an auto-submitting HTML form
            fields = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(v)}"/>'
                for k, v in params.items()
            )
            page = (
                f'<html><body onload="document.forms[0].submit()"><form method="post" '
                f'action="{html.escape(query["redirect_uri"])}">{fields}</form></body></html>'
            )
            return Reply(200, page.encode(), {"Content-Type": "text/html"})
        return Reply.redirect(f"{query['redirect_uri']}?{urlencode(params)}")

    def _token(self, request: Request) -> Reply:
        form = request.form
        nonce = None
        if form.get("grant_type") == DEVICE_CODE_GRANT:
            step = self._next(self.token_script)
        else:  # authorization_code or refresh_token: the user is already signed in
            step = "success"
            with self._lock:
                nonce = self._nonces.pop(form.get("code", ""), None)
        if isinstance(step, dict):
            return Reply.json(step, 400)
        if step != "success":
            return Reply.json(
                {
                    "error": step,
                    "error_description": f"AADSTS70016: fake {step}.",
                    "error_codes": [70016],
                },
                400,
            )
        return Reply.json(self._tokens(form.get("client_id", ""), nonce))

    def _tokens(self, client_id: str, nonce: str | None = None) -> dict[str, Any]:
        access_token = "fake-access-" + secrets.token_urlsafe(24)
        with self._lock:
            self.access_tokens.add(access_token)
        now = int(time.time())
        oid = str(uuid.uuid5(uuid.NAMESPACE_DNS, self.username))
        id_token = unsigned_jwt(
            {
                "aud": client_id,
                "iss": f"{self.base_url}/{self.tenant_id}/v2.0",
                "iat": now,
                "nbf": now,
                "exp": now + 3600,
                "name": "Fake Admin",
                "oid": oid,
                "preferred_username": self.username,
                "sub": "fake-subject",
                "tid": self.tenant_id,
                "ver": "2.0",
                **({"nonce": nonce} if nonce else {}),
            }
        )
        client_info = _b64url(json.dumps({"uid": oid, "utid": self.tenant_id}).encode())
        return {
            "token_type": "Bearer",
            "scope": "urn:ms-drs:enterpriseregistration.windows.net/.default",
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": access_token,
            "refresh_token": self.refresh_token,
            "id_token": id_token,
            "client_info": client_info,
        }

    # --- bulkaadjtoken -----------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        with self._lock:
            return request.bearer in self.access_tokens

    def _begin(self, request: Request) -> Reply:
        if not self._authorized(request):
            return Reply.json({"error": "invalid_token"}, 401)
        body = request.json
        if not {"pid", "name", "exp"} <= set(body or {}):
            return Reply.json({"error": "invalid_request"}, 400)
        with self._lock:
            self.package_users[body["pid"]] = f"{body['name']}@{self.domain}"
        reply = self._next(self.begin_script)
        return reply or bulk_started("AQABflow-" + body["pid"])

    def _poll(self, request: Request) -> Reply:
        if not self._authorized(request):
            return Reply.json({"error": "invalid_token"}, 401)
        reply = self._next(self.poll_script)
        return reply or self._bulk_success(request.query.get("flowToken", ""))

    def _bulk_success(self, flow_token: str) -> Reply:
        pid = flow_token.removeprefix("AQABflow-")
        with self._lock:
            upn = self.package_users.get(pid, f"package_{pid}@{self.domain}")
        now = int(time.time())
        id_token = unsigned_jwt(
            {"aud": "b90d5b8f-5503-4153-b545-b31cecfaece2", "upn": upn, "tid": self.tenant_id}
        )
        result = {
            "token_type": "Bearer",
            "expires_in": "599",
            "ext_expires_in": "0",
            "expires_on": str(now + 599),
            "refresh_token": self.bprt,
            "refresh_token_expires_in": 15552000,
            "id_token": id_token,
        }
        return Reply.json(
            {"flowToken": None, "state": "CompleteSuccess", "resultData": json.dumps(result)}
        )


def _handler_class(fake: FakeIdentityServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(
                method=self.command,
                path=url.path,
                query={k: v[0] for k, v in parse_qs(url.query).items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
                at=time.monotonic(),
            )
            reply = fake.handle(request)
            if reply.drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return _Handler


class ConnectProxy:
    """A minimal HTTPS proxy (HTTP CONNECT tunnels) that records where clients went."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> ConnectProxy:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._spawn(self._tunnel, client)

    def _tunnel(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            target = head.split(b" ")[1].decode()
            self.tunnels.append(target)
            host, port = target.rsplit(":", 1)
            with socket.create_connection((host, int(port))) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(client, upstream)

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(a, selectors.EVENT_READ, b)
            selector.register(b, selectors.EVENT_READ, a)
            while not self._stop.is_set():
                for key, _ in selector.select(0.05):
                    try:
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if not data:
                            return
                        key.data.sendall(data)
                    except OSError:
                        return


@contextlib.contextmanager
def trusted_identity_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A running fake, trusted through REQUESTS_CA_BUNDLE (this machine sets its own),
    with no proxy variables. Use it in a fixture::

        @pytest.fixture
        def identity(tmp_path, monkeypatch):
            with trusted_identity_server(tmp_path, monkeypatch) as server:
                yield server
    """
    with FakeIdentityServer(tmp_path) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.ca_bundle))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.delenv(name, raising=False)
        yield server
