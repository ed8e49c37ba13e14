"""The WIM writer, checked by independent readers: wimlib-imagex (verify, info --xml, apply) and
7-Zip (x), byte-comparing every extracted file with what we meant to write."""

from __future__ import annotations

import errno
import hashlib
import os
import struct
import subprocess
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from tui.errors import UserError
from tui.package.wim.filetime import filetime
from tui.package.wim.header import Header
from tui.package.wim.imagexml import ImageInfo
from tui.package.wim.resource import (
    BLOB_ENTRY,
    RES_COMPRESSED,
    BlobEntry,
    Resource,
    compress_resource,
)
from tui.package.wim.writer import write_wim
from tui.package.wim.xpress import decompress

# Every WIM a test here leaves behind is read by wimlib and 7-Zip too (conftest.py).
pytestmark = pytest.mark.usefixtures("real_readers_check")

STAMP = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
INFO = ImageInfo(
    name="Entra bulk <enrol> & co",
    description="Déploiement – test",
    author="IT",
    notes="VERSION=10.0.26100.1;Source=Classic;;PackageID=0b7e0c7e-1234-4abc-8def-001122334455;",
    version="1.2",
    altitude=5000,
    reset_clear=True,
    package_id="{0b7e0c7e-1234-4abc-8def-001122334455}",
    timestamp=STAMP,
)
ICD_ORDER = [
    "NAME",
    "DESCRIPTION",
    "NOTES",
    "AUTHOR",
    "VERSION",
    "ALTITUDE",
    "RESETCLEAR",
    "PACKAGEID",
    "DIRCOUNT",
    "FILECOUNT",
    "TOTALBYTES",
    "HARDLINKBYTES",
    "CREATIONTIME",
    "LASTMODIFICATIONTIME",
    "WIMBOOT",
]


