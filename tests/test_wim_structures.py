"""The WIM on-disk structures, one module each: pack then unpack gives the same value, and
unpacking the real samples in tests/fixtures/ppkg gives what wimlib-imagex reports for them
(header fields, the blob table, every directory entry)."""

from __future__ import annotations

import os
import re
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SAMPLES

from tui.package.wim import imagexml
from tui.package.wim.dentry import (
    ATTR_ARCHIVE,
    ATTR_DIRECTORY,
    EMPTY_SECURITY,
    END_OF_LIST,
    DamagedTree,
    Dentry,
    entry_length,
    read_entry,
    root_offset,
)
from tui.package.wim.filetime import filetime, from_filetime
from tui.package.wim.header import HEADER_SIZE, WRITE_FLAGS, Header
from tui.package.wim.imagexml import ImageInfo
from tui.package.wim.resource import (
    BLOB_ENTRY,
    RES_COMPRESSED,
    RES_METADATA,
    ZERO_HASH,
    BlobEntry,
    Resource,
    chunk_count,
    chunk_entry_size,
    chunk_starts,
    compress_resource,
)
from tui.package.wim.xpress import decompress

SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.ppkg"))
STAMP = datetime(2025, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
# wimlib's names of the resource header flags (include/wimlib/resource.h)
RESHDR_FLAG_NAMES = {
    "WIM_RESHDR_FLAG_FREE": 0x01,
    "WIM_RESHDR_FLAG_METADATA": RES_METADATA,
    "WIM_RESHDR_FLAG_COMPRESSED": RES_COMPRESSED,
    "WIM_RESHDR_FLAG_SPANNED": 0x08,
    "WIM_RESHDR_FLAG_SOLID": 0x10,
}


# --- pack then unpack ---------------------------------------------------------------------------


def test_a_resource_header_round_trips_with_56_bit_sizes():
    res = Resource(size=(1 << 56) - 1, flags=0xFF, offset=(1 << 64) - 1, original_size=1 << 40)
    assert len(res.pack()) == 24
    assert Resource.unpack(res.pack()) == res
    assert Resource.unpack(b"xx" + res.pack(), 2) == res


def test_a_blob_table_entry_round_trips():
    entry = BlobEntry(
        resource=Resource(size=5, flags=RES_COMPRESSED, offset=208, original_size=9),
        part_number=3,
        ref_count=7,
        hash=bytes(range(20)),
    )
    packed = entry.pack()
    assert len(packed) == BLOB_ENTRY.size == 50
    assert BlobEntry.unpack(packed) == entry
    assert packed[24:26] == b"\3\0" and packed[26:30] == b"\7\0\0\0" and packed[30:] == entry.hash


def test_the_header_round_trips_every_field_in_its_place():
    header = Header(
        magic=b"MSWIM\0\0\0",
        header_size=HEADER_SIZE,
        version=0x10D00,
        flags=0x20082,
        chunk_size=65536,
        guid=bytes(range(16)),
        part_number=2,
        total_parts=3,
        image_count=4,
        blob_table=Resource(1, RES_METADATA, 2, 1),
        xml=Resource(3, RES_METADATA, 4, 3),
        boot_metadata=Resource(5, 6, 7, 8),
        boot_index=9,
        integrity=Resource(10, 0, 11, 10),
    )
    packed = header.pack()
    assert len(packed) == HEADER_SIZE
    assert Header.unpack(packed) == header
    # offsets from wimlib's struct wim_header_disk
    assert struct.unpack_from("<IIII", packed, 8) == (208, 0x10D00, 0x20082, 65536)
    assert packed[24:40] == header.guid
    assert struct.unpack_from("<HHI", packed, 40) == (2, 3, 4)
    assert Resource.unpack(packed, 48) == header.blob_table
    assert Resource.unpack(packed, 72) == header.xml
    assert Resource.unpack(packed, 96) == header.boot_metadata
    assert struct.unpack_from("<I", packed, 120) == (9,)
    assert Resource.unpack(packed, 124) == header.integrity
    assert packed[148:] == bytes(60)


def test_the_default_header_is_what_icd_writes():
    header = Header.unpack(Header().pack())
    assert header.flags == WRITE_FLAGS == 0x00020082
    assert (header.version, header.chunk_size, header.image_count) == (0x10D00, 32768, 1)


def dentry(**fields) -> Dentry:
    values = dict(
        attributes=ATTR_ARCHIVE,
        security_id=5,
        subdir_offset=0,
        unused_1=1,
        unused_2=2,
        creation_time=3,
        last_access_time=4,
        last_write_time=5,
        hash=bytes(range(1, 21)),
        reserved=6,
        hard_link_group=7,
        extra_streams=0,
        short_name="SETUP~1.EXE",
        name="Setup – installer.exe",
    )
    return Dentry(**(values | fields))


@pytest.mark.parametrize(
    "entry",
    [
        dentry(),
        dentry(short_name=""),
        dentry(name="", short_name="", attributes=ATTR_DIRECTORY, subdir_offset=120),
        dentry(name="x" * 255, extra_streams=3),
        dentry(name="😀"),
    ],
    ids=["names", "no short name", "root", "long name", "astral"],
)
def test_a_directory_entry_round_trips(entry):
    packed = entry.pack()
    assert len(packed) == entry.length == entry_length(entry.name, entry.short_name)
    assert len(packed) % 8 == 0
    assert int.from_bytes(packed[:8], "little") == len(packed)
    assert Dentry.unpack(packed) == entry
    assert Dentry.unpack(bytes(16) + packed, 16) == entry


def test_read_entry_walks_a_list_to_its_end_marker():
    a, b = dentry(name="a.txt"), dentry(name="b.txt", hash=ZERO_HASH)
    data = a.pack() + b.pack() + END_OF_LIST
    first = read_entry(data, 0)
    assert first == (a, a.hash, a.length)
    second = read_entry(data, a.length)
    assert second == (b, ZERO_HASH, a.length + b.length)
    assert read_entry(data, a.length + b.length) is None


def test_a_file_s_data_may_be_its_first_unnamed_stream():
    """wimlib's rule: a zero main hash defers to the first unnamed extra stream."""
    named, unnamed = bytes([1]) * 20, bytes([2]) * 20
    entry = dentry(name="f", hash=ZERO_HASH, extra_streams=2)
    name = "s".encode("utf-16-le") + b"\0\0"
    stream_named = struct.pack("<QQ20sH", 48, 0, named, 2) + name
    stream_named = stream_named.ljust(48, b"\0")
    stream_unnamed = struct.pack("<QQ20sH", 40, 0, unnamed, 0).ljust(40, b"\0")
    data = entry.pack() + stream_named + stream_unnamed + END_OF_LIST
    assert read_entry(data, 0) == (entry, unnamed, len(data) - 8)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (dentry().pack()[:50], "a directory entry has an invalid length"),
        (dentry(name="..").pack(), "unsafe file name"),
        (dentry(name="a\\b").pack(), "unsafe file name"),
        (dentry(attributes=ATTR_DIRECTORY, subdir_offset=1 << 20).pack(), "outside"),
        (dentry(extra_streams=1).pack(), "a stream entry is truncated"),
    ],
)
def test_a_damaged_entry_is_refused_with_its_reason(data, message):
    with pytest.raises(DamagedTree, match=message):
        read_entry(data, 0)


