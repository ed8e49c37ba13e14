"""``bulk-enroll check``: is the tenant ready for bulk enrollment? (read-only, Microsoft Graph)"""

from __future__ import annotations

import argparse
import json
import time

from tui.cli.main import show_progress

NAME = "check"
HELP = "Check that the Entra ID tenant is ready for bulk enrollment (signs in to Microsoft Graph)."


def add_graph_arguments(parser: argparse.ArgumentParser) -> None:
    """The sign-in and output options ``check`` and ``verify`` share."""
    parser.add_argument(
        "--authority",
        metavar="URL",
        help="sign-in authority, https://<login host>/<tenant> "
        "(default: the project's login host, else https://login.microsoftonline.com/organizations)",
    )
    parser.add_argument(
        "--graph-url",
        metavar="URL",
        help="Microsoft Graph address (default: the one matching the login host)",
    )
    parser.add_argument(
        "--client-id",
        metavar="ID",
        help="public client id for the Graph sign-in (default: Microsoft Graph Command Line Tools)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="give up when nobody signs in within this time (default: 900)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON on standard output"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        metavar="FILE",
        help="project file: its login host is used for sign-in, and its package user (once the "
        "bulk token exists) is checked too",
    )
    add_graph_arguments(parser)


def sign_in_config(args: argparse.Namespace, project=None):
    """The Graph sign-in: the options, else the project's tenant connection
    (tui.entra.connection)."""
    from tui.entra.graph import graph_sign_in_config
    from tui.entra.signin import authority_for, check_timeout

    check_timeout(args.timeout)
    if args.authority or project is None:
        authority = authority_for(args.authority, None)
    else:
        from tui.entra.connection import project_authority

        authority = project_authority(project)
    conn = project.connection if project is not None else None
    return graph_sign_in_config(
        authority,
        args.client_id,
        proxy=(conn.proxy.strip() if conn else "") or None,
        ca_bundle=(conn.ca_bundle.strip() if conn else "") or None,
    )


def graph_url(args: argparse.Namespace, project=None) -> str | None:
    """--graph-url, else the project connection's Graph address, else None (the cloud's)."""
    from tui.entra.connection import graph_url as connection_graph_url

    if args.graph_url or project is None:
        return args.graph_url
    return connection_graph_url(project.connection)


def print_progress(event: object) -> None:
    """Sign-in and check progress on standard error (standard output stays for results)."""
    from tui.entra.graph import Waiting
    from tui.entra.readiness import Checking
    from tui.entra.signin import event_text

    if isinstance(event, Checking):
        text = f"Checking {event.name}..."
    elif isinstance(event, Waiting):
        text = f"Microsoft Graph asks to wait {event.seconds:g} s before the next request..."
    else:
        text = event_text(event)
    if text:
        show_progress(text)


def log_checks(checks) -> None:
    """Each check's outcome in the support log (its reason too: no secret is in one)."""
    from tui.project.logfile import log

    for check in checks:
        log.info("%s: %s. %s", check.name, check.status, check.reason)


def run(args: argparse.Namespace) -> int:
    from tui.entra.readiness import exit_status, render_checks, run_readiness
    from tui.entra.signin import CancelToken
    from tui.project.logfile import log

    project = None
    if args.project:
        from tui.cli.main import open_project

        project = open_project(args.project).project
    config = sign_in_config(args, project)
    log.info("Checking the tenant at %s", config.authority)
    checks = run_readiness(
        config,
        graph_url=graph_url(args, project),
        on_event=print_progress,
        cancel=CancelToken(),
        deadline=time.monotonic() + args.timeout,
        project=project,
    )
    log_checks(checks)
    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks]}, indent=2))
    else:
        print(render_checks(checks))
    return exit_status(checks)
