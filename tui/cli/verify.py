"""``bulk-enroll verify``: did the provisioned devices join, owned by the package user?"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

from tui.cli.check import (
    add_graph_arguments,
    graph_url,
    log_checks,
    print_progress,
    sign_in_config,
)

NAME = "verify"
HELP = "List the devices the project's package user joined to Entra ID and flag problems."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", metavar="FILE", required=True, help="project file")
    add_graph_arguments(parser)


def render_devices(devices) -> str:
    """A small table: name, join type, OS, registration date, MDM, compliance."""
    from tui.cli.main import table

    rows = [("Device", "Join type", "OS", "Registered", "MDM", "Compliant")]
    for d in devices:
        compliant = {True: "yes", False: "NO", None: "?"}[d.compliant]
        registered = d.registered.date().isoformat() if d.registered else "?"
        rows.append((d.name, d.join_type, d.os, registered, d.mdm or "?", compliant))
    return "\n".join(table(rows))


def run(args: argparse.Namespace) -> int:
    from tui.cli.main import open_project
    from tui.entra.enrollment import verify_enrollment
    from tui.entra.readiness import exit_status, render_checks
    from tui.entra.signin import CancelToken
    from tui.project.logfile import log

    project = open_project(args.project).project
    config = sign_in_config(args, project)
    log.info("Verifying the enrollment of %s", project.entra.package_user or "the package user")
    report = verify_enrollment(
        config,
        project,
        today=date.today(),
        graph_url=graph_url(args, project),
        on_event=print_progress,
        cancel=CancelToken(),
        deadline=time.monotonic() + args.timeout,
    )
    log.info("Devices the package user joined: %d", len(report.devices))
    log_checks(report.checks)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(f"Package user: {report.package_user}")
        if report.devices:
            print(render_devices(report.devices))
        print(render_checks(report.checks))
    return exit_status(report.checks)
