"""``bulk-enroll export-wcd PROJECT DIR``: a WCD project folder a Windows colleague can open."""

from __future__ import annotations

import argparse

NAME = "export-wcd"
HELP = (
    "Write a project as a Windows Configuration Designer project folder "
    "(customizations.xml and <name>.icdproj.xml)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="the project file (.bulkenroll.toml)")
    parser.add_argument("directory", metavar="DIR", help="the folder to write (created if needed)")


def run(args: argparse.Namespace) -> int:
    from datetime import date
    from pathlib import Path

    from tui.cli.main import open_project, report_problems
    from tui.project.rules import validate
    from tui.wcd.customizations import export_wcd

    project = open_project(args.project).snapshot()  # payload paths as a build has them
    problems = validate(project, today=date.today(), for_build=False)
    if problems:
        return report_problems(problems)
    for path in export_wcd(project, Path(args.directory)):
        print(path)
    return 0