def test_the_security_data_gives_the_root_offset():
    assert root_offset(EMPTY_SECURITY + bytes(8)) == 8
    # total length 20 with one 4-byte size: rounded up to 24, as wimlib does
    assert root_offset(struct.pack("<III", 20, 1, 4) + bytes(20)) == 24
    for bad in (b"", struct.pack("<II", 64, 0), struct.pack("<II", 8, 5)):
        with pytest.raises(DamagedTree):
            root_offset(bad)


def test_the_image_xml_reads_back_what_was_written():
    info = ImageInfo(
        "Contoso <enrol> & co",
        description="Déploiement",
        author="IT",
        notes="VERSION=1;",
        version="1.2",
        altitude=5001,
        reset_clear=True,
        package_id="{0b0e}",
        timestamp=STAMP,
    )
    data = imagexml.pack(info, dir_count=3, file_count=9, total_bytes=1234, xml_offset=4321)
    assert data.startswith(b"\xff\xfe")
    props = imagexml.unpack(data, 1 << 20)
    assert props == {
        "NAME": info.name,
        "DESCRIPTION": info.description,
        "NOTES": info.notes,
        "AUTHOR": info.author,
        "VERSION": "1.2",
        "ALTITUDE": "5001",
        "RESETCLEAR": "1",
        "PACKAGEID": "{0b0e}",
        "DIRCOUNT": "3",
        "FILECOUNT": "9",
        "TOTALBYTES": "1234",
        "HARDLINKBYTES": "0",
        "CREATIONTIME": STAMP.isoformat(),
        "LASTMODIFICATIONTIME": STAMP.isoformat(),
        "WIMBOOT": "0",
    }


