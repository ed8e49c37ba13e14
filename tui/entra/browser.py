"""The browser sign-in: a web browser on this computer, sent back to a local page with the code.

``tui.entra.signin.sign_in`` with ``method="browser"`` runs :func:`browser_flow`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tui.entra.cancel import CancelToken, TimedOut
from tui.errors import UserError


@dataclass(frozen=True, slots=True)
class WaitingForBrowser:
    auth_uri: str


def browser_flow(
    app: Any,
    scopes: Sequence[str],
    on_event: Callable[[object], None],
    cancel: CancelToken,
    deadline: float | None,
    open_browser: Callable[[str], bool],
) -> dict[str, Any]:
    """msal's answer to an authorization code flow the browser here completes."""
    with RedirectReceiver() as receiver:
        # form_post keeps the code out of the browser's address bar and history.
        flow = app.initiate_auth_code_flow(
            list(scopes), redirect_uri=receiver.redirect_uri, response_mode="form_post"
        )
        on_event(WaitingForBrowser(flow["auth_uri"]))
        if not open_browser(flow["auth_uri"]):
            raise UserError(
                "No web browser could be opened here: use the device code sign-in instead.",
                code="no_browser",
            )
        response = receiver.wait(cancel, deadline)
    return app.acquire_token_by_auth_code_flow(flow, response)


class RedirectReceiver:
    """The ``http://localhost:<port>`` page the browser is sent back to with the code.

    It serves from its own thread while it is open, because a terminal browser started
    through $BROWSER blocks ``webbrowser.open`` until it exits.
    """

    def __init__(self) -> None:
        receiver = self
        self.response: dict[str, str] | None = None
        self._arrived = threading.Event()

        class _Handler(BaseHTTPRequestHandler):
            def _answer(self, params: dict[str, list[str]]) -> None:
                if "code" in params or "error" in params:
                    receiver.response = {k: v[0] for k, v in params.items()}
                    receiver._arrived.set()
                    text = b"Sign-in finished. You can close this tab and return to bulk-enroll."
                else:
                    text = b"Waiting for the sign-in answer."
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def do_GET(self) -> None:
                self._answer(parse_qs(urlsplit(self.path).query))

            def do_POST(self) -> None:  # response_mode=form_post
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(parse_qs(self.rfile.read(length).decode()))

            def log_message(self, format: str, *args: object) -> None:
                pass  # the query holds the authorization code

        self._server = HTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.redirect_uri = f"http://localhost:{self._server.server_address[1]}"

    def wait(self, cancel: CancelToken, deadline: float | None) -> dict[str, str]:
        while not self._arrived.wait(0.05):
            cancel.check()
            if deadline is not None and time.monotonic() >= deadline:
                raise TimedOut("Nobody completed the sign-in in time.", code="timeout")
        assert self.response is not None
        return self.response

    def __enter__(self) -> RedirectReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
