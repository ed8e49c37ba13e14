"""The WIM reader against wimlib: real ICD/WCD packages, WIMs wimlib compresses with its own
XPRESS encoder, and round trips of our writer."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES
from lxml import etree
from test_wim_writer import (
    INFO,
    STAMP,
    blob_table,
    build,
    expected_bytes,
    extracted,
    payload,
    run,
    shapes,
)

from tui.errors import UserError
from tui.package.wim.reader import WimReader
from tui.package.wim.xpress import XpressError, decompress

SAMPLE_FILES = sorted(SAMPLES.glob("*.ppkg"))


def read_everything(path: Path) -> dict[str, bytes]:
    with WimReader(path) as reader:
        return {name: reader.read(name) for name in reader.files()}


def test_the_samples_are_there():
    assert len(SAMPLE_FILES) == 4


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_real_packages_read_exactly_as_wimlib_extracts_them(sample, tmp_path):
    run("wimlib-imagex", "apply", sample, "1", tmp_path / "x")
    assert read_everything(sample) == extracted(tmp_path / "x")


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda p: p.name)
def test_real_package_properties_match_wimlib(sample):
    xml = run("wimlib-imagex", "info", "--xml", sample, text=False).stdout
    image = etree.fromstring(xml).find("IMAGE")
    simple = {child.tag: child.text or "" for child in image if len(child) == 0}
    with WimReader(sample) as reader:
        assert {k: reader.info[k] for k in simple} == simple
        assert reader.info["NAME"] in {"Enroll", "ProSKU", "ProvTest", "mOSD"}
        assert reader.info["CREATIONTIME"].startswith(("2016-02-", "2018-08-04T13:56:35"))
        assert reader.compression == "XPRESS"


def test_real_package_inlined_license_file_decompresses(tmp_path):
    """ProSKU's 25 818-byte provxml spans a compressed chunk with long matches."""
    with WimReader(SAMPLES / "iot-adk-prosku.ppkg") as reader:
        name = "Multivariant/0/Prov/Uicc_RunOnce/EditionUpgrade_0.provxml"
        assert reader.size(name) == 25818
        data = reader.read(name)
    assert data.startswith(b"\xef\xbb\xbf<?xml")
    assert b"exec=" in data


def test_our_writer_round_trips(tmp_path):
    files = shapes(tmp_path)
    wim = build(tmp_path / "rt.ppkg", files)
    expected = expected_bytes(files)
    with WimReader(wim) as reader:
        assert reader.files() == sorted(expected)
        for name, data in expected.items():
            assert reader.size(name) == len(data)
            assert reader.read(name) == data
        assert reader.info["NAME"] == INFO.name
        assert reader.info["DESCRIPTION"] == INFO.description
        assert reader.info["NOTES"] == INFO.notes
        assert reader.info["PACKAGEID"] == INFO.package_id
        assert reader.info["VERSION"] == "1.2"
        assert reader.info["ALTITUDE"] == "5000"
        assert reader.info["RESETCLEAR"] == "1"
        assert reader.info["CREATIONTIME"] == STAMP.isoformat()
        assert reader.compression == "XPRESS"


def test_streaming_reader_returns_the_same_bytes_in_small_reads(tmp_path):
    big = payload(7 * 32768 + 5, seed=9)
    wim = build(tmp_path / "s.wim", {"a/big.bin": big})
    with WimReader(wim) as reader, reader.open("a/big.bin") as stream:
        pieces = []
        while piece := stream.read(4093):
            pieces.append(piece)
    assert b"".join(pieces) == big


def capture_tree(root: Path) -> dict[str, bytes]:
    """A tree with every kind of entry wimlib can capture on Linux."""
    files = {
        "text/compressible.xml": b"<setting name='x' value='y' />\r\n" * 9000,
        "random/noise.bin": os.urandom(100_000),
        "mixed/payload.bin": payload(300_000, seed=4),
        "empty.txt": b"",
        "Ünïcødé/日本語 😀.txt": "✓".encode() * 1000,
        "deep/a/b/c/d/leaf.txt": b"leaf",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "empty-folder").mkdir()
    (root / "link-to-leaf").symlink_to("deep/a/b/c/d/leaf.txt")
    os.link(root / "deep/a/b/c/d/leaf.txt", root / "hardlink.txt")
    files["hardlink.txt"] = b"leaf"
    return files


@pytest.mark.parametrize("chunk", [4096, 32768, 65536])
def test_wimlib_xpress_output_reads_byte_for_byte(tmp_path, chunk):
    tree = tmp_path / "tree"
    tree.mkdir()
    expected = capture_tree(tree)
    wim = tmp_path / "x.wim"
    run("wimlib-imagex", "capture", tree, wim, "Cap", "--compress=xpress", f"--chunk-size={chunk}")
    assert run("wimlib-imagex", "info", wim).stdout.count("XPRESS") == 1
    assert read_everything(wim) == expected  # the symlink is not a regular file


def test_wimlib_uncompressed_output_reads(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    expected = capture_tree(tree)
    wim = tmp_path / "n.wim"
    run("wimlib-imagex", "capture", tree, wim, "Cap", "--compress=none")
    assert read_everything(wim) == expected
    with WimReader(wim) as reader:
        assert reader.compression == "none"
        assert reader.info["NAME"] == "Cap"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--compress=lzx"], "uses LZX compression, which bulk-enroll cannot read"),
        (["--compress=lzms"], "uses LZMS compression"),
        (["--solid"], "uses LZMS compression"),
    ],
)
def test_other_compressions_are_refused_clearly(tmp_path, options, words):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.txt").write_bytes(b"a" * 1000)
    wim = tmp_path / "c.wim"
    run("wimlib-imagex", "capture", tree, wim, "Cap", *options)
    with pytest.raises(UserError) as err:
        WimReader(wim)
    assert words in str(err.value)
    assert str(wim) in str(err.value)


