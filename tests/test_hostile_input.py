"""Issue 12: hostile and odd input costs bounded time and memory, ends in one sentence naming the
file, replaces nothing that is not a regular file and leaves no temporary file behind."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz.hostile import customizations, package_tree, provxml, wim_bytes
from test_hostile_fuzz import hang_guard
from test_package_build import full_project

from tui import safexml
from tui.cli.main import main
from tui.errors import UserError
from tui.package.inspect import MAX_PARMS, MAX_SETS, read_package
from tui.package.wim.reader import MAX_DEPTH, MAX_ENTRIES, WimReader
from tui.project.file import load_project, save_project
from tui.usb import write as usbwrite
from tui.wcd import customizations as wcd

REPO = Path(__file__).resolve().parent.parent
PEAK_MB = 300


def one_sentence(message: str, name: object) -> None:
    assert str(name) in message, message
    assert "\n" not in message and message.endswith("."), message
    assert "Traceback" not in message


def package(tmp_path: Path, name: str = "p.ppkg", **tree) -> Path:
    path = tmp_path / name
    path.write_bytes(wim_bytes(package_tree(**tree)))
    return path


def inspect_in_subprocess(path: Path) -> dict:
    """Inspect in a child capped at 1.5 GB; its outcome and peak resident memory (MB)."""
    code = (
        "import json, resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 29, resource.RLIM_INFINITY))\n"
        "from tui.errors import UserError\n"
        "from tui.package.inspect import describe, read_package\n"
        "try:\n"
        "    describe(read_package(sys.argv[1])); out = 'ok'\n"
        "except UserError as e:\n"
        "    out = str(e)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'outcome': out, 'peak': peak}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard only
        cwd=REPO,
        check=True,
    )
    return json.loads(done.stdout)


# --- 1, 2: bounded memory and time for any package ----------------------------------------------


def test_folders_nested_past_the_limit_are_refused(tmp_path):
    deep = "/".join(["d"] * MAX_DEPTH) + "/f.txt"
    path = package(tmp_path, extra={deep: b"x"})
    with pytest.raises(UserError, match=f"nested more than {MAX_DEPTH} deep") as err:
        read_package(path)
    one_sentence(str(err.value), path)
    ok = package(tmp_path, "ok.ppkg", extra={"/".join(["d"] * (MAX_DEPTH - 1)) + "/f": b"x"})
    assert any(f.endswith("/f") for f in read_package(ok).files)


def test_too_many_entries_are_refused(tmp_path):
    path = package(tmp_path, extra={f"many/{i}": b"" for i in range(MAX_ENTRIES + 1)})
    with pytest.raises(
        UserError, match="(more than 20,000 files and folders|directory tree is larger than 2 MiB)"
    ):
        WimReader(path)


def test_a_document_listed_many_times_is_read_once_and_the_sets_are_bounded(tmp_path, monkeypatch):
    reads = []
    original = WimReader.read
    monkeypatch.setattr(
        WimReader, "read", lambda self, n, **k: reads.append(n) or original(self, n, **k)
    )
    info = read_package(package(tmp_path, sets=["0__A.provxml"] * MAX_SETS))
    assert len(info.documents) == MAX_SETS
    assert sum(n.endswith("0__A.provxml") for n in reads) == 1
    path = package(tmp_path, "many.ppkg", sets=["0__A.provxml"] * 10_000)
    with pytest.raises(UserError, match="more than 2,000 configuration sets") as err:
        read_package(path)
    one_sentence(str(err.value), path)
    path = package(tmp_path, "reported.ppkg", sets=["0__A.provxml"] * 200_000)  # issue 12's case
    with pytest.raises(UserError, match="RunTime.xml is larger than 6 MiB") as err:
        read_package(path)
    one_sentence(str(err.value), path)


def test_parms_are_counted_over_every_set(tmp_path):
    doc = provxml(MAX_PARMS // 50 + 1)
    path = package(tmp_path, documents={"0__A.provxml": doc}, sets=["0__A.provxml"] * 50)
    with pytest.raises(UserError, match="more than 100,000 settings"):
        read_package(path)


def test_a_padded_document_is_refused_by_its_size_before_it_is_read(tmp_path):
    padded = provxml(1, pad=" " * (7 << 20))
    path = package(tmp_path, documents={"0__A.provxml": padded})
    with pytest.raises(UserError, match="0__A.provxml is larger than 6 MiB") as err:
        read_package(path)
    one_sentence(str(err.value), path)


@pytest.mark.parametrize(
    "tree",
    [
        {"extra": {f"f/{i:05}/{'n' * 40}": b"" for i in range(MAX_ENTRIES - 50)}},
        {"documents": {f"{i}.provxml": provxml(1, " " * (190 << 10)) for i in range(32)}},
        {"documents": {"0__A.provxml": provxml(MAX_PARMS // 20)}, "sets": ["0__A.provxml"] * 20},
        {"custom": customizations(common="<A>x</A>" * (safexml.MAX_MARKUP // 2 - 20))},
    ],
    ids=["entries", "documents at the total budget", "parms at the budget", "tags at the budget"],
)
def test_packages_at_the_budgets_inspect_within_the_memory_figure(tmp_path, tree):
    result = inspect_in_subprocess(package(tmp_path, **tree))
    assert result["peak"] < PEAK_MB, result


# --- 3, 4, 11: odd documents --------------------------------------------------------------------


@pytest.mark.parametrize("node", ["<!-- c -->", "<?pi x?>", "&amp;", "text", "<![CDATA[y]]>"])
def test_comments_pis_and_entities_in_package_config(tmp_path, node):
    custom = customizations(f"{node}<Name>N</Name>{node}<Rank>3</Rank>")
    info = read_package(package(tmp_path, custom=custom))
    assert (info.rank, info.settings_from) == (3, "customizations.xml")


def test_huge_and_deep_values_in_project_files(tmp_path):
    cases = {
        "digits": "[package]\nrank = " + "9" * 4301 + "\n",
        "arrays": "local_users = " + "[" * 500 + "]" * 500 + "\n",
        "tables": "x = " + "{a = " * 500 + "1" + "}" * 500 + "\n",
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.bulkenroll.toml"
        path.write_text(text)
        with pytest.raises(UserError) as err:
            load_project(path)
        one_sentence(str(err.value), path)


def test_a_rank_of_4301_digits(tmp_path):
    path = tmp_path / "customizations.xml"
    path.write_bytes(customizations(f"<Rank>{'9' * 4301}</Rank>"))
    with pytest.raises(UserError, match="at most 9 digits") as err:
        wcd.load_customizations(path)
    one_sentence(str(err.value), path)


def test_libxml2_messages_are_one_line(tmp_path):
    path = tmp_path / "customizations.xml"
    path.write_bytes(b"<WindowsCustomizations>\n<Settings>\n</WindowsCustomizations>")
    with pytest.raises(UserError, match="not well-formed XML") as err:
        wcd.load_customizations(path)
    one_sentence(str(err.value), path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_customizations_xml_in_utf16_or_utf32_builds(tmp_path, encoding, capsys):
    from tui.cli.build import _load_source

    text = customizations(
        "<Name>P</Name>", "<DevDetail><DNSComputerName>PC-1</DNSComputerName></DevDetail>"
    ).decode()
    path = tmp_path / "customizations.xml"
    path.write_bytes(('<?xml version="1.0" encoding="utf-8"?>' + text).encode(encoding))
    assert _load_source(str(path), drop_unknown=True)[0].device.name == "PC-1"


def test_an_unresolved_entity_is_refused_not_read_as_empty(tmp_path):
    path = tmp_path / "customizations.xml"
    path.write_bytes(
        customizations(common="<DevDetail><DNSComputerName>&pc;</DNSComputerName></DevDetail>")
    )
    with pytest.raises(UserError, match="Entity 'pc' not defined") as err:
        wcd.load_customizations(path)
    one_sentence(str(err.value), path)


# --- 9: the DTD guard in every encoding and every parser ------------------------------------------

BOMB = (
    '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    '<r x="&b;">&b;</r>'
)


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"]
)
def test_a_dtd_is_refused_in_every_encoding(encoding):
    text = BOMB
    if encoding in ("utf-16-le", "utf-16-be", "utf-32-be"):
        text = f'<?xml version="1.0" encoding="{encoding[:6]}"?>' + BOMB
    with pytest.raises(safexml.XmlRefused, match="carrying a DTD"):
        safexml.parse(text.encode(encoding))


@pytest.mark.parametrize("target", ["customizations", "document", "index", "master"])
def test_every_parser_is_behind_the_guard(tmp_path, target):
    tree = package_tree(custom=customizations())
    name = {
        "customizations": "Multivariant/0/customizations.xml",
        "document": "Multivariant/0/Prov/RunTime/0__A.provxml",
        "index": "Multivariant/0/Prov/RunTime.xml",
        "master": "Multivariant/0/MasterDatastore.xml",
    }[target]
    tree[name] = BOMB.encode("utf-16")
    path = tmp_path / "p.ppkg"
    path.write_bytes(wim_bytes(tree))
    with pytest.raises(UserError, match="carrying a DTD") as err:
        read_package(path)
    one_sentence(str(err.value), path)
    imported = tmp_path / "c.xml"
    imported.write_bytes(BOMB.encode("utf-32"))
    with pytest.raises(UserError, match="carrying a DTD"):
        wcd.load_customizations(imported)


# --- 5: outputs only replace regular files ------------------------------------------------------


def _project_file(tmp_path: Path) -> Path:
    path = tmp_path / "p.bulkenroll.toml"
    save_project(full_project(tmp_path), path)
    return path


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.ppkg"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            pytest.skip("creating a device node needs root")
    else:
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_build_refuses_to_replace_what_is_not_a_regular_file(tmp_path, kind, capsys):
    source = _project_file(tmp_path)
    out = _special(tmp_path, kind)
    before = os.lstat(out)
    with hang_guard():
        assert (
            main(["build", str(source), "-o", str(out), "--timestamp", "2026-11-30T08:00:00Z"]) == 2
        )
    message = capsys.readouterr().err.strip().splitlines()[-1]  # after the project's warnings
    one_sentence(message, out)
    assert os.lstat(out).st_mode == before.st_mode and os.lstat(out).st_ino == before.st_ino


def test_save_refuses_a_fifo_and_keeps_a_symlink(tmp_path):
    project = full_project(tmp_path)
    fifo = _special(tmp_path, "fifo")
    with pytest.raises(UserError, match="not a regular file") as err:
        save_project(project, fifo)
    one_sentence(str(err.value), fifo)
    real = tmp_path / "real.bulkenroll.toml"
    real.write_text("old")
    link = tmp_path / "link.bulkenroll.toml"
    link.symlink_to(real)
    save_project(project, link)
    assert link.is_symlink() and load_project(real) == project


def test_build_writes_through_a_symlink_to_its_target(tmp_path):
    source = _project_file(tmp_path)
    real = tmp_path / "real.ppkg"
    real.write_bytes(b"stale")
    link = tmp_path / "link.ppkg"
    link.symlink_to(real)
    assert main(["build", str(source), "-o", str(link), "--timestamp", "2026-11-30T08:00:00Z"]) == 0
    assert link.is_symlink() and real.read_bytes()[:8] == b"MSWIM\0\0\0"


# --- 6, 7: temporary files of interrupted runs ----------------------------------------------------


def _locked(path: Path):
    fd = os.open(path, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_stale_temp_on_the_stick_is_removed_before_the_space_check(tmp_path, monkeypatch):
    from test_usbwrite import make_package

    stick = tmp_path / "stick"
    stick.mkdir()
    stale = stick / f"{usbwrite.TEMP_PREFIX}0123456789ab{usbwrite.TEMP_SUFFIX}"
    stale.write_bytes(b"x" * 900)
    capacity = 1000
    used = lambda where: sum(p.stat().st_size for p in Path(where).iterdir())  # noqa: E731
    monkeypatch.setattr(usbwrite.drives, "free_space", lambda where: capacity - used(where))
    usbwrite.write_package(make_package(tmp_path / "a.ppkg", 500), stick, force=True)
    assert sorted(os.listdir(stick)) == ["a.ppkg"]


def test_a_live_writers_temp_and_other_files_are_kept(tmp_path):
    from test_usbwrite import make_package

    stick = tmp_path / "stick"
    stick.mkdir()
    live = stick / f"{usbwrite.TEMP_PREFIX}aaaaaaaaaaaa{usbwrite.TEMP_SUFFIX}"
    live.write_bytes(b"in use")
    other = stick / f"{usbwrite.TEMP_PREFIX}notes{usbwrite.TEMP_SUFFIX}"
    other.write_bytes(b"mine")
    fd = _locked(live)
    try:
        usbwrite.write_package(make_package(tmp_path / "a.ppkg", 100), stick, force=True)
    finally:
        os.close(fd)
    assert sorted(os.listdir(stick)) == sorted(["a.ppkg", live.name, other.name])


def test_stale_temps_of_a_save_and_a_build_are_removed_by_the_next(tmp_path):
    project = _project_file(tmp_path)
    stale_save = tmp_path / f".{project.name}.abcd1234.tmp"
    live_save = tmp_path / f".{project.name}.live0000.tmp"
    unrelated = tmp_path / f".{project.name}.notes.tmp"
    out = tmp_path / "OUT.ppkg"
    stale_build = tmp_path / ".OUT.ppkg.zz99zz99.part"
    for p in (stale_save, live_save, unrelated, stale_build):
        p.write_bytes(b"secret")
        p.chmod(0o600)
    fd = _locked(live_save)
    try:
        save_project(full_project(tmp_path), project)
        assert (
            main(["build", str(project), "-o", str(out), "--timestamp", "2026-11-30T08:00:00Z"])
            == 0
        )
    finally:
        os.close(fd)
    assert not stale_save.exists() and not stale_build.exists()
    assert live_save.exists() and unrelated.exists()


# --- 8: special files as inputs ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize("command", ["build", "export-wcd", "inspect", "write"])
def test_special_files_as_inputs_are_refused_at_once(tmp_path, kind, command, capsys):
    source = _special(tmp_path, kind)
    argv = {
        "build": ["build", str(source), "-o", str(tmp_path / "o.ppkg")],
        "export-wcd": ["export-wcd", str(source), str(tmp_path / "wcd")],
        "inspect": ["inspect", str(source)],
        "write": ["write", str(source), "--drive", str(tmp_path), "--force"],
    }[command]
    with hang_guard():
        assert main(argv) == 2
    message = capsys.readouterr().err.strip()
    one_sentence(message, source)
    assert "not a regular file" in message


def test_inputs_are_refused_by_size_before_reading(tmp_path):
    big = tmp_path / "big.bulkenroll.toml"
    with open(big, "wb") as f:
        f.truncate(17 << 20)  # sparse: nothing is written, nothing need be read
    with pytest.raises(UserError, match="larger than 16 MiB") as err:
        load_project(big)
    one_sentence(str(err.value), big)


# --- 10: writing customizations.xml is linear -----------------------------------------------------


def test_many_local_users_are_written_in_linear_steps(monkeypatch):
    from tui.project.model import LocalUser, Project

    calls = []
    original = wcd._Element.child
    monkeypatch.setattr(
        wcd._Element,
        "child",
        lambda self, *a: calls.append(len(self.children)) or original(self, *a),
    )
    project = Project()
    project.local_users = [
        LocalUser(name=f"u{i}", password="pw", group="Users") for i in range(20_000)
    ]
    with hang_guard():
        document = wcd.to_customizations_xml(project)
    assert document.count(b"<User ") == 20_000
    assert len(calls) < 20 * 20_000  # a few lookups per setting, each a dict lookup
