"""The XPRESS Huffman encoder: seeded random and structured inputs, encode -> decode identity
(our decoder), Huffman limits, and real readers (wimlib-imagex, 7-Zip) on WIMs holding them."""

from __future__ import annotations

import random
import struct
import subprocess
from datetime import UTC, datetime

import pytest

from tui.package.wim.imagexml import ImageInfo
from tui.package.wim.resource import CHUNK_SIZE as WIM_CHUNK
from tui.package.wim.resource import compress_resource
from tui.package.wim.writer import write_wim
from tui.package.wim.xpress import MAX_CODEWORD_LEN, _code_lengths, compress, decompress

pytestmark = pytest.mark.usefixtures("real_readers_check")
RNG_SEED = 20250304


def text(rng: random.Random, size: int) -> bytes:
    words = [b"<parm", b"name=", b'"Value"', b"datatype", b"string", b"\r\n  ", b"Policy"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + rng.choice([b" ", b"/>", b"_", str(rng.randrange(99)).encode()])
    return bytes(out[:size])


def runs(rng: random.Random, size: int) -> bytes:
    out = bytearray()
    while len(out) < size:
        out += bytes([rng.randrange(256)]) * rng.randrange(1, 700)
    return bytes(out[:size])


def cases() -> dict[str, bytes]:
    rng = random.Random(RNG_SEED)
    out = {
        "empty": b"",
        "one byte": b"\x7f",
        "zeros 32 KiB": bytes(WIM_CHUNK),
        "zeros 64 KiB": bytes(2 * WIM_CHUNK),
        "two bytes alternating": b"ab" * 40000,
        "all byte values": bytes(range(256)) * 300,
        # the second chunk repeats the first: chunks are independent, so it is compressed
        # from scratch rather than as one long match into the previous chunk
        "chunk repeated": (lambda c: c + c + c[:100])(rng.randbytes(WIM_CHUNK)),
        "random": rng.randbytes(100_000),
        "text then random": text(rng, 40_000) + rng.randbytes(30_000),
    }
    for size in (255, 256, 259, 260, 261, 262, 1000, WIM_CHUNK - 1, WIM_CHUNK, WIM_CHUNK + 1):
        out[f"text {size}"] = text(rng, size)
        out[f"runs {size}"] = runs(rng, size)
        out[f"random {size}"] = rng.randbytes(size)
    for i in range(20):
        size = rng.choice(
            [rng.randrange(1, 300), rng.randrange(300, 5000), rng.randrange(1, 80000)]
        )
        out[f"mixed {i}"] = b"".join(
            rng.choice([text, runs, lambda r, n: r.randbytes(n)])(rng, rng.randrange(1, 3000))
            for _ in range(1 + size // 1500)
        )[:size]
    return out


CASES = cases()


def unpack_resource(packed: bytes, size: int) -> bytes:
    """The format's rules: a table of 4-byte chunk offsets relative to its end, then chunks;
    a chunk as long as its content is stored raw."""
    count = -(-size // WIM_CHUNK)
    table = (count - 1) * 4
    starts = [0, *struct.unpack(f"<{count - 1}I", packed[:table]), len(packed) - table]
    out = bytearray()
    for i in range(count):
        chunk = packed[table + starts[i] : table + starts[i + 1]]
        usize = min(WIM_CHUNK, size - i * WIM_CHUNK)
        assert 0 < len(chunk) <= usize
        out += chunk if len(chunk) == usize else decompress(chunk, usize)
    return bytes(out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_chunk_decodes_to_itself_and_is_smaller(name):
    data = CASES[name]
    for at in range(0, len(data), WIM_CHUNK):
        chunk = data[at : at + WIM_CHUNK]
        packed = compress(chunk)
        assert packed == compress(chunk)  # deterministic
        if packed is not None:
            assert len(packed) < len(chunk)
            assert decompress(packed, len(chunk)) == chunk


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_resource_decodes_to_itself_or_is_left_raw(name):
    data = CASES[name]
    packed = compress_resource(data)
    if packed is None:
        return
    assert len(packed) < len(data)
    assert unpack_resource(packed, len(data)) == data


def test_what_is_compressed_and_what_is_not():
    assert compress_resource(b"") is None
    assert compress_resource(b"\x7f") is None
    assert compress_resource(CASES["random"]) is None
    assert compress_resource(CASES["random 261"]) is None
    zeros = compress_resource(bytes(WIM_CHUNK))
    assert zeros is not None and len(zeros) < 300
    # a random block repeated: each chunk is compressed on its own, so no chunk can refer to
    # the copy before it, and each stays raw
    assert compress_resource(CASES["chunk repeated"]) is None
    text_then_random = compress_resource(CASES["text then random"])
    assert text_then_random is not None  # the text chunk gains, the random ones stay raw


def test_chunks_larger_than_64_kib_are_refused():
    with pytest.raises(ValueError):
        compress(bytes(65537))
    with pytest.raises(ValueError):
        compress(b"")
    assert decompress(compress(bytes(65536)), 65536) == bytes(65536)


def test_code_lengths_are_limited_to_15_bits_and_complete():
    fib = [1, 1]
    while len(fib) < 40:
        fib.append(fib[-1] + fib[-2])
    freqs = fib + [0] * (512 - len(fib))
    lens = _code_lengths(freqs)
    assert max(lens) <= MAX_CODEWORD_LEN
    assert all((n > 0) == (f > 0) for n, f in zip(lens, freqs, strict=True))
    assert sum(2.0**-n for n in lens if n) == 1.0
    assert _code_lengths([0] * 300 + [5] + [0] * 211)[300] == 1  # a lone symbol gets 1 bit


def test_wimlib_and_7zip_read_the_encoded_inputs(tmp_path):
    stamp = datetime(2025, 3, 4, tzinfo=UTC)
    files = {f"cases/{i:02}.bin": data for i, (_, data) in enumerate(sorted(CASES.items()))}
    streamed = tmp_path / "src" / "text.xml"
    streamed.parent.mkdir()
    streamed.write_bytes(CASES["text then random"] + CASES["text 32768"])
    wim = tmp_path / "cases.wim"
    with open(wim, "wb") as out:
        write_wim(
            out, [*files.items(), ("streamed.xml", streamed)], ImageInfo("x", timestamp=stamp)
        )
    files["streamed.xml"] = streamed.read_bytes()
    for tool, args in {
        "wimlib": ["wimlib-imagex", "apply", str(wim), "1", str(tmp_path / "wimlib")],
        "7zz": ["7zz", "x", "-y", f"-o{tmp_path / '7zz'}", str(wim)],
    }.items():
        subprocess.run(args, check=True, capture_output=True)
        root = tmp_path / tool
        got = {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }
        assert got == files
    info = subprocess.run(
        ["wimlib-imagex", "info", "--blobs", str(wim)], check=True, capture_output=True, text=True
    ).stdout
    assert info.count("WIM_RESHDR_FLAG_COMPRESSED") > 10