def test_split_wim_is_refused(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    for i in range(3):
        (tree / f"{i}.bin").write_bytes(os.urandom(700_000))
    wim = tmp_path / "big.wim"
    run("wimlib-imagex", "capture", tree, wim, "Cap", "--compress=none")
    run("wimlib-imagex", "split", wim, tmp_path / "part.swm", "1")
    with pytest.raises(UserError, match="split WIM"):
        WimReader(tmp_path / "part.swm")


def test_lookup_limits_and_missing_files(tmp_path):
    wim = build(tmp_path / "l.wim", {"Dir/File.xml": b"x" * 1000})
    with WimReader(wim) as reader:
        assert reader.read("dir/file.XML") == b"x" * 1000  # Windows paths ignore case
        with pytest.raises(UserError, match="larger than 100 bytes"):
            reader.read("Dir/File.xml", limit=100)
        with pytest.raises(UserError, match="has no file 'Dir/Other.xml'"):
            reader.read("Dir/Other.xml")


def test_damaged_file_data_is_caught_by_its_checksum(tmp_path):
    data = random.Random(5).randbytes(70_000)  # incompressible: stored raw, flipped as is
    wim = build(tmp_path / "d.wim", {"a.bin": data, "b.txt": b"fine"})
    raw = bytearray(wim.read_bytes())
    res = next(r for r, _, d in blob_table(bytes(raw))[1:] if r.size == len(data))
    raw[res.offset + 40_000] ^= 0xFF
    wim.write_bytes(raw)
    with WimReader(wim) as reader:
        assert reader.read("b.txt") == b"fine"
        with pytest.raises(UserError, match="'a.bin' does not match its checksum"):
            reader.read("a.bin")
        with pytest.raises(UserError, match="checksum"), reader.open("a.bin") as stream:
            stream.read()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "too short"),
        (b"PK\x03\x04" + bytes(300), "not a WIM image"),
        (b"MSWIM\0\0\0" + bytes(100), "too short"),
        (b"MSWIM\0\0\0" + bytes(200), "header size is wrong"),
    ],
    ids=["empty", "zip", "short", "header"],
)
def test_not_a_package(tmp_path, content, words):
    path = tmp_path / "not.ppkg"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        WimReader(path)
    assert words in str(err.value) and str(path) in str(err.value)


def test_missing_and_folder_paths(tmp_path):
    with pytest.raises(UserError, match=r"nothing\.ppkg' does not exist\.$"):
        WimReader(tmp_path / "nothing.ppkg")
    with pytest.raises(UserError, match="is a folder, not a file"):
        WimReader(tmp_path)


def test_reader_closes_its_file(tmp_path):
    wim = build(tmp_path / "c.wim", {"a.txt": b"a"})
    with WimReader(wim) as reader:
        pass
    with pytest.raises(ValueError):
        reader.read("a.txt")


# --- the XPRESS decoder on its own ----------------------------------------------------------


def lengths_table(lengths: dict[int, int]) -> bytes:
    table = bytearray(256)
    for symbol, length in lengths.items():
        table[symbol // 2] |= length << (4 * (symbol % 2))
    return bytes(table)


def test_xpress_literals_and_an_overlapping_match():
    # Canonical code: 'a' 0, 'b' 10, end-of-data 110, match (length 3+2, 1 offset bit) 111.
    table = lengths_table({ord("a"): 1, ord("b"): 2, 256 + (1 << 4) + 2: 3, 256: 3})
    # a, b, match with offset (1 << 1) | 0 = 2, then zero padding
    bits = "0" + "10" + "111" + "0"
    bits = bits.ljust(32, "0")
    words = [int(bits[i : i + 16], 2) for i in (0, 16)]
    stream = b"".join(w.to_bytes(2, "little") for w in words)
    assert decompress(table + stream, 7) == b"abababa"


@pytest.mark.parametrize(
    ("data", "size", "words"),
    [
        (bytes(100), 10, "truncated"),
        (bytes(300), 10, "empty"),
        (lengths_table({0: 1, 1: 1, 2: 1}) + bytes(8), 10, "over-subscribed"),
        (lengths_table({0: 2, 1: 2}) + b"\xff" * 8, 10, "unassigned"),
        (lengths_table({0: 1, 256 + (4 << 4): 1}) + b"\xff\xff" * 4, 10, "outside"),
        (lengths_table({0: 1, 1: 1}) + bytes(4), 0, "size"),
    ],
)
def test_xpress_rejects_bad_chunks(data, size, words):
    with pytest.raises(XpressError, match=words):
        decompress(data, size)


def test_xpress_never_overruns_the_requested_size():
    table = lengths_table({ord("z"): 1, 256 + 15: 1})  # 'z', or a long match with offset 1
    stream = (
        (0b0111111111111111).to_bytes(2, "little") * 2
        + bytes([255])
        + (60000).to_bytes(2, "little")
    )
    with pytest.raises(XpressError, match="outside"):
        decompress(table + stream + bytes(8), 1000)


@pytest.fixture(autouse=True)
def _tools():
    for tool in ("wimlib-imagex", "7zz"):
        assert shutil.which(tool), f"{tool} is needed (Debian: wimtools, 7zip)"