def run(*args: str | Path, text: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=text, check=False)
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def payload(size: int, seed: int = 1) -> bytes:
    """Deterministic data mixing text-like runs and noise, so chunks differ."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out += f"line {counter} of payload {seed}\r\n".encode()
        counter += 1
    return bytes(out[:size])


def shapes(tmp_path: Path) -> dict[str, bytes | Path]:
    """Every shape the writer must handle; Path sources are streamed from disk."""
    big = tmp_path / "src" / "installer.msi"
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(payload(5 * 32768 + 123, seed=7))
    return {
        "Multivariant/Multivariant.xml": b'<?xml version="1.0" encoding="UTF-8"?>\r\n<Elements />',
        "Multivariant/0/Prov/RunTime.xml": "\ufeff<ConfigurationSource />".encode(),
        "Multivariant/0/Prov/RunTime/0__Accounts_Azure.provxml": payload(3000, seed=2),
        "CommonSettings/1/AnswerFile.xml": payload(40, seed=3),
        "CommonSettings/CommonSettings.xml": payload(40, seed=3),  # duplicate content
        "empty/empty.txt": b"",
        "deep/a/b/c/d/e/f/leaf.bin": b"\x00\x01\x02",
        "Ünïcødé – 日本語/файл 😀.txt": "ünicode ✓".encode(),
        "DataAsset/2/0_abc=/installer.msi": big,
        "DataAsset/2/1_def=/copy of installer.msi": big,  # duplicate, streamed twice
        "DataAsset/2/2_ghi=/same bytes.msi": big.read_bytes(),  # duplicate of a Path source
    }


def expected_bytes(files: dict[str, bytes | Path]) -> dict[str, bytes]:
    return {p: s.read_bytes() if isinstance(s, Path) else s for p, s in files.items()}


def build(path: Path, files, info: ImageInfo = INFO, **kwargs) -> Path:
    items = files.items() if isinstance(files, dict) else files
    with open(path, "wb") as out:
        write_wim(out, items, info, **kwargs)
    return path


def extracted(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def resource_bytes(data: bytes, res: Resource) -> bytes:
    """A resource's content, read by the format's rules (chunk table of 4-byte offsets
    relative to its end; a chunk as long as its content is raw)."""
    stored = data[res.offset : res.offset + res.size]
    if not res.flags & RES_COMPRESSED:
        return stored
    count = -(-res.original_size // 32768)
    table = (count - 1) * 4
    starts = [0, *struct.unpack(f"<{count - 1}I", stored[:table]), res.size - table]
    out = b""
    for i in range(count):
        chunk = stored[table + starts[i] : table + starts[i + 1]]
        size = min(32768, res.original_size - i * 32768)
        out += chunk if len(chunk) == size else decompress(chunk, size)
    return out


def blob_table(data: bytes) -> list[tuple[Resource, int, bytes]]:
    table = Header.unpack(data).blob_table
    raw = data[table.offset : table.offset + table.size]
    out = []
    for at in range(0, len(raw), BLOB_ENTRY.size):
        entry = BlobEntry.unpack(raw, at)
        out.append((entry.resource, entry.ref_count, entry.hash))
    return out


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    files = shapes(tmp_path)
    return build(tmp_path / "out.ppkg", files), expected_bytes(files)


def test_wimlib_verifies_it(built):
    wim, _ = built
    result = run("wimlib-imagex", "verify", wim)
    assert "successfully verified" in result.stdout
    warnings = [
        line for line in result.stderr.splitlines() if "WARNING" in line and "integrity" not in line
    ]
    assert warnings == []


@pytest.mark.parametrize("tool", ["wimlib", "7zz"])
def test_every_file_extracts_byte_for_byte(built, tmp_path, tool):
    wim, expected = built
    dest = tmp_path / f"x-{tool}"
    if tool == "wimlib":
        run("wimlib-imagex", "apply", wim, "1", dest)
    else:
        run("7zz", "x", "-y", f"-o{dest}", wim)
    assert extracted(dest) == expected


def test_7zip_tests_it_clean(built):
    wim, expected = built
    result = run("7zz", "t", wim)
    assert "Everything is Ok" in result.stdout
    assert f"Files: {len(expected)}" in result.stdout


def test_wimlib_sees_the_image_properties_in_icd_order(built):
    wim, expected = built
    xml = run("wimlib-imagex", "info", "--xml", wim, text=False).stdout
    assert xml.startswith(b"\xff\xfe<\0W\0I\0M\0>\0")  # UTF-16LE with BOM
    root = etree.fromstring(xml)
    image = root.find("IMAGE")
    assert image.get("INDEX") == "1"
    assert [child.tag for child in image] == ICD_ORDER
    text = {child.tag: child.text or "" for child in image}
    assert text["NAME"] == INFO.name
    assert text["DESCRIPTION"] == INFO.description
    assert text["NOTES"] == INFO.notes
    assert text["AUTHOR"] == INFO.author
    assert text["VERSION"] == "1.2"
    assert text["ALTITUDE"] == "5000"
    assert text["RESETCLEAR"] == "1"
    assert text["PACKAGEID"] == INFO.package_id
    assert text["WIMBOOT"] == "0"
    assert text["HARDLINKBYTES"] == "0"
    assert int(text["FILECOUNT"]) == len(expected) + 2  # what ICD writes (docs/wim.md)
    assert int(text["TOTALBYTES"]) == sum(len(b) for b in expected.values())
    dirs = {str(Path(p).parents[i]) for p in expected for i in range(len(Path(p).parts) - 1)}
    assert int(text["DIRCOUNT"]) == len(dirs)
    ft = filetime(STAMP)
    for tag in ("CREATIONTIME", "LASTMODIFICATIONTIME"):
        assert image.findtext(f"{tag}/HIGHPART") == f"0x{ft >> 32:08X}"
        assert image.findtext(f"{tag}/LOWPART") == f"0x{ft & 0xFFFFFFFF:08X}"
    # The top-level TOTALBYTES is the offset of the XML data, as in ICD output.
    xml_offset = Header.unpack(wim.read_bytes()).xml.offset
    assert root.findtext("TOTALBYTES") == str(xml_offset)


def test_wimlib_info_reports_name_and_times(built):
    wim, _ = built
    info = run("wimlib-imagex", "info", wim).stdout
    assert f"Name:                   {INFO.name}" in info
    assert "Creation Time:          Tue Mar 04 05:06:07 2025 UTC" in info
    assert "Compression:    XPRESS" in info
    assert "Chunk Size:     32768 bytes" in info


def test_file_times_are_the_timestamp(built, tmp_path):
    wim, _ = built
    dest = tmp_path / "times"
    run("wimlib-imagex", "apply", wim, "1", dest)
    for p in dest.rglob("*"):
        assert p.stat().st_mtime == pytest.approx(STAMP.timestamp(), abs=1e-6)


def test_header_and_layout_as_icd_writes_them(built):
    wim, expected = built
    data = wim.read_bytes()
    h = Header.unpack(data)
    assert (h.magic, h.header_size, h.version, h.flags, h.chunk_size) == (
        b"MSWIM\0\0\0",
        208,
        0x10D00,
        0x20082,
        32768,
    )
    assert (h.part_number, h.total_parts, h.image_count) == (1, 1, 1)
    table, xml = h.blob_table, h.xml
    assert h.boot_metadata.size == 0  # no boot metadata
    assert h.boot_index == 0
    assert h.integrity.size == 0  # no integrity table
    # blobs, metadata, blob table, XML, nothing after it
    assert xml.offset + xml.size == len(data)
    assert table.offset + table.size == xml.offset
    entries = blob_table(data)
    metadata = entries[0][0]
    # metadata compressed (0x06), blob table and XML raw with the metadata flag, as ICD
    assert metadata.flags == 0x06 and metadata.offset + metadata.size == table.offset
    assert metadata.size < metadata.original_size
    assert (table.flags, xml.flags) == (0x02, 0x02)
    assert data[xml.offset : xml.offset + 2] == b"\xff\xfe"
    # identical contents are stored once, with a reference per file
    unique = {hashlib.sha1(b).digest(): b for b in expected.values() if b}
    stored = {digest: refs for res, refs, digest in entries[1:]}
    assert set(stored) == set(unique)
    counts = [hashlib.sha1(b).digest() for b in expected.values() if b]
    assert stored == {d: counts.count(d) for d in unique}
    # each blob is compressed exactly when that makes it smaller
    for res, _, digest in entries[1:]:
        content = unique[digest]
        assert bool(res.flags & RES_COMPRESSED) == (compress_resource(content) is not None)
        assert res.original_size == len(content)
        assert resource_bytes(data, res) == content
        assert hashlib.sha1(resource_bytes(data, res)).digest() == digest
    flags = {len(unique[d]): res.flags for res, _, d in entries[1:]}
    assert flags[3] == 0x00  # too small to gain from a 256-byte code table
    assert flags[5 * 32768 + 123] == RES_COMPRESSED  # text-like, many chunks
    assert len(data) < sum(len(b) for b in expected.values())


def test_output_is_deterministic_whatever_the_input_order_and_source_kind(tmp_path):
    files = shapes(tmp_path)
    first = build(tmp_path / "1.wim", files).read_bytes()
    second = build(tmp_path / "2.wim", dict(reversed(list(files.items())))).read_bytes()
    as_bytes = build(tmp_path / "3.wim", expected_bytes(files)).read_bytes()
    assert first == second == as_bytes
    later = build(tmp_path / "4.wim", files, ImageInfo("x", timestamp=STAMP.replace(year=2026)))
    assert later.read_bytes()[24:40] != first[24:40]  # another image, another GUID


def test_explicit_guid_is_used(tmp_path):
    guid = bytes(range(16))
    wim = build(tmp_path / "g.wim", {"a.txt": b"a"}, guid=guid)
    assert Header.unpack(wim.read_bytes()).guid == guid
    assert "0x000102030405060708090a0b0c0d0e0f" in run("wimlib-imagex", "info", wim).stdout


def test_overwrites_a_longer_existing_file(tmp_path):
    target = tmp_path / "reuse.wim"
    target.write_bytes(b"junk" * 100000)
    with open(target, "r+b") as out:
        write_wim(out, [("a.txt", b"small")], INFO)
    run("wimlib-imagex", "verify", target)
    assert target.stat().st_size < 4000


def test_progress_counts_every_payload_byte(tmp_path):
    files = shapes(tmp_path)
    total = sum(len(b) for b in expected_bytes(files).values())
    calls: list[tuple[int, int]] = []
    build(tmp_path / "p.wim", files, progress=lambda done, all_: calls.append((done, all_)))
    assert calls[-1] == (total, total)
    assert all(t == total for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_only_the_root_is_needed(tmp_path):
    wim = build(tmp_path / "empty.wim", {})
    run("wimlib-imagex", "verify", wim)
    assert run("wimlib-imagex", "dir", wim).stdout.split() == ["/"]


def test_many_files_in_one_folder(tmp_path):
    files = {f"many/file{i:04}.xml": f"<n>{i}</n>".encode() for i in range(1500)}
    wim = build(tmp_path / "many.wim", files)
    dest = tmp_path / "x"
    run("wimlib-imagex", "apply", wim, "1", dest)
    assert extracted(dest) == files


def test_streaming_keeps_memory_flat(tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for i in range(48):
            f.write(payload(1 << 20, seed=100 + i))
    tracemalloc.start()
    try:
        build(tmp_path / "big.wim", {"DataAsset/2/big.bin": big})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak Python allocation {peak} bytes for a 48 MiB payload"
    dest = tmp_path / "x"
    run("wimlib-imagex", "apply", build(tmp_path / "big.wim", {"big.bin": big}), "1", dest)
    assert (dest / "big.bin").read_bytes() == big.read_bytes()


def test_a_file_that_changes_size_while_read_is_stored_as_read(tmp_path):
    """The size comes from what was read, not from stat() beforehand."""
    src = tmp_path / "growing.bin"
    src.write_bytes(b"x" * 10)
    grown = False

    def progress(done, total):
        nonlocal grown
        if not grown:
            src.write_bytes(b"y" * 100)
            grown = True

    wim = build(tmp_path / "g.wim", [("a.txt", b"first"), ("g.bin", src)], progress=progress)
    dest = tmp_path / "x"
    run("wimlib-imagex", "apply", wim, "1", dest)
    assert (dest / "g.bin").read_bytes() == b"y" * 100


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ([("a/../b.txt", b"")], "'a/../b.txt'"),
        ([("/abs.txt", b"")], "'/abs.txt'"),
        ([("a//b.txt", b"")], "'a//b.txt'"),
        ([("con:fig.txt", b"")], "cannot contain"),
        ([("what?.txt", b"")], "cannot contain"),
        ([("back\\slash.txt", b"")], "cannot contain"),
        ([("trailing.", b"")], "dot or a space"),
        ([("x" * 256, b"")], "255"),
        ([("a.txt", b"1"), ("A.TXT", b"2")], "given twice"),
        ([("a", b"1"), ("a/b.txt", b"2")], "both as a file and as a folder"),
        ([("a/b.txt", b"1"), ("a", b"2")], "given twice"),
    ],
)
def test_bad_paths_are_refused_with_one_sentence(tmp_path, files, words):
    out = tmp_path / "bad.wim"
    with pytest.raises(UserError) as err, open(out, "wb") as f:
        write_wim(f, files, INFO)
    assert words in str(err.value)
    assert str(err.value).endswith(".")


def test_missing_source_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="missing.msi"), open(tmp_path / "x.wim", "wb") as f:
        write_wim(f, [("a.msi", tmp_path / "missing.msi")], INFO)


def test_unreadable_source_file_is_a_user_error(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(UserError, match="a-folder"), open(tmp_path / "x.wim", "wb") as f:
        write_wim(f, [("a.msi", folder)], INFO)


def test_control_characters_in_properties_are_refused(tmp_path):
    bad = ImageInfo("bad\x01name", timestamp=STAMP)
    with pytest.raises(UserError, match="name"), open(tmp_path / "x.wim", "wb") as f:
        write_wim(f, [], bad)


def test_naive_timestamp_counts_as_utc():
    assert filetime(datetime(2025, 3, 4, 5, 6, 7, 890000)) == filetime(STAMP)
    assert filetime(datetime(1601, 1, 1, tzinfo=UTC)) == 0
    assert filetime(datetime(1970, 1, 1, tzinfo=UTC)) == 116444736000000000


def test_dentries_are_8_byte_aligned_and_subdirs_point_at_children(built):
    """Walk the raw metadata the way the format defines it, independently of our reader."""
    wim, expected = built
    data = wim.read_bytes()
    res = blob_table(data)[0][0]
    meta = resource_bytes(data, res)
    total, count = struct.unpack_from("<II", meta)
    assert (total, count) == (8, 0)
    found: list[str] = []
    lists: list[int] = []  # where each folder's list starts, in depth-first visiting order

    def walk(at: int, prefix: str) -> None:
        lists.append(at)
        seen_folder = False
        while (length := struct.unpack_from("<Q", meta, at)[0]) != 0:
            assert at % 8 == 0 and length % 8 == 0
            attributes, security, subdir = struct.unpack_from("<IiQ", meta, at + 8)
            name_len = struct.unpack_from("<H", meta, at + 100)[0]
            name = meta[at + 102 : at + 102 + name_len].decode("utf-16-le")
            assert meta[at + 102 + name_len : at + 104 + name_len] == b"\0\0"
            assert security == -1
            if attributes & 0x10:
                assert subdir % 8 == 0 and subdir > at
                seen_folder = True
                walk(subdir, prefix + name + "/")
            else:
                assert attributes == 0x20 and subdir == 0
                assert not seen_folder, "files come before folders, as ICD writes them"
                found.append(prefix + name)
            at += length

    root_subdir = struct.unpack_from("<Q", meta, 8 + 16)[0]
    walk(root_subdir, "")
    assert sorted(found) == sorted(expected)
    assert lists == sorted(lists), "laid out depth first, as ICD and wimlib"
    assert os.path.commonprefix([meta[-8:], bytes(8)]) == bytes(8)


def test_a_full_disk_is_an_os_error_for_the_caller_to_report(tmp_path):
    """Write errors are not the source file's fault: they surface as OSError (ENOSPC)."""
    src = tmp_path / "src.bin"
    src.write_bytes(payload(3 << 20))
    with open("/dev/full", "wb", buffering=0) as out, pytest.raises(OSError) as err:
        write_wim(out, [("a.bin", src)], INFO)
    assert not isinstance(err.value, UserError)
    assert err.value.errno == errno.ENOSPC