def test_filetime_round_trips_to_the_microsecond():
    assert from_filetime(filetime(STAMP)) == STAMP
    assert filetime(from_filetime(116444736000000000)) == 116444736000000000


def test_the_chunk_table_of_a_compressed_resource_reads_back():
    data = b"<parm name='x'/>" * 5000  # 80,000 bytes: three chunks
    packed = compress_resource(data)
    assert packed is not None
    count = chunk_count(len(data))
    assert count == 3 and chunk_entry_size(len(data)) == 4 and chunk_entry_size(1 << 33) == 8
    table_size = (count - 1) * 4
    starts = [*chunk_starts(packed[:table_size], len(data)), len(packed) - table_size]
    body = packed[table_size:]
    out = b"".join(
        decompress(body[starts[i] : starts[i + 1]], min(32768, len(data) - i * 32768))
        for i in range(count)
    )
    assert out == data


# --- the real samples, as wimlib reads them ----------------------------------------------------


def wimlib(*args: str | Path) -> str:
    env = os.environ | {"LC_ALL": "C", "TZ": "UTC"}
    result = subprocess.run(
        ["wimlib-imagex", *map(str, args)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def fields(block: str) -> dict[str, str]:
    """'Key = value' lines of a wimlib report; the first of each key wins."""
    out: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() not in out:
            out[key.strip()] = value.strip()
    return out


def flags_of(text: str) -> int:
    return sum(RESHDR_FLAG_NAMES[name] for name in text.split())


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_sample_header_unpacks_as_wimlib_reports_it(name):
    data = (SAMPLES / name).read_bytes()
    header = Header.unpack(data)
    report = fields(wimlib("info", SAMPLES / name, "--header"))
    assert report["Magic Characters"] == "MSWIM\\0\\0\\0" and header.magic == b"MSWIM\0\0\0"
    assert int(report["Header Size"]) == header.header_size
    assert int(report["Version"], 16) == header.version
    assert int(report["Flags"], 16) == header.flags
    assert int(report["Chunk Size"]) == header.chunk_size
    assert report["GUID"] == header.guid.hex()
    assert int(report["Part Number"]) == header.part_number
    assert int(report["Total Parts"]) == header.total_parts
    assert int(report["Image Count"]) == header.image_count
    assert int(report["Boot Index"]) == header.boot_index
    for label, res in [
        ("Blob Table", header.blob_table),
        ("XML Data", header.xml),
        ("Boot Metadata", header.boot_metadata),
        ("Integrity", header.integrity),
    ]:
        assert int(report[f"{label} Size"]) == res.size
        assert int(report[f"{label} Flags"], 16) == res.flags
        assert int(report[f"{label} Offset"]) == res.offset
        original = report.get(f"{label} Original Size", report.get(f"{label} Original_size"))
        assert int(original) == res.original_size
    assert header.pack() == data[:HEADER_SIZE]


def blob_entries(data: bytes) -> list[BlobEntry]:
    table = Header.unpack(data).blob_table
    end = table.offset + table.size
    return [BlobEntry.unpack(data, at) for at in range(table.offset, end, BLOB_ENTRY.size)]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_sample_blob_table_unpacks_as_wimlib_reports_it(name):
    data = (SAMPLES / name).read_bytes()
    ours = blob_entries(data)
    blocks = [b for b in wimlib("info", SAMPLES / name, "--blobs").split("\n\n") if "Hash" in b]
    assert len(ours) == len(blocks)
    theirs = {}
    for block in blocks:
        report = fields(block)
        theirs[bytes.fromhex(report["Hash"].removeprefix("0x"))] = report
    assert set(theirs) == {entry.hash for entry in ours}
    for entry in ours:
        report = theirs[entry.hash]
        assert int(report["Uncompressed size"].split()[0]) == entry.resource.original_size
        assert int(report["Compressed size"].split()[0]) == entry.resource.size
        assert int(report["Offset in WIM"].split()[0]) == entry.resource.offset
        assert int(report["Part Number"]) == entry.part_number
        assert int(report["Reference Count"]) == entry.ref_count
        assert flags_of(report["Flags"]) == entry.resource.flags
    table = Header.unpack(data).blob_table
    assert b"".join(e.pack() for e in ours) == data[table.offset : table.offset + table.size]


def metadata(data: bytes) -> bytes:
    """The image's metadata resource, decompressed with the structure modules alone."""
    res = next(e for e in blob_entries(data) if e.resource.flags & RES_METADATA).resource
    stored = data[res.offset : res.offset + res.size]
    if not res.flags & RES_COMPRESSED:
        return stored
    count, chunk = chunk_count(res.original_size), Header.unpack(data).chunk_size
    table_size = (count - 1) * chunk_entry_size(res.original_size)
    starts = [*chunk_starts(stored[:table_size], res.original_size), res.size - table_size]
    out = b""
    for i in range(count):
        piece = stored[table_size + starts[i] : table_size + starts[i + 1]]
        size = min(chunk, res.original_size - i * chunk)
        out += piece if len(piece) == size else decompress(piece, size)
    return out


def entries(meta: bytes) -> dict[str, tuple[Dentry, bytes]]:
    """'/'-rooted path -> (entry, data hash) for every entry, walked with read_entry."""
    at = root_offset(meta)
    root, digest, _ = read_entry(meta, at)
    out = {"/": (root, digest)}
    stack = [("/", root.subdir_offset)]
    while stack:
        prefix, at = stack.pop()
        while at and (found := read_entry(meta, at)) is not None:
            entry, digest, at = found
            out[prefix + entry.name] = (entry, digest)
            if entry.attributes & ATTR_DIRECTORY:
                stack.append((prefix + entry.name + "/", entry.subdir_offset))
    return out


def wimlib_time(value: int) -> str:
    return from_filetime(value).strftime("%a %b %d %H:%M:%S %Y UTC")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_sample_directory_tree_unpacks_as_wimlib_reports_it(name):
    ours = entries(metadata((SAMPLES / name).read_bytes()))
    listing = wimlib("dir", SAMPLES / name, "1").splitlines()
    assert sorted(ours) == sorted(listing)
    blocks = re.split(r"^-{20,}$", wimlib("dir", SAMPLES / name, "1", "--detailed"), flags=re.M)
    reports = [fields(b) for b in blocks if "Full Path" in b]
    assert len(reports) == len(ours)
    for report in reports:
        entry, digest = ours[report["Full Path"].strip('"')]
        assert report["Short Name"].strip('"') == entry.short_name
        assert int(report["Attributes"], 16) == entry.attributes
        assert report["Creation Time"] == wimlib_time(entry.creation_time)
        assert report["Last Write Time"] == wimlib_time(entry.last_write_time)
        assert report["Last Access Time"] == wimlib_time(entry.last_access_time)
        assert int(report["Link Group ID"], 16) == entry.hard_link_group
        assert bytes.fromhex(report["Hash"].removeprefix("0x")) == digest
    assert any(entry.short_name for entry, _ in ours.values())  # ICD stores 8.3 names
