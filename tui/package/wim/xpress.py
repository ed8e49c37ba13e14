"""XPRESS Huffman ("LZ77+Huffman", [MS-XCA] 2.2) decompression of one WIM chunk.

A chunk is a table of 512 four-bit codeword lengths (256 bytes) followed by a bitstream of
little-endian 16-bit words read high bit first, with match-length bytes interleaved. Each WIM
chunk is compressed on its own and decompresses to a size known from the resource.
"""

from __future__ import annotations

from functools import lru_cache

NUM_SYMBOLS = 512
TABLE_BYTES = NUM_SYMBOLS // 2
MAX_CODEWORD_LEN = 15
MAX_CHUNK = 65536


class XpressError(ValueError):
    """The compressed data is not valid XPRESS Huffman."""


@lru_cache(maxsize=32)
def _decode_table(lengths_table: bytes) -> list[int]:
    """Map every 15-bit prefix to (symbol << 4 | codeword length); 0 where no codeword fits."""
    lens = []
    for byte in lengths_table:
        lens += (byte & 0x0F, byte >> 4)
    table = [0] * (1 << MAX_CODEWORD_LEN)
    pos = 0
    for length in range(1, MAX_CODEWORD_LEN + 1):
        span = 1 << (MAX_CODEWORD_LEN - length)
        for symbol in range(NUM_SYMBOLS):
            if lens[symbol] == length:
                if pos + span > len(table):
                    raise XpressError("the Huffman code is over-subscribed")
                table[pos : pos + span] = [symbol << 4 | length] * span
                pos += span
    if pos == 0:
        raise XpressError("the Huffman code is empty")
    return table


def decompress(data: bytes, size: int) -> bytes:
    """Decompress one chunk to exactly size bytes, or raise XpressError."""
    if not 0 < size <= MAX_CHUNK:
        raise XpressError("the chunk size is out of range")
    if len(data) < TABLE_BYTES + 4:
        raise XpressError("the chunk is truncated")
    table = _decode_table(bytes(data[:TABLE_BYTES]))
    # Reading past the end yields zeros, as in other decoders; the caller checks SHA-1.
    src = bytes(data) + bytes(8)
    out = bytearray(size)
    n = 0  # bytes decoded so far
    pos = TABLE_BYTES + 4
    buf = (src[pos - 4] | src[pos - 3] << 8) << 16 | src[pos - 2] | src[pos - 1] << 8
    bits = 32  # valid bits in buf, right-aligned; kept >= 16 after every step
    try:
        while n < size:
            entry = table[(buf >> (bits - 15)) & 0x7FFF]
            length = entry & 15
            if not length:
                raise XpressError("the bitstream holds an unassigned codeword")
            bits -= length
            if bits < 16:
                buf = (buf & ((1 << bits) - 1)) << 16 | src[pos] | src[pos + 1] << 8
                pos += 2
                bits += 16
            symbol = entry >> 4
            if symbol < 256:
                out[n] = symbol
                n += 1
                continue
            match_len = symbol & 15
            offset_bits = (symbol >> 4) & 15
            if match_len == 15:
                match_len = src[pos]
                pos += 1
                if match_len == 255:
                    match_len = src[pos] | src[pos + 1] << 8
                    pos += 2
                    if match_len < 15:
                        raise XpressError("a match length is invalid")
                    match_len -= 15
                match_len += 15
            match_len += 3
            offset = (1 << offset_bits) | (buf >> (bits - offset_bits)) & ((1 << offset_bits) - 1)
            bits -= offset_bits
            if bits < 16:
                buf = (buf & ((1 << bits) - 1)) << 16 | src[pos] | src[pos + 1] << 8
                pos += 2
                bits += 16
            start = n - offset
            if start < 0 or match_len > size - n:
                raise XpressError("a match points outside the chunk")
            if offset >= match_len:
                out[n : n + match_len] = out[start : start + match_len]
            else:
                out[n : n + match_len] = (out[start:n] * (match_len // offset + 1))[:match_len]
            n += match_len
    except IndexError:
        raise XpressError("the bitstream runs past the end of the chunk") from None
    return bytes(out)