def test_names_differing_as_ntfs_sees_them_are_both_kept(tmp_path):
    files = {"straße.txt": b"1", "STRASSE.txt": b"2", "ǅ/x.txt": b"3"}
    wim = build(tmp_path / "n.wim", files)
    dest = tmp_path / "x"
    run("wimlib-imagex", "apply", wim, "1", dest)
    assert extracted(dest) == files


# --- the two-step writer: store contents first, name them after their digests --------------


def test_stored_blobs_can_be_named_after_their_sha256(tmp_path):
    from tui.package.wim.writer import WimWriter

    src = tmp_path / "setup.exe"
    src.write_bytes(payload(3 * 32768 + 5, seed=11))
    wim = tmp_path / "two-step.wim"
    with open(wim, "wb") as out:
        writer = WimWriter(out)
        blob = writer.store(src, sha256=True)
        again = writer.store(src, sha256=True)  # stored once
        folder = blob.sha256.hex()
        writer.finish(
            [
                (f"DataAsset/{folder}/setup.exe", blob),
                ("copy/setup.exe", again),
                ("a.xml", b"<a />"),
            ],
            INFO,
        )
    assert blob == again
    assert blob.sha256 == hashlib.sha256(src.read_bytes()).digest()
    assert blob.sha1 == hashlib.sha1(src.read_bytes()).digest()
    run("wimlib-imagex", "verify", wim)
    run("wimlib-imagex", "apply", wim, "1", tmp_path / "out")
    got = extracted(tmp_path / "out")
    assert got[f"DataAsset/{folder}/setup.exe"] == src.read_bytes()
    assert got["copy/setup.exe"] == src.read_bytes()
    assert wim.stat().st_size < src.stat().st_size * 2  # the payload is in the image once


def test_writing_into_memory_gives_the_same_bytes_as_into_a_file(tmp_path):
    """io.BytesIO has no file descriptor: the writer falls back to reading and writing."""
    import io

    files = shapes(tmp_path)
    on_disk = build(tmp_path / "disk.wim", files).read_bytes()
    memory = io.BytesIO()
    write_wim(memory, files.items(), INFO)
    assert memory.getvalue() == on_disk


def test_a_payload_that_changes_while_it_is_written_is_refused(tmp_path):
    src = tmp_path / "growing.msi"
    src.write_bytes(payload(70000, seed=5))

    def grow(done: int, total: int) -> None:
        if 0 < done < total + 10:
            with open(src, "ab") as f:
                f.write(b"more")

    with pytest.raises(UserError, match="changed while the package was being built"):
        build(tmp_path / "changed.wim", {"a/growing.msi": src}, progress=grow)
