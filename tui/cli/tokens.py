"""``bulk-enroll tokens``: the bulk tokens of the recent projects, soonest to run out first."""

from __future__ import annotations

import argparse
import json
from datetime import date

NAME = "tokens"
HELP = (
    "List the bulk tokens of the recent projects (name, project file, package user, expiry, "
    "days left), the one that runs out first at the top; the tokens themselves are never shown."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def run(args: argparse.Namespace) -> int:
    from tui.cli.main import table
    from tui.project.recent import default_config_dir
    from tui.project.tokens import days_text, token_register

    entries = token_register(default_config_dir(), date.today())
    if args.json:
        print(json.dumps({"tokens": [e.to_json() for e in entries]}, indent=2))
        return 0
    if not entries:
        print("No recent projects: open or create one in the app first.")
        return 0
    rows = [("Name", "Expires", "Days left", "Package user", "Project file")]
    rows += [
        (
            e.name,
            e.expires.isoformat() if e.expires else "-",
            days_text(e),
            e.package_user or "-",
            str(e.project_file),
        )
        for e in entries
    ]
    print("\n".join(table(rows)))
    return 0
