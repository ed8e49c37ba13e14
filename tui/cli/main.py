"""The ``bulk-enroll`` command: no arguments opens the app; subcommands work without the UI."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tui import __version__
from tui.errors import UserError

if TYPE_CHECKING:
    from tui.project.rules import Problem
    from tui.project.session import ProjectSession


# One module per subcommand, in the order ``--help`` lists them.
COMMANDS = (
    "acceptance",
    "build",
    "check",
    "drives",
    "export_wcd",
    "inspect",
    "revoke",
    "token",
    "tokens",
    "verify",
    "write",
)
# The subcommands that act: what each run did goes to the support log, as the app's does.
LOGGED = ("build", "check", "revoke", "token", "verify", "write")


def _command_modules():
    for name in COMMANDS:
        yield importlib.import_module(f"tui.cli.{name}")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="bulk-enroll",
        description="Prepare Windows bulk-enrollment provisioning packages (.ppkg). "
        "Without a subcommand, opens the terminal app; with a project file, opens that project "
        "in it.",
    )
    parser.add_argument("--version", action="version", version=f"bulk-enroll {__version__}")
    parser.add_argument(
        "--log-file",
        action="store_true",
        help="print where the app's log file is (for support; secrets are left out) and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Set after the subparsers exist: their own usage lines are derived from the parser's.
    parser.usage = "%(prog)s [-h] [--version] [--log-file] [PROJECT_FILE | COMMAND ...]"
    handlers = {}
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        handlers[module.NAME] = module.run
    return parser, handlers


def open_project(path: str | Path) -> ProjectSession:
    """A command's project file, opened as the app opens one (``tui.project.session``:
    remembered among the recent projects); its secrets are kept out of the log."""
    from tui.project import session
    from tui.project.logfile import project_secrets, redact_also
    from tui.project.recent import default_config_dir

    opened = session.open_file(Path(path), default_config_dir())
    redact_also(lambda: project_secrets(opened.project))
    return opened


def run_logged(name: str, run: Callable[[argparse.Namespace], int], args) -> int:
    """Run a command that acts with the support log open: what it did, and how it ended
    (an unexpected error with its traceback)."""
    from tui.project.logfile import close_log, default_log_file, log, open_log

    handler = open_log(default_log_file())
    if handler is None:  # no log can be written here: the command works on without one
        return run(args)
    log.info("bulk-enroll %s started", name)
    try:
        status = run(args)
        log.info("bulk-enroll %s finished (exit status %d)", name, status)
        return status
    except UserError as exc:
        log.info("bulk-enroll %s failed: %s", name, exc.message)
        raise
    except KeyboardInterrupt:
        log.info("bulk-enroll %s cancelled", name)
        raise
    except Exception:
        log.exception("bulk-enroll %s failed unexpectedly", name)
        raise
    finally:
        close_log(handler)


def report_problems(problems: Sequence[Problem]) -> int:
    """A subcommand's validation problems: one is a UserError, several are printed one a line."""
    if len(problems) == 1:
        raise UserError(problems[0].message)
    for problem in problems:
        print(f"bulk-enroll: {problem.message}", file=sys.stderr)
    return 2


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines of left-aligned columns, two spaces apart (the first row is the header)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def project_to_open(argv: Sequence[str], commands: Sequence[str]) -> Path | None:
    """``bulk-enroll PROJECT_FILE``: the path when the only argument is not a command or an
    option; a UserError (one sentence) when that file cannot be read."""
    if len(argv) != 1 or argv[0].startswith("-") or argv[0] in commands:
        return None
    path = Path(argv[0])
    if not path.is_file():
        raise UserError(
            f"{argv[0]} is neither a command nor an existing project file "
            "(bulk-enroll --help lists the commands)."
        )
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise UserError(f"The project file {path} cannot be read: {exc.strerror}.") from None
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        open_path = project_to_open(argv, list(handlers))
    except UserError as exc:
        print(f"bulk-enroll: {exc}", file=sys.stderr)
        return 2
    if open_path is not None:
        from tui.app import run_app

        return run_app(open_path=open_path)
    args = parser.parse_args(argv)
    if args.log_file:
        from tui.project.logfile import default_log_file

        print(default_log_file())
        return 0
    try:
        if args.command is None:
            from tui.app import run_app

            return run_app()
        # Started from a shell that ignores SIGINT (a background job, nohup), a command would
        # inherit that and Ctrl+C could not cancel its waits: take Python's own handler back.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if args.command in LOGGED:
            return run_logged(args.command, handlers[args.command], args)
        return handlers[args.command](args)
    except UserError as exc:
        print(f"bulk-enroll: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bulk-enroll: cancelled.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())


def show_progress(text: str) -> None:
    """A step of a sign-in or check, on stderr and in the log (one line there)."""
    from tui.project.logfile import log

    log.info("Sign-in: %s", " ".join(text.split()))
    print(text, file=sys.stderr, flush=True)
