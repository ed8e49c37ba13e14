"""``bulk-enroll acceptance``: the Windows acceptance kit.

``acceptance build DIR`` writes one package per setting group plus ``manifest.json``;
``tests/windows/Test-Package.ps1 -Manifest DIR\\manifest.json -Package NAME`` installs one of
them on a Windows VM and adds its results to ``acceptance-report.json``;
``acceptance report REPORT.json`` reads that report back as a table.
See README.md, "Trying a package on Windows".
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tui.errors import UserError
from tui.project.localusers import ADMINISTRATORS
from tui.project.model import Application, Certificate, JoinKind, LocalUser, Project, Wifi

NAME = "acceptance"
HELP = "Build the Windows acceptance packages, or read back a report from Test-Package.ps1."

MANIFEST_FORMAT = "bulk-enroll acceptance manifest"
REPORT_FORMAT = "bulk-enroll acceptance report"
RESULTS = ("applied", "failed", "not seen")
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bulk-enroll:acceptance")

# Placeholders only: the Entra package cannot join anything, and says so in the manifest.
PLACEHOLDER_TOKEN = "PLACEHOLDER-not-a-bulk-token"
WIFI_SSID = "bulk-enroll test net"  # a space, to try the %-escaped CSP node
# The generic (KMS client) key for Windows Enterprise, published by Microsoft; it upgrades
# Pro to Enterprise without activating it.
ENTERPRISE_GENERIC_KEY = "NPPR9-FWDCX-D2C8J-H872K-2YT43"
LOCAL_USER = "acceptadmin"
APP_SCRIPT = "acceptance.cmd"
APP_DEPENDENCY = "acceptance-dependency.txt"
APP_OUTPUT = r"%ProgramData%\bulk-enroll-acceptance\app.txt"

# A self-signed root made for this kit; its private key was discarded when it was made, so
# nothing can be issued under it. Valid 2026-01-01 to 2046-01-01.
TEST_ROOT_DER = base64.b64decode(
    "MIIBmzCCAUCgAwIBAgIUXo9i860uWlpd2Jn7Gemr82qvG/gwCgYIKoZIzj0EAwIwQTE/MD0GA1UEAww2YnVsay1l"
    "bnJvbGwgYWNjZXB0YW5jZSB0ZXN0IHJvb3QgKG5vIHByaXZhdGUga2V5IGtlcHQpMB4XDTI2MDEwMTAwMDAwMFoX"
    "DTQ2MDEwMTAwMDAwMFowQTE/MD0GA1UEAww2YnVsay1lbnJvbGwgYWNjZXB0YW5jZSB0ZXN0IHJvb3QgKG5vIHBy"
    "aXZhdGUga2V5IGtlcHQpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEgqZYQwnhna8hZ+i+UYMjxddd9+Xp7/Ws"
    "uODRCkJ2sfseRXf4LJTQybXQWi35S/+80jS82oiCyiLovh88JMbqFaMWMBQwEgYDVR0TAQH/BAgwBgEB/wIBADAK"
    "BggqhkjOPQQDAgNJADBGAiEAt+kbCFxRNoSQKXprfQLNwHoBwCV+NMwUV9zppXHYf9ACIQCGHLHaBuUvqeqiDIU1"
    "Jyuq3X+8dCj/IJq8WkOyVD4wxw=="
)
APP_SCRIPT_TEXT = (
    "@echo off\r\n"
    'set "OUT=%ProgramData%\\bulk-enroll-acceptance"\r\n'
    'mkdir "%OUT%" 2>nul\r\n'
    'echo command ran in %CD%> "%OUT%\\app.txt"\r\n'
    f'if exist "%~dp0{APP_DEPENDENCY}" (echo dependency found beside the command>> '
    '"%OUT%\\app.txt") else (echo dependency NOT found beside the command>> "%OUT%\\app.txt")\r\n'
    "exit /b 0\r\n"
)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    about: str  # what the package tries, and what to expect
    make: Callable[[Path], Project]
    checks: tuple[dict, ...] = ()  # direct checks Test-Package.ps1 runs on the device


def _base(name: str) -> Project:
    p = Project()
    p.package.name = f"bulk-enroll acceptance {name}"
    p.package.id = "{" + str(uuid.uuid5(ID_NAMESPACE, name)) + "}"
    p.package.description = f"Acceptance test package '{name}' built by bulk-enroll."
    p.join = JoinKind.NONE
    p.hide_oobe = False
    p.allow_all_trusted_apps = False
    return p


def _entra(_: Path) -> Project:
    p = _base("entra")
    p.join = JoinKind.ENTRA
    p.entra.bprt = PLACEHOLDER_TOKEN
    p.hide_oobe = p.allow_all_trusted_apps = True  # the wizard adds these two
    return p


def _ad_join(_: Path) -> Project:
    p = _base("ad-join")
    p.join = JoinKind.ACTIVE_DIRECTORY
    p.domain.domain = "corp.example.com"
    p.domain.account = "CORP\\placeholder-join"
    p.domain.password = "placeholder-password"
    p.domain.ou = "OU=Acceptance,DC=corp,DC=example,DC=com"
    p.device.name = "ACC-%RAND:5%"
    return p


def _wifi(_: Path) -> Project:
    p = _base("wifi")
    p.wifi = Wifi(ssid=WIFI_SSID, key="placeholder-key", auto_connect=False)
    return p


def _certificates(folder: Path) -> Project:
    p = _base("certificates")
    cert = folder / "acceptance-root.cer"
    cert.write_bytes(TEST_ROOT_DER)
    p.certificates = [Certificate("acceptance root", str(cert))]
    return p


def _product_key(_: Path) -> Project:
    p = _base("product-key")
    p.device.product_key = ENTERPRISE_GENERIC_KEY
    return p


def _shared_pc(_: Path) -> Project:
    p = _base("shared-pc")
    p.device.shared_pc = True
    return p


def _remove_preinstalled(_: Path) -> Project:
    p = _base("remove-preinstalled")
    p.device.remove_preinstalled = True
    return p


def _local_user(_: Path) -> Project:
    p = _base("local-user")
    p.local_users = [LocalUser(LOCAL_USER, "Placeholder-Pa55!", ADMINISTRATORS)]
    return p


def _apps(folder: Path) -> Project:
    p = _base("apps")
    (folder / APP_SCRIPT).write_bytes(APP_SCRIPT_TEXT.encode("ascii"))
    (folder / APP_DEPENDENCY).write_bytes(b"a dependency file carried beside the command\r\n")
    p.applications = [
        Application(
            name="Acceptance",
            file=str(folder / APP_SCRIPT),
            command_line=f'cmd /c "{APP_SCRIPT}"',
            dependencies=[str(folder / APP_DEPENDENCY)],
        )
    ]
    return p


_THUMBPRINT = hashlib.sha1(TEST_ROOT_DER).hexdigest().upper()
_DEPENDENCY = "ProvisioningCommands/PrimaryContext/Command/CommandConfig/DependencyPackages"

CASES = (
    Case(
        "entra",
        "Entra join with a PLACEHOLDER bulk token: the join itself must fail (no tenant); "
        "what counts is whether Windows reads the AADJ document.",
        _entra,
    ),
    Case(
        "ad-join",
        "Active Directory join (experimental form) to corp.example.com with placeholder "
        "credentials: the join fails without that domain; what counts is whether Windows "
        "accepts Account, AccountOU, DomainName and Password.",
        _ad_join,
    ),
    Case(
        "wifi",
        "A Wi-Fi profile whose SSID has spaces (the CSP node is %-escaped), manual connect.",
        _wifi,
        ({"setting": "WiFi", "kind": "wlan-profile", "value": WIFI_SSID},),
    ),
    Case(
        "certificates",
        "A root certificate made for this kit (no private key exists) into LocalMachine\\Root.",
        _certificates,
        ({"setting": "Certificates", "kind": "cert-root", "value": _THUMBPRINT},),
    ),
    Case(
        "product-key",
        "Edition upgrade with the generic Enterprise key (Uicc_RunOnce stage): on Pro the "
        "device restarts into Enterprise, not activated. Revert the VM afterwards.",
        _product_key,
        ({"setting": "EditionUpgrade", "kind": "edition", "value": "Enterprise"},),
    ),
    Case(
        "shared-pc",
        "Shared PC mode with AccountModel 0 (no join: guests only) and the account manager.",
        _shared_pc,
        ({"setting": "SharedPC", "kind": "shared-pc", "value": "0"},),
    ),
    Case(
        "remove-preinstalled",
        "CleanPC without retaining user data: RESETS the device (Enterprise/Education only). "
        "Run it last, on a snapshot.",
        _remove_preinstalled,
    ),
    Case(
        "local-user",
        f"A local administrator '{LOCAL_USER}' (file named after the user, as WCD does).",
        _local_user,
        ({"setting": "Accounts/Users", "kind": "local-user", "value": LOCAL_USER},),
    ),
    Case(
        "apps",
        "A command with one dependency file; the command writes "
        f"{APP_OUTPUT} saying whether the dependency was beside it.",
        _apps,
        ({"setting": _DEPENDENCY, "kind": "file-contains", "value": APP_OUTPUT},),
    ),
)


# -- building -------------------------------------------------------------------------------


def document_settings(docs) -> list[dict]:
    """Each placed provxml with its source and the settings (SettingsPath) it carries."""
    from tui.package import compiler as px

    found = []
    for placed in px.place(docs):
        paths = []
        for _, parm in px.walk(placed.doc.roots):
            if parm.settings_path and parm.settings_path not in paths:
                paths.append(parm.settings_path)
        found.append({"file": placed.file_name, "source": placed.doc.source, "settings": paths})
    return found


def build_matrix(directory: Path, *, timestamp) -> dict:
    """Build every package of the matrix into directory; return the manifest."""
    from tui.package import build as package
    from tui.package import compiler as px
    from tui.wcd.settings import mask, project_settings

    sources = directory / "sources"
    sources.mkdir(parents=True, exist_ok=True)
    entries = []
    for case in CASES:
        project = case.make(sources)
        out = directory / f"{case.name}.ppkg"
        result = package.build_package(project, out, timestamp=timestamp)
        keys = {(a.command, a.dependency): a.key for a in package.collect_assets(project)}
        certs = package.read_certificates(project)
        docs = px.project_documents(project, px.Inputs(asset_keys=keys, certificates=certs))
        entries.append(
            {
                "name": case.name,
                "file": out.name,
                "package_id": result.package_id,
                "about": case.about,
                "settings": [
                    {"path": str(s.path), "value": mask(s).value} for s in project_settings(project)
                ],
                "documents": document_settings(docs),
                "derived": result.derived,
                "checks": list(case.checks),
            }
        )
    return {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "built": timestamp.isoformat(),
        "instructions": (
            "Install one package per fresh VM snapshot: Test-Package.ps1 -Manifest "
            "<this file> -Package <name>; revert the VM before the next one. Keep this folder "
            "on a USB stick or shared folder so acceptance-report.json survives the revert."
        ),
        "packages": entries,
    }


# -- the report -------------------------------------------------------------------------------


def _field(obj: object, key: str, where: str, kind: type, source: str):
    if not isinstance(obj, dict) or key not in obj:
        raise UserError(f"{source}: {where} has no '{key}'.")
    value = obj[key]
    if kind is list and isinstance(value, dict):
        value = [value]  # Windows PowerShell 5.1 writes a one-item array as the item itself
    if not isinstance(value, kind):
        raise UserError(f"{source}: {where}.{key} must be a {_KIND_NAMES[kind]}.")
    return value


_KIND_NAMES = {list: "list", str: "text", dict: "object"}


def parse_report(data: bytes, source: str) -> list[dict]:
    """The rows of a Test-Package.ps1 JSON report: [{package, setting, result, evidence}]."""
    try:
        report = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{source} is not a JSON report ({exc}).") from None
    if not isinstance(report, dict) or report.get("format") != REPORT_FORMAT:
        raise UserError(f"{source}: 'format' is not \"{REPORT_FORMAT}\"; is it the JSON report?")
    rows = []
    for i, pkg in enumerate(_field(report, "packages", "the report", list, source)):
        where = f"packages[{i}]"
        name = _field(pkg, "name", where, str, source)
        for j, setting in enumerate(_field(pkg, "settings", where, list, source)):
            at = f"{where}.settings[{j}]"
            path = _field(setting, "path", at, str, source)
            result = _field(setting, "result", at, str, source)
            if result not in RESULTS:
                raise UserError(
                    f"{source}: {at}.result must be applied, failed or not seen (found {result!r})."
                )
            evidence = setting.get("evidence") or ""
            if not isinstance(evidence, str):
                raise UserError(f"{source}: {at}.evidence must be text.")
            rows.append({"package": name, "setting": path, "result": result, "evidence": evidence})
    return rows


def report_lines(rows: list[dict]) -> list[str]:
    from tui.cli.main import table

    if not rows:
        return ["(the report lists no settings)"]
    cells = [["PACKAGE", "SETTING", "RESULT", "EVIDENCE"]]
    cells += [[r["package"], r["setting"], r["result"], _short(r["evidence"])] for r in rows]
    counts = {r: sum(1 for row in rows if row["result"] == r) for r in RESULTS}
    summary = ", ".join(f"{n} {r}" for r, n in counts.items())
    return [*table(cells), "", f"{len(rows)} settings: {summary}."]


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# -- the command --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="acceptance_command", metavar="ACTION", required=True)
    build = sub.add_parser(
        "build",
        help="build one package per setting group into DIR, with manifest.json",
        description="Build the acceptance matrix: one package per setting group and a "
        "manifest.json listing each package and the settings it carries.",
    )
    build.add_argument("directory", metavar="DIR", help="folder to write the packages to")
    build.add_argument(
        "--timestamp", metavar="ISO", help="time stamp stored in the packages (default: now)"
    )
    report = sub.add_parser(
        "report",
        help="read a Test-Package.ps1 JSON report back as a table",
        description="Show, per package and setting, whether Windows applied it, failed it, "
        "or did not say.",
    )
    report.add_argument("report", metavar="REPORT.json", help="the report Test-Package.ps1 wrote")
    report.add_argument("--json", action="store_true", help="print the rows as JSON")


def run(args: argparse.Namespace) -> int:
    if args.acceptance_command == "build":
        return _run_build(args)
    return _run_report(args)


def _run_build(args: argparse.Namespace) -> int:
    from tui.cli.build import _timestamp
    from tui.safefile import write_atomic

    stamp = _timestamp(args.timestamp)
    directory = Path(args.directory)
    if directory.exists() and not directory.is_dir():
        raise UserError(f"DIR '{directory}' is a file; give a folder.")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"Cannot create folder '{directory}': {exc.strerror or exc}.") from exc
    manifest = build_matrix(directory, timestamp=stamp)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    write_atomic(directory / "manifest.json", text.encode("utf-8"))
    for entry in manifest["packages"]:
        print(f"{directory / entry['file']}  {entry['about']}")
    print(f"{directory / 'manifest.json'} ({len(manifest['packages'])} packages)")
    return 0


def _run_report(args: argparse.Namespace) -> int:
    try:
        data = Path(args.report).read_bytes()
    except OSError as exc:
        raise UserError(f"Cannot read report '{args.report}': {exc.strerror or exc}.") from exc
    rows = parse_report(data, args.report)
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print("\n".join(report_lines(rows)))
    return 0
