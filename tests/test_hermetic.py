"""The suite reads nothing outside the repository: not the shared samples beside our own
checkouts, not a sibling folder. The audit hook in conftest.py watches this process; this
file checks the hook works and scans the sources that run in subprocesses (scripts, CI)."""

import hashlib
import re
from contextlib import suppress

import conftest
from conftest import REPO, SAMPLES

SOURCES = [
    *REPO.glob("tests/**/*.py"),
    *REPO.glob("tests/**/*.ps1"),
    *REPO.glob("tui/**/*.py"),
    REPO / ".ci" / "run",
    REPO / "pyproject.toml",
]
OUTSIDE = re.compile(r"\.\./shared|/work/|shared/samples|shared/reference|parent\.parent\.parent")

FIXTURES = {
    "iot-adk-sampleb-x86.ppkg": (
        5201,
        "84d3a65940ffb2cc7a0c881bf9ab04a319ca2f1c1ed0d646241fb54bfb98d65c",
    ),
    "iot-adk-enroll.ppkg": (
        5431,
        "cc3022de49cf091059779007c21b1440da7f786ba23f7077320bef531e9042de",
    ),
    "iot-adk-prosku.ppkg": (
        11997,
        "d0090e8832d272b574e7a4391eaaf7191a0923a76b66e5dfe4245b98c6ab7c70",
    ),
    "mosd.ppkg": (8922, "12f993978ab5f0ea93a32adac92ccd631d8ad6a15ae65f6f221e07b25f436cff"),
}


def test_no_source_names_a_path_outside_the_repository():
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in SOURCES
        if path.name != "test_hermetic.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_audit_hook_sees_a_read_beside_the_repository(tmp_path):
    before = len(conftest.reached_outside())
    beside = REPO.parent / "surely-not-here-bulk-enroll"
    with suppress(OSError):
        open(beside)  # noqa: SIM115 - the attempt alone is what the hook must see
    seen = conftest.reached_outside()
    assert seen[before:] == [str(beside)]
    conftest._REACHED_OUTSIDE[before:] = []  # this one was on purpose
    open(REPO / "pyproject.toml").close()
    open(tmp_path / "x", "w").close()
    assert conftest.reached_outside() == seen[:before]


def test_sample_packages_are_in_the_repository_with_their_provenance():
    assert SAMPLES.is_relative_to(REPO)
    found = {p.name: p for p in SAMPLES.glob("*.ppkg")}
    assert sorted(found) == sorted(FIXTURES)
    sources = (SAMPLES / "SOURCES.md").read_text(encoding="utf-8")
    for name, (size, sha256) in FIXTURES.items():
        data = found[name].read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256)
        assert f"| {name} | {size} | {sha256} |" in sources
    for field in ("Repository:", "Path:", "Commit:", "Licence: MIT", "Copyright: "):
        assert sources.count(field) == len(FIXTURES), field
