"""``bulk-enroll build SOURCE -o OUT.ppkg``: a provisioning package from a project or a WCD file.

SOURCE is a project file or a WCD customizations.xml (told apart by content), so this is an
``icd.exe /Build-ProvisioningPackage`` for Linux and macOS. Settings of an imported
customizations.xml that bulk-enroll does not model are listed, and the build refuses to drop
them unless ``--drop-unknown`` says so.
"""

from __future__ import annotations

import argparse
import sys

NAME = "build"
HELP = "Build a provisioning package (.ppkg) from a project file or a WCD customizations.xml."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", metavar="SOURCE", help="project file (.bulkenroll.toml) or customizations.xml"
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT.ppkg", required=True, help="the package to write"
    )
    parser.add_argument(
        "--timestamp",
        metavar="ISO",
        help="time stamp stored in the package (default: now); the same project and time "
        "stamp give the same bytes",
    )
    parser.add_argument(
        "--drop-unknown",
        action="store_true",
        help="build even when an imported customizations.xml holds settings bulk-enroll does "
        "not model (they are left out of the package)",
    )


def _warn(text: str) -> None:
    print(f"bulk-enroll: warning: {text}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from tui.cli.main import report_problems
    from tui.package import build as package
    from tui.project import rules
    from tui.project.logfile import log
    from tui.wcd import settings

    stamp = _timestamp(args.timestamp)
    _refuse_overwriting_source(args.source, args.output)
    project, extra = _load_source(args.source, drop_unknown=args.drop_unknown)
    problems = rules.validate(project, today=stamp.date(), for_build=True)
    if problems:
        return report_problems(problems)
    for warning in settings.warnings(project, today=stamp.date()):
        _warn(warning.message)
    if not args.output.lower().endswith(".ppkg"):
        _warn(f"Windows only applies packages named *.ppkg; rename '{args.output}' before use.")
    log.info("Building %s from %s", args.output, args.source)

    result = package.build_package(project, args.output, timestamp=stamp, extra=extra)
    if result.derived:
        print(
            "bulk-enroll: note: these settings use a form derived from Microsoft's CSP "
            "documentation, not yet seen in a WCD-built package (see docs/package-format.md): "
            + ", ".join(result.derived),
            file=sys.stderr,
        )
    print(f"{result.path} ({result.size} bytes, package {result.package_id})")
    return 0


def _refuse_overwriting_source(source: str, output: str) -> None:
    import os

    from tui.errors import UserError

    if os.path.exists(output) and os.path.exists(source) and os.path.samefile(source, output):
        raise UserError(f"Output '{output}' is the source file itself; choose another name.")


def _timestamp(text: str | None):
    from datetime import UTC, datetime

    from tui.errors import UserError
    from tui.package.wim.filetime import FILETIME_EPOCH

    if text is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"--timestamp: '{text}' is not an ISO 8601 time (e.g. 2026-11-30T08:00:00Z)."
        ) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment < FILETIME_EPOCH:
        raise UserError(
            f"--timestamp: '{text}' is before 1601-01-01 UTC, the earliest time a package holds."
        )
    return moment


def _load_source(source: str, *, drop_unknown: bool):
    """The project as a build sees it (``tui.project.session``, as in the app) and the extra
    settings (known to the catalogue, with no field in the model) it holds: a project file
    opened as the app opens one, or an imported customizations.xml; relative payload paths
    resolved against the source's folder."""
    from pathlib import Path

    from tui import safexml
    from tui.cli.main import open_project
    from tui.errors import UserError
    from tui.project import file as projectfile
    from tui.project.logfile import project_secrets, redact_also
    from tui.project.session import for_build
    from tui.safefile import read_regular
    from tui.wcd import customizations

    path = Path(source)
    data = read_regular(path, max(projectfile.MAX_BYTES, safexml.MAX_BYTES), f"Source '{source}'")
    if not safexml.looks_like_xml(data[:512]):
        return open_project(path).snapshot(), []

    result = customizations.read_customizations(data, source=source)
    redact_also(lambda: project_secrets(result.project))
    for unknown in result.unknown:
        _warn(f"{source}: bulk-enroll does not model the setting {unknown}.")
    if result.unknown and not drop_unknown:
        count = len(result.unknown)
        raise UserError(
            f"{source} holds {count} setting{'s' if count > 1 else ''} bulk-enroll does not "
            "model (listed above); build with --drop-unknown to leave them out of the package."
        )
    return for_build(result.project, path), result.extra
