"""The reader on damaged and hostile packages: every case ends in success or one UserError that
names the file -- never a traceback, a hang, a huge allocation or endless recursion.

Damage is generated with a fixed-seed random generator, so failures reproduce.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import resource
import signal
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import SAMPLES
from test_wim_writer import blob_table, build, payload, resource_bytes, run

from tui.errors import UserError
from tui.package.wim.header import Header
from tui.package.wim.reader import WimReader
from tui.package.wim.resource import BLOB_ENTRY, RES_METADATA, RESHDR, Resource

HANG_GUARD_SECONDS = 20  # a hang detector only; a case normally takes milliseconds
INTERESTING = [0, 1, 7, 8, 49, 50, 51, 103, 104, 208, 0x7FFFFFFF, 0xFFFFFFFF, 1 << 32]
INTERESTING += [(1 << 55) + 3, (1 << 56) - 1, 1 << 63, (1 << 64) - 1]


@contextlib.contextmanager
def hang_guard(seconds: int = HANG_GUARD_SECONDS) -> Iterator[None]:
    def expired(*_: object) -> None:
        raise TimeoutError("the reader did not finish")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(autouse=True)
def bounded_memory() -> Iterator[None]:
    """A huge allocation becomes MemoryError, which fails the test (it is not a UserError)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        in_use = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (in_use + (1 << 30), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def outcome(path: Path) -> str:
    """Open, list and read everything; 'ok' or 'error' (a proper UserError)."""
    with hang_guard():
        try:
            with WimReader(path) as reader:
                for name in reader.files():
                    reader.read(name)
                    with reader.open(name) as stream:
                        while stream.read(50_000):
                            pass
                reader.info.get("NAME")
        except UserError as e:
            message = str(e)
            assert str(path) in message, message
            assert "\n" not in message and message.endswith("."), message
            return "error"
    return "ok"


@pytest.fixture(scope="module")
def targets(tmp_path_factory) -> dict[str, bytes]:
    """Real ICD packages, our own output, and wimlib's XPRESS output with several chunks."""
    tmp = tmp_path_factory.mktemp("targets")
    found = {p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*.ppkg"))}
    files = {
        "Multivariant/0/Prov/RunTime.xml": payload(900, seed=1),
        "Multivariant/0/Prov/RunTime/0__A.provxml": payload(2000, seed=2),
        "CommonSettings/1/AnswerFile.xml": payload(900, seed=1),
        "empty.txt": b"",
        "DataAsset/2/x/setup.exe": payload(40_000, seed=3),  # two chunks
    }
    found["ours.ppkg"] = build(tmp / "ours.ppkg", files).read_bytes()
    tree = tmp / "tree"
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    run("wimlib-imagex", "capture", tree, tmp / "w.wim", "W", "--compress=xpress")
    found["wimlib-xpress.wim"] = (tmp / "w.wim").read_bytes()
    return found


def check_all(tmp_path: Path, variants: Iterator[bytes]) -> dict[str, int]:
    counts = {"ok": 0, "error": 0}
    path = tmp_path / "case.ppkg"
    for data in variants:
        path.write_bytes(data)
        counts[outcome(path)] += 1
    return counts


TARGET_NAMES = [
    "iot-adk-enroll.ppkg",
    "iot-adk-prosku.ppkg",
    "iot-adk-sampleb-x86.ppkg",
    "mosd.ppkg",
    "ours.ppkg",
    "wimlib-xpress.wim",
]


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_undamaged_targets_read(targets, tmp_path, name):
    assert check_all(tmp_path, iter([targets[name]])) == {"ok": 1, "error": 0}


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_truncated_at_many_offsets(targets, tmp_path, name):
    data = targets[name]
    rng = random.Random(f"truncate {name}")
    cuts = set(range(0, 240, 3)) | set(range(len(data) - 200, len(data)))
    cuts |= {rng.randrange(len(data)) for _ in range(60)}
    counts = check_all(tmp_path, (data[:cut] for cut in sorted(cuts)))
    assert counts["ok"] == 0  # every byte of a WIM is needed, the last byte ends the XML


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_flipped_bytes(targets, tmp_path, name):
    data = targets[name]
    rng = random.Random(f"flip {name}")

    def variants() -> Iterator[bytes]:
        for _ in range(250):
            damaged = bytearray(data)
            for _ in range(rng.choice((1, 1, 2, 8))):
                damaged[rng.randrange(len(data))] ^= rng.randrange(1, 256)
            yield bytes(damaged)

    counts = check_all(tmp_path, variants())
    assert counts["error"] > 0


def resource_slots(data: bytes) -> list[int]:
    """Offsets of every resource header: blob table and XML in the header, then each entry."""
    table = Header.unpack(data).blob_table
    slots = [48, 72, 96, 124]
    slots += range(table.offset, table.offset + table.size, BLOB_ENTRY.size)
    return slots


# Which resource-header fields a variant sets to an absurd value; one test each, so no test
# runs long (every slot of every target is still tried with every value).
FIELDS_DAMAGED = ("size", "offset", "original size", "both sizes", "flags")


@pytest.mark.parametrize("damaged_field", FIELDS_DAMAGED)
@pytest.mark.parametrize("name", ["mosd.ppkg", "ours.ppkg", "wimlib-xpress.wim"])
def test_absurd_sizes_offsets_and_flags_in_resource_headers(targets, tmp_path, name, damaged_field):
    data = targets[name]

    def fields(slot: int) -> Iterator[tuple[int, int, int]]:
        size_flags, offset, original = RESHDR.unpack_from(data, slot)
        size, flags = size_flags & ((1 << 56) - 1), size_flags >> 56
        if damaged_field == "flags":
            for new_flags in (0, 1, 2, 4, 6, 8, 0x10, 0xFF):
                yield size | new_flags << 56, offset, original
            return
        for value in INTERESTING + [len(data) - 1, len(data), len(data) + 1]:
            small = value & ((1 << 56) - 1)
            yield {
                "size": (small | flags << 56, offset, original),
                "offset": (size_flags, value, original),
                "original size": (size_flags, offset, value),
                "both sizes": (small | flags << 56, offset, value),
            }[damaged_field]

    def variants() -> Iterator[bytes]:
        for slot in resource_slots(data):
            for values in fields(slot):
                damaged = bytearray(data)
                RESHDR.pack_into(damaged, slot, *values)
                yield bytes(damaged)

    counts = check_all(tmp_path, variants())
    assert counts["error"] > 0


@pytest.mark.parametrize(
    ("field", "at", "fmt", "values"),
    [
        ("header size", 8, "<I", [0, 207, 209, 0xFFFFFFFF]),
        ("version", 12, "<I", [0, 0x10900, 0xE00, 0xFFFFFFFF]),
        ("flags", 16, "<I", [0, 2, 0x80, 0x40002, 0x80002, 0x200002, 0x20008, 0xFFFFFFFF]),
        ("chunk size", 20, "<I", [0, 1, 4095, 4096, 32767, 65536, 131072, 0xFFFFFFFF]),
        ("part", 40, "<H", [0, 2, 0xFFFF]),
        ("parts", 42, "<H", [0, 2, 0xFFFF]),
        ("images", 44, "<I", [0, 2, 0xFFFFFFFF]),
    ],
)
def test_absurd_header_fields(targets, tmp_path, field, at, fmt, values):
    variants = []
    for name in ("mosd.ppkg", "ours.ppkg"):
        for value in values:
            damaged = bytearray(targets[name])
            struct.pack_into(fmt, damaged, at, value)
            variants.append(bytes(damaged))
    counts = check_all(tmp_path, iter(variants))
    assert counts["error"] > 0, field


# --- the directory tree, with its checksum fixed up so the tree parser itself is attacked -----


def with_metadata(data: bytes, change: Callable[[bytearray], None]) -> bytes:
    """Apply change to the (decompressed) metadata resource of our own WIM, store the result
    raw after the XML data, and point the blob table at it with its SHA-1 fixed."""
    out = bytearray(data)
    meta = bytearray(metadata_of(data))
    size = len(meta)
    change(meta)
    assert len(meta) == size
    table = Header.unpack(data).blob_table
    moved = Resource(len(meta), RES_METADATA, len(out), len(meta))
    out[table.offset : table.offset + RESHDR.size] = moved.pack()
    digest_at = table.offset + BLOB_ENTRY.size - 20
    out[digest_at : digest_at + 20] = hashlib.sha1(meta).digest()
    return bytes(out + meta)


def entries(meta: bytes) -> list[int]:
    """Offsets of every directory entry, in file order (root first)."""
    found, at = [], 8
    while at + 8 <= len(meta):
        length = struct.unpack_from("<Q", meta, at)[0]
        if length == 0:
            at += 8
            continue
        found.append(at)
        at += length
    return found


@pytest.fixture
def ours(targets) -> bytes:
    return targets["ours.ppkg"]


def metadata_of(data: bytes) -> bytes:
    """Our metadata resource, decompressed (we write it XPRESS-compressed, as ICD)."""
    return resource_bytes(data, blob_table(data)[0][0])


def test_fixed_up_metadata_still_reads(ours, tmp_path):
    assert check_all(tmp_path, iter([with_metadata(ours, lambda m: None)]))["ok"] == 1


def test_directory_cycles_are_detected(ours, tmp_path):
    meta = metadata_of(ours)
    folders = [at for at in entries(meta) if struct.unpack_from("<I", meta, at + 8)[0] & 0x10]
    root_children = struct.unpack_from("<Q", meta, folders[0] + 16)[0]

    def variants() -> Iterator[bytes]:
        for folder in folders[1:]:
            own_list = struct.unpack_from("<Q", meta, folder + 16)[0]
            for target in (root_children, folder, 8, own_list + 8):
                yield with_metadata(
                    ours,
                    lambda m, f=folder, t=target: m.__setitem__(
                        slice(f + 16, f + 24), struct.pack("<Q", t)
                    ),
                )

    counts = check_all(tmp_path, variants())
    assert counts["ok"] < counts["error"]


def test_a_self_referencing_folder_is_a_loop(ours, tmp_path):
    meta = metadata_of(ours)
    folder = next(
        at for at in entries(meta)[1:] if struct.unpack_from("<I", meta, at + 8)[0] & 0x10
    )
    own_list = struct.unpack_from("<Q", meta, folder + 16)[0]
    # Point the first child of the folder's list back at the folder's own list.
    child = own_list
    damaged = with_metadata(
        ours,
        lambda m: m.__setitem__(
            slice(child + 8, child + 24), struct.pack("<IiQ", 0x10, -1, own_list)
        ),
    )
    path = tmp_path / "loop.ppkg"
    path.write_bytes(damaged)
    with pytest.raises(UserError, match="loops"):
        WimReader(path)


@pytest.mark.parametrize(
    ("offset_in_entry", "fmt", "values"),
    [
        (0, "<Q", [1, 9, 101, 102, 103, 1 << 20, (1 << 64) - 1]),  # entry length
        (8, "<I", [0, 0x10, 0x400, 0x410, 0xFFFFFFFF]),  # attributes
        (16, "<Q", [1, 7, 9, 1 << 40, (1 << 64) - 1]),  # subdir offset
        (96, "<H", [1, 2, 0xFFFF]),  # extra streams
        (98, "<H", [1, 2, 0xFFFE]),  # short name length
        (100, "<H", [0, 1, 3, 0xFFFE]),  # name length
    ],
)
def test_absurd_directory_entry_fields(ours, tmp_path, offset_in_entry, fmt, values):
    meta = metadata_of(ours)

    def variants() -> Iterator[bytes]:
        for at in entries(meta):
            for value in values:
                yield with_metadata(
                    ours, lambda m, a=at, v=value: struct.pack_into(fmt, m, a + offset_in_entry, v)
                )

    counts = check_all(tmp_path, variants())
    assert counts["error"] > 0


def test_security_ids_are_ignored(ours, tmp_path):
    """Descriptors are never applied, so a dangling security id does not matter."""
    meta = metadata_of(ours)
    damaged = with_metadata(
        ours, lambda m: [struct.pack_into("<i", m, at + 12, 0x7FFFFFFF) for at in entries(meta)]
    )
    assert check_all(tmp_path, iter([damaged])) == {"ok": 1, "error": 0}


@pytest.mark.parametrize("name", ["..", ".", "a/b", "a\\b", "a\0b"])
def test_unsafe_names_are_refused(ours, tmp_path, name):
    meta = metadata_of(ours)
    first_file = next(
        at for at in entries(meta) if not struct.unpack_from("<I", meta, at + 8)[0] & 0x10
    )
    encoded = name.encode("utf-16-le")

    def change(m: bytearray) -> None:
        struct.pack_into("<H", m, first_file + 100, len(encoded))
        m[first_file + 102 : first_file + 102 + len(encoded) + 2] = encoded + b"\0\0"

    path = tmp_path / "unsafe.ppkg"
    path.write_bytes(with_metadata(ours, change))
    with pytest.raises(UserError, match="unsafe file name"):
        WimReader(path)


@pytest.mark.parametrize(("total", "count"), [(0xFFFFFFF8, 0), (8, 0xFFFFFFFF), (16, 2), (7, 0)])
def test_absurd_security_data(ours, tmp_path, total, count):
    damaged = with_metadata(ours, lambda m: struct.pack_into("<II", m, 0, total, count))
    assert check_all(tmp_path, iter([damaged])) in ({"ok": 0, "error": 1}, {"ok": 1, "error": 0})


@pytest.mark.parametrize("part", range(4))  # 4 x 100 seeded variants, each part short
def test_random_damage_inside_the_directory_tree(ours, tmp_path, part):
    meta_len = len(metadata_of(ours))
    rng = random.Random(f"metadata {part}")

    def variants() -> Iterator[bytes]:
        for _ in range(100):
            flips = [
                (rng.randrange(meta_len), rng.randrange(1, 256))
                for _ in range(rng.choice((1, 2, 4)))
            ]

            def change(m: bytearray, flips=flips) -> None:
                for at, bits in flips:
                    m[at] ^= bits

            yield with_metadata(ours, change)

    counts = check_all(tmp_path, variants())
    assert counts["ok"] > 0 and counts["error"] > 0


def test_hostile_xml_is_not_expanded(ours, tmp_path):
    """A billion-laughs XML data resource must not blow up memory or time."""
    bomb = (
        '<!DOCTYPE WIM [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
        + ']><WIM><IMAGE INDEX="1"><NAME>&j;</NAME></IMAGE></WIM>'
    )
    xml = b"\xff\xfe" + bomb.encode("utf-16-le")
    data = bytearray(ours)
    old = Header.unpack(data).xml
    data = data[: old.offset] + xml
    data[72:96] = Resource(len(xml), 0x02, old.offset, len(xml)).pack()
    path = tmp_path / "bomb.ppkg"
    path.write_bytes(data)
    assert outcome(path) == "error"
    with pytest.raises(UserError, match=r"its XML data is carrying a DTD \(<!DOCTYPE>\)"):
        WimReader(path)
