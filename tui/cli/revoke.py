"""``bulk-enroll revoke``: delete the project's package user, so its bulk token stops working."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date

from tui.cli.check import add_graph_arguments, graph_url, print_progress, sign_in_config

NAME = "revoke"
HELP = (
    "Revoke the project's bulk token (a lost stick): delete its package user in Entra ID "
    "(asks for User.ReadWrite.All, confirmation by typing the user's name or --yes)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="FILE", required=True, help="project file")
    parser.add_argument(
        "--yes", action="store_true", help="do not ask: delete the package user at once"
    )
    add_graph_arguments(parser)


def confirm(project) -> None:
    """Ask for the package user's name on the terminal; a UserError when it is not given."""
    from tui.entra.revoke import confirmation_text, name_matches, shown_user
    from tui.errors import UserError

    if not sys.stdin.isatty():
        raise UserError(
            "Refusing to delete the package user without confirmation: run revoke in a "
            "terminal, or add --yes."
        )
    print(confirmation_text(project), file=sys.stderr)
    try:
        typed = input(f"Type {shown_user(project)} to delete it: ")
    except EOFError:
        typed = ""
    if not name_matches(project, typed):
        raise UserError("The name typed is not the package user's: nothing was deleted.")


def run(args: argparse.Namespace) -> int:
    from tui.cli.main import open_project
    from tui.entra.revoke import check_not_revoked, record_revoked, result_text, revoke_package_user
    from tui.entra.signin import CancelToken
    from tui.project.logfile import log

    opened = open_project(args.project)
    project = opened.project
    check_not_revoked(project)
    config = sign_in_config(args, project)
    opened.check_can_save()  # the revocation must be recorded
    if not args.yes:
        confirm(project)
    log.info("Revoking the bulk token: deleting the package user %s", project.entra.package_user)
    result = revoke_package_user(
        config,
        project,
        graph_url=graph_url(args, project),
        on_event=print_progress,
        cancel=CancelToken(),
        deadline=time.monotonic() + args.timeout,
    )
    log.info("%s", result_text(result))
    record_revoked(project, date.today())
    path = opened.save()
    log.info("Recorded the revocation in %s", path)
    if args.json:
        print(json.dumps({**result.to_json(), "revoked": date.today().isoformat()}, indent=2))
    else:
        print(result_text(result))
        print(f"Recorded in {path}: building with this token is refused from now on.")
    return 0
