"""The Windows acceptance kit: the matrix builds and reads back, the report reads as a table."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tui.cli import acceptance
from tui.cli.main import main
from tui.package.inspect import read_package

FIXTURE = Path(__file__).parent / "fixtures" / "acceptance" / "acceptance-report.json"
STAMP = "2026-12-01T08:00:00Z"


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    out = tmp_path_factory.mktemp("acceptance")
    assert main(["acceptance", "build", str(out), "--timestamp", STAMP]) == 0
    return out, json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_the_matrix_covers_every_setting_group(matrix):
    _, manifest = matrix
    assert manifest["format"] == acceptance.MANIFEST_FORMAT
    names = [p["name"] for p in manifest["packages"]]
    assert names == [
        "entra",
        "ad-join",
        "wifi",
        "certificates",
        "product-key",
        "shared-pc",
        "remove-preinstalled",
        "local-user",
        "apps",
    ]
    by_name = {p["name"]: p for p in manifest["packages"]}
    assert "PLACEHOLDER" in by_name["entra"]["about"]
    wifi_settings = [s["path"] for s in by_name["wifi"]["settings"]]
    assert (
        f"ConnectivityProfiles/WLAN/WLANSetting/WLANConfig[{acceptance.WIFI_SSID}]"
        in (wifi_settings[0])
    )
    assert " " in acceptance.WIFI_SSID
    sources = {d["source"] for d in by_name["product-key"]["documents"]}
    assert sources == {"Uicc_RunOnce"}
    assert [d["file"] for d in by_name["local-user"]["documents"]] == [
        f"0__Accounts_Users_{acceptance.LOCAL_USER}.provxml"
    ]
    assert any(
        "DependencyPackages" in s for d in by_name["apps"]["documents"] for s in d["settings"]
    )


def test_every_package_reads_back_and_wimlib_verifies_it(matrix):
    out, manifest = matrix
    for entry in manifest["packages"]:
        pkg = out / entry["file"]
        subprocess.run(["wimlib-imagex", "verify", str(pkg)], check=True, capture_output=True)
        info = read_package(str(pkg))
        assert info.package_id == entry["package_id"]
        files = [d.set.file.rsplit("/", 1)[-1] for d in info.documents]
        assert files == [d["file"] for d in entry["documents"]]


def test_the_manifest_holds_no_secret(matrix):
    out, _ = matrix
    text = (out / "manifest.json").read_text(encoding="utf-8")
    for secret in (acceptance.PLACEHOLDER_TOKEN, "placeholder-password", "placeholder-key"):
        assert secret not in text


def test_rebuilding_in_the_same_folder_gives_the_same_packages(tmp_path):
    assert main(["acceptance", "build", str(tmp_path), "--timestamp", STAMP]) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.glob("*.ppkg")}
    assert main(["acceptance", "build", str(tmp_path), "--timestamp", STAMP]) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.ppkg")} == first
    assert len(first) == len(acceptance.CASES)


def test_report_reads_back_as_a_table(capsys):
    assert main(["acceptance", "report", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["PACKAGE", "SETTING", "RESULT", "EVIDENCE"]
    assert any(line.startswith("wifi") and " applied " in line for line in lines)
    # a one-item "settings" object (as PowerShell 5.1 writes it) is read as a list
    assert any(line.startswith("certificates") and " failed " in line for line in lines)
    assert "5 settings: 2 applied, 1 failed, 2 not seen." in out


def test_report_as_json(capsys):
    assert main(["acceptance", "report", str(FIXTURE), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[2] == {
        "package": "shared-pc",
        "setting": "SharedPC/AccountManagement/AccountModel",
        "result": "not seen",
        "evidence": "",
    }


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "is not a JSON report"),
        (b'{"format": "something else"}', "'format' is not"),
        (b'{"format": "bulk-enroll acceptance report"}', "the report has no 'packages'"),
        (
            b'{"format": "bulk-enroll acceptance report", "packages": [{"name": "x", '
            b'"settings": [{"path": "A/B", "result": "ok"}]}]}',
            "packages[0].settings[0].result must be applied, failed or not seen (found 'ok')",
        ),
        (
            b'{"format": "bulk-enroll acceptance report", "packages": [{"name": 3}]}',
            "packages[0].name must be a text",
        ),
    ],
)
def test_a_bad_report_is_one_sentence_and_exit_2(tmp_path, capsys, content, expected):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert main(["acceptance", "report", str(bad)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_missing_report_and_a_file_as_dir_are_user_errors(tmp_path, capsys):
    assert main(["acceptance", "report", str(tmp_path / "none.json")]) == 2
    (tmp_path / "file").write_text("x")
    assert main(["acceptance", "build", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err
    assert "Cannot read report" in err and "is a file" in err


def test_the_fixture_says_it_is_hand_made():
    assert "HAND-MADE" in json.loads(FIXTURE.read_text(encoding="utf-8"))["note"]
    assert shutil.which("wimlib-imagex")
