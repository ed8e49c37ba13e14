"""The log file for support: what the app did (sign-ins, builds, writes) and every error
with its traceback, with the secrets taken out.

It lives in the XDG state folder (``$XDG_STATE_HOME/bulk-enroll/bulk-enroll.log``, else
``~/.local/state/bulk-enroll/``), is rotated, and is created owner-only (0600). Every line
goes through a redacting filter: the project's secrets (bulk token, passwords, Wi-Fi keys)
and anything shaped like a JSON Web Token become ``[redacted]``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tui.project.model import Project

LOGGER = "bulk_enroll"
FILE_NAME = "bulk-enroll.log"
MAX_BYTES = 1 << 20
BACKUPS = 3
REDACTED = "[redacted]"
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}(?:\.[\w-]*)?")
MIN_SECRET = 4  # shorter values would redact ordinary words

log = logging.getLogger(LOGGER)


def default_log_file() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "bulk-enroll" / FILE_NAME


def project_secrets(project: Project | None) -> list[str]:
    """Every secret a project holds, kept aside ones included."""
    if project is None:
        return []
    values = [project.entra.bprt, project.domain.password]
    values += [u.password for u in project.local_users]
    values += [w.key for w in (project.wifi, project.wifi_aside) if w is not None]
    values.append(_proxy_password(project.connection.proxy))
    return [v for v in values if v]


def _proxy_password(proxy: str) -> str | None:
    """The password in a proxy address (``http://user:password@proxy:3128``), if any."""
    try:
        password = urlsplit(proxy.strip()).password
    except ValueError:
        return None
    return unquote(password) if password else None


class Redactor(logging.Filter):
    """Replaces secrets in a record's message and traceback; ``sources`` give them."""

    def __init__(self, sources: Iterable[Callable[[], Iterable[str]]] = ()) -> None:
        super().__init__()
        self.sources = list(sources)

    def redact(self, text: str) -> str:
        secrets = {s for source in self.sources for s in source() if len(s) >= MIN_SECRET}
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _JWT.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    def _open(self):  # every file it starts, the rotated ones too, is owner-only
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def open_log(
    path: Path | None = None, secrets: Callable[[], Iterable[str]] = lambda: ()
) -> logging.Handler | None:
    """Start logging to ``path`` (default: the XDG state folder); None when it cannot be
    created (the app works on without a log)."""
    path = path or default_log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = _PrivateRotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError:
        return None
    handler.addFilter(Redactor([secrets]))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def redact_also(secrets: Callable[[], Iterable[str]]) -> None:
    """Every open log also leaves out what ``secrets`` gives (e.g. a project a command opened)."""
    for handler in log.handlers:
        for redactor in handler.filters:
            if isinstance(redactor, Redactor):
                redactor.sources.append(secrets)


def close_log(handler: logging.Handler | None) -> None:
    if handler is not None:
        log.removeHandler(handler)
        handler.close()
