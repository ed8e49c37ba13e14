"""``bulk-enroll inspect PKG.ppkg``: metadata and every setting of any provisioning package."""

from __future__ import annotations

import argparse

NAME = "inspect"
HELP = "Show what a provisioning package (.ppkg) holds: metadata, sources and every setting."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("package", metavar="PKG.ppkg", help="the package to read")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="show the bulk token, passwords and keys instead of masking them",
    )


def run(args: argparse.Namespace) -> int:
    import json

    from tui.package.inspect import describe, read_package, to_json

    info = read_package(args.package, show_secrets=args.show_secrets)
    if args.json:
        print(json.dumps(to_json(info), indent=2, ensure_ascii=False))
    else:
        print(describe(info))
    return 0
