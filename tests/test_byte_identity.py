"""Same input and time stamp, same bytes: the packages and customizations.xml files built from
the acceptance matrix, test_rules' full project and the real packages' own customizations.xml
match the digests recorded in tests/fixtures/golden/packages.json (see golden_packages.py)."""

import json

from golden_packages import GOLDEN, digests


def test_packages_are_byte_identical_to_the_recorded_ones(tmp_path):
    expected = json.loads(GOLDEN.read_text())
    got = digests(tmp_path)
    assert sorted(got) == sorted(expected)
    changed = [name for name in expected if got[name] != expected[name]]
    assert changed == []


def test_the_digests_do_not_depend_on_the_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a-longer-folder-name").mkdir()
    assert digests(tmp_path / "a") == digests(tmp_path / "a-longer-folder-name")
