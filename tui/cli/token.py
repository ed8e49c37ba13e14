"""``bulk-enroll token``: sign in with a device code and get the Entra ID bulk token."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from tui.cli.main import show_progress
from tui.project.fieldrules import MAX_TOKEN_DAYS

NAME = "token"
HELP = (
    "Sign in to Entra ID (device code) and get a bulk token: stored into a project file, "
    "or printed as JSON."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expires",
        required=True,
        metavar="YYYY-MM-DD",
        help=f"date the token expires: after today, at most {MAX_TOKEN_DAYS} days away",
    )
    parser.add_argument(
        "--project", metavar="FILE", help="project file to store the token into (owner-only)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print {bprt, package_id, package_user, expires} as JSON on standard output "
        "(the token itself is shown: handle the output as a password)",
    )
    parser.add_argument(
        "--authority",
        metavar="URL",
        help="sign-in authority, https://<login host>/<tenant> (default: the project's login "
        "host, else https://login.microsoftonline.com/organizations); the bulk token "
        "endpoints are on the same host",
    )
    parser.add_argument(
        "--client-id",
        metavar="ID",
        help="public client id to sign in with (default: Windows Configuration Designer's)",
    )
    parser.add_argument(
        "--browser",
        action="store_true",
        help="sign in with a web browser on this computer instead of a device code",
    )
    parser.add_argument("--proxy", metavar="URL", help="HTTP proxy (default: HTTPS_PROXY)")
    parser.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="CA certificates to trust (default: REQUESTS_CA_BUNDLE or SSL_CERT_FILE)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        metavar="SECONDS",
        help="give up after this many seconds, sign-in wait included (default: 1200)",
    )


def parse_expires(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        from tui.errors import UserError

        raise UserError(f'--expires: "{text}" is not a date like 2026-05-31.') from None


def print_progress(event: object) -> None:
    """Progress on standard error; standard output stays for the JSON answer."""
    from tui.entra.bulktoken import CreatingPackageUser, Done, Polling
    from tui.entra.signin import event_text

    if isinstance(event, CreatingPackageUser):
        text = f"Creating the package user package_{event.package_id}…"
    elif isinstance(event, Polling) and event.attempt == 1:
        text = "Waiting for Entra ID to issue the bulk token…"
    elif isinstance(event, Done):
        text = f"Bulk token issued for {event.package_user or 'the package user'}."
    else:
        text = event_text(event)
    if text:
        show_progress(text)


def run(args: argparse.Namespace) -> int:
    from tui.entra.bulktoken import check_expiry, fetch_bulk_token
    from tui.entra.signin import (
        DEFAULT_CLIENT_ID,
        CancelToken,
        SignInConfig,
        authority_for,
        check_timeout,
    )
    from tui.errors import UserError
    from tui.project.logfile import log, redact_also

    if not args.project and not args.json:
        raise UserError("Give --project FILE to store the token, or --json to print it.")
    check_timeout(args.timeout)
    expires = parse_expires(args.expires)
    check_expiry(expires, date.today())
    opened = project = None
    if args.project:
        from tui.cli.main import open_project

        opened = open_project(args.project)
        project = opened.project
        opened.check_can_save()  # the token (and its package user) must not be lost
    conn = project.connection if project else None
    if args.authority or project is None:
        authority = authority_for(args.authority, None)
    else:
        from tui.entra.connection import project_authority

        authority = project_authority(project)
    config = SignInConfig(
        authority=authority,
        client_id=args.client_id or DEFAULT_CLIENT_ID,
        proxy=args.proxy or (conn.proxy.strip() if conn else "") or None,
        ca_bundle=args.ca_bundle or (conn.ca_bundle.strip() if conn else "") or None,
    )
    log.info("Signing in for a bulk token valid until %s", expires)
    token = fetch_bulk_token(
        config,
        expires,
        on_event=print_progress,
        cancel=CancelToken(),
        timeout=args.timeout,
        method="browser" if args.browser else "device_code",
    )
    redact_also(lambda: [token.bprt])
    log.info("Bulk token received, valid until %s", token.expires)
    if opened is not None:
        token.store_in(opened.project.entra)
        path = opened.save()
        log.info("The bulk token is saved in %s", path)
        print(f"Saved the bulk token into {path}.", file=sys.stderr)
    if args.json:
        answer = {
            "bprt": token.bprt,
            "package_id": token.package_id,
            "package_user": token.package_user,
            "expires": token.expires.isoformat(),
        }
        print(json.dumps(answer, indent=2))
    return 0
