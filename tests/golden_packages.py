"""Digests of the packages and customizations.xml files the tests build, for the byte-identity
test (tests/test_byte_identity.py): the same input and time stamp must give the same bytes
whatever the code's layout.

The inputs: every project of the Windows acceptance matrix, test_rules' ``full_project``, and
the project imported from each real package's customizations.xml (tests/fixtures/ppkg/).
Run ``python tests/golden_packages.py`` to record the digests in tests/fixtures/golden/, and
only when a change of the bytes is meant; say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

TESTS = Path(__file__).resolve().parent
GOLDEN = TESTS / "fixtures" / "golden" / "packages.json"
SAMPLES = TESTS / "fixtures" / "ppkg"
SAMPLE_NAMES = ("mosd", "iot-adk-enroll", "iot-adk-prosku", "iot-adk-sampleb-x86")
STAMP = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _projects(work: Path):
    sys.path.insert(0, str(TESTS))
    from test_rules import full_project

    from tui.cli.acceptance import CASES
    from tui.wcd.customizations import read_customizations

    sources = work / "sources"
    sources.mkdir()
    for case in CASES:
        yield f"acceptance/{case.name}", case.make(sources)
    full = work / "full"
    full.mkdir()
    project = full_project(full)
    # full_project's certificate is a new random CA each time: the acceptance kit's is fixed.
    acceptance_cert = next(c for c in CASES if c.name == "certificates").make(sources)
    Path(project.certificates[0].path).write_bytes(
        Path(acceptance_cert.certificates[0].path).read_bytes()
    )
    yield "full_project", project
    for name in SAMPLE_NAMES:
        dest = work / name
        subprocess.run(
            ["wimlib-imagex", "apply", str(SAMPLES / f"{name}.ppkg"), "1", str(dest)],
            check=True,
            capture_output=True,
        )
        data = (dest / "Multivariant/0/customizations.xml").read_bytes()
        yield f"sample/{name}", read_customizations(data, source=name).project


def _relative(project, work: Path):
    """Payload paths relative to the work folder (the current one while building), so that the
    customizations.xml inside the package does not carry the temporary folder's name."""
    prefix = f"{work}/"
    for app in project.applications:
        app.file = app.file.removeprefix(prefix)
        app.dependencies = [d.removeprefix(prefix) for d in app.dependencies]
    for cert in project.certificates:
        cert.path = cert.path.removeprefix(prefix)
    return project


def digests(work: Path) -> dict[str, str]:
    """name -> SHA-256 of each package, and of each project's WCD files (customizations.xml,
    AnswerFile.xml, the .icdproj.xml). Changes the
    current folder to ``work`` while it builds."""
    out = {}
    previous = Path.cwd()
    os.chdir(work)
    try:
        for name, project in _projects(work):
            _add(out, name, _relative(project, work), work)
    finally:
        os.chdir(previous)
    return out


def _add(out: dict, name: str, project, work: Path) -> None:
    from tui.errors import UserError
    from tui.package.build import build_package
    from tui.wcd.customizations import answer_file_xml, icdproj_xml, to_customizations_xml

    package = work / (name.replace("/", "-") + ".ppkg")
    try:
        build_package(project, package, timestamp=STAMP)
    except UserError as e:  # a sample whose payloads are not here: the refusal is kept too
        out[f"{name}.ppkg"] = f"refused: {e}"
    else:
        out[f"{name}.ppkg"] = _sha(package.read_bytes())
    out[f"{name}/customizations.xml"] = _sha(to_customizations_xml(project))
    out[f"{name}/AnswerFile.xml"] = _sha(answer_file_xml(project))
    out[f"{name}/icdproj.xml"] = _sha(icdproj_xml(project))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps(digests(Path(tmp)), indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
