"""XPRESS Huffman ("LZ77+Huffman", [MS-XCA] 2.2) compression and decompression of one chunk.

A chunk is a table of 512 four-bit codeword lengths (256 bytes) followed by a bitstream of
little-endian 16-bit words read high bit first, with match-length bytes interleaved. Each WIM
chunk is compressed on its own and decompresses to a size known from the resource (the chunk
table around the chunks is tui/package/wim/resource.py's).

The encoder's parse is greedy with one step of lazy evaluation. A dict maps each 4-byte prefix
to the last position where a match was tried. With 3-byte keys the output was larger (a 3-byte
match saves little, and its source displaces a better one in the dict) and slower. Positions
inside a match are not entered, so a later match can only start where an earlier item did; a
run of failed tries advances faster and faster, so incompressible data costs little. After the
parse, the per-item work is map/zip over the item columns, and the bitstream is a string of
'0'/'1' converted to 16-bit words in one go (much faster in Python than packing bit by bit).
"""

from __future__ import annotations

import heapq
import sys
from array import array
from collections import Counter
from functools import lru_cache
from itertools import accumulate, chain, repeat
from itertools import compress as select
from operator import le, lshift, mul, or_

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


# --- compression ---------------------------------------------------------------------------------

END_OF_DATA = 256
MIN_MATCH = 3
_KEY_BYTES = 4
_KEY = (1 << 8 * _KEY_BYTES) - 1
# equal low bytes of two 8-byte words, by the bit length of the lowest set bit of their XOR
_SAME_BYTES = (8, *((b - 1) >> 3 for b in range(1, 65)))
_SPEEDUP = 4  # after 2**_SPEEDUP failed tries in a row, step 2 bytes, then 3, ...


def compress(chunk: bytes) -> bytes | None:
    """One chunk (1 to 65536 bytes) in XPRESS Huffman form, or None if that is not smaller."""
    size = len(chunk)
    if not 0 < size <= MAX_CHUNK:
        raise ValueError("the chunk size is out of range")
    if size <= TABLE_BYTES + 4:
        return None
    data = bytes(chunk)
    starts, ends, lengths, offsets = zip(*_parse(data), strict=True)
    tables = _tables()
    symbols = list(
        map(or_, map(tables.symbol.__getitem__, offsets), map(tables.nibble.__getitem__, lengths))
    )
    freqs = [0] * NUM_SYMBOLS
    literals = b"".join(map(data.__getitem__, map(slice, starts, ends)))
    for symbol, count in chain(Counter(literals).items(), Counter(symbols).items()):
        freqs[symbol] = count
    lens = _code_lengths(freqs)
    bits = sum(map(mul, freqs, lens)) + sum(map(tables.offset_bits.__getitem__, offsets))
    extra_bytes = sum(map(tables.extra_bytes.__getitem__, lengths))
    if TABLE_BYTES + 2 * _words_loaded(bits) + extra_bytes >= size:
        return None  # known without building the bitstream (random data, mostly)
    words = _codewords(lens)
    text = data.decode("latin-1")
    pieces = list(
        chain.from_iterable(
            zip(
                map(str.translate, map(text.__getitem__, map(slice, starts, ends)), repeat(words)),
                map(words.__getitem__, symbols),
                map(tables.offset_str.__getitem__, offsets),
                strict=True,
            )
        )
    )
    stream = _words(pieces)
    table = bytes(map(or_, lens[0::2], map(lshift, lens[1::2], repeat(4))))
    out = bytearray(table)
    long_items = list(select(range(len(lengths)), map(le, repeat(18), lengths)))
    if long_items:
        consumed = list(accumulate(map(len, pieces)))
        at = 0
        for item in long_items:
            # the length bytes follow the words loaded once the match symbol is read
            upto = 2 * _words_loaded(consumed[3 * item + 1])
            out += stream[at:upto]
            extra = lengths[item] - MIN_MATCH
            out += bytes((extra - 15,)) if extra < 270 else bytes((255, extra & 0xFF, extra >> 8))
            at = upto
        out += stream[at:]
    else:
        out += stream
    return bytes(out)


def _parse(data: bytes) -> list[tuple[int, int, int, int]]:
    """(literal run start, run end, match length, offset) items; the last has length and
    offset 0 (its symbol is then END_OF_DATA)."""
    n = len(data)
    words = _windows(data)  # the 8 bytes at every position, as integers
    end = n - _KEY_BYTES + 1
    mask, speedup, extend, same = _KEY, _SPEEDUP, _extend, _SAME_BYTES
    last: dict[int, int] = {}
    get = last.get
    items = []
    append = items.append
    run = 0  # start of the pending literal run
    i = 0
    misses = 0
    while i < end:
        word = words[i]
        key = word & mask
        cand = get(key)
        last[key] = i
        if cand is None:
            misses += 1
            i += 1 + (misses >> speedup)
            continue
        diff = words[cand] ^ word
        length = same[(diff & -diff).bit_length()]
        if length == 8:
            length = extend(data, words, cand, i)
        elif length > n - i:
            length = n - i
        # One step of lazy evaluation: the next byte's match wins if it is longer.
        elif i + 1 < end:
            word = words[i + 1]
            key = word & mask
            cand2 = get(key)
            if cand2 is not None:
                diff = words[cand2] ^ word
                alt = same[(diff & -diff).bit_length()]
                if length < alt <= n - i - 1:
                    i += 1
                    last[key] = i
                    cand = cand2
                    length = alt if alt < 8 else extend(data, words, cand, i)
        append((run, i, length, i - cand))
        run = i = i + length
        misses = 0
    append((run, n, 0, 0))
    return items


def _windows(data: bytes) -> array:
    """The 8 bytes starting at every position (zero past the end), as little-endian integers,
    built in C eight positions at a time; an array, so only the words read become objects."""
    n = len(data)
    padded = bytes(data) + bytes(16)
    out = array("Q", bytes(8 * n))
    for k in range(8):
        count = len(range(k, n, 8))
        out[k::8] = array("Q", padded[k : k + count * 8])
    if sys.byteorder == "big":
        out.byteswap()
    return out


def _extend(data: bytes, words: array, cand: int, at: int) -> int:
    """Length of the common prefix of data[cand:] and data[at:] (whose first 8 bytes are
    equal), up to the end of data: a few 8-byte words, then slices of doubling size."""
    n = len(data)
    length = 8
    while length < 32 and at + length < n:
        diff = words[cand + length] ^ words[at + length]
        if diff:
            return min(length + (((diff & -diff).bit_length() - 1) >> 3), n - at)
        length += 8
    limit = n - at
    step = 32
    while length < limit:
        m = min(step, limit - length)
        a = data[cand + length : cand + length + m]
        b = data[at + length : at + length + m]
        if a != b:
            diff = int.from_bytes(a, "little") ^ int.from_bytes(b, "little")
            return length + (((diff & -diff).bit_length() - 1) >> 3)
        length += m
        step <<= 1
    return limit


class _Tables:
    """Per-offset and per-length lookups, so the item columns are processed by map()."""

    def __init__(self) -> None:
        offsets = range(1, MAX_CHUNK)
        # offset 0 marks the last item: END_OF_DATA, no offset bits
        self.symbol = [END_OF_DATA, *(256 | (o.bit_length() - 1) << 4 for o in offsets)]
        self.offset_bits = [0, *(o.bit_length() - 1 for o in offsets)]
        self.offset_str = ["", *(bin(o)[3:] for o in offsets)]  # the bits below the leading 1
        lengths = range(MIN_MATCH, MAX_CHUNK + 1)
        self.nibble = [0, 0, 0, *(min(length - MIN_MATCH, 15) for length in lengths)]
        self.extra_bytes = [0] * 18 + [1] * 255
        self.extra_bytes += [3] * (len(self.nibble) - len(self.extra_bytes))


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    return _Tables()


def _code_lengths(freqs: list[int]) -> list[int]:
    """Huffman codeword lengths of at most 15 bits; flattens the counts until they fit."""
    while True:
        lens = _huffman_lengths(freqs)
        if max(lens) <= MAX_CODEWORD_LEN:
            return lens
        freqs = [(f >> 1) | 1 if f else 0 for f in freqs]


def _huffman_lengths(freqs: list[int]) -> list[int]:
    """Depth of every symbol in a Huffman tree; ties go to the lower symbol, then to the
    older subtree, so the result is deterministic."""
    heap = [(f, s) for s, f in enumerate(freqs) if f]
    lens = [0] * len(freqs)
    if len(heap) == 1:
        lens[heap[0][1]] = 1
        return lens
    heapq.heapify(heap)
    parent = {}
    node = len(freqs)  # internal nodes are numbered from here, in the order they are made
    while len(heap) > 1:
        f1, a = heapq.heappop(heap)
        f2, b = heapq.heappop(heap)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (f1 + f2, node))
        node += 1
    depth = {node - 1: 0}
    for inner in range(node - 2, len(freqs) - 1, -1):
        depth[inner] = depth[parent[inner]] + 1
    for symbol in range(len(freqs)):
        if freqs[symbol]:
            lens[symbol] = depth[parent[symbol]] + 1
    return lens


def _codewords(lens: list[int]) -> list[str]:
    """Canonical codewords as '0'/'1' strings: by length, then by symbol, as the decoder."""
    words = [""] * len(lens)
    code = prev = 0
    for length, symbol in sorted((n, s) for s, n in enumerate(lens) if n):
        code <<= length - prev
        words[symbol] = format(code, f"0{length}b")
        code += 1
        prev = length
    return words


def _words(pieces: list[str]) -> bytearray:
    """The bit string as the 16-bit little-endian words the decoder loads."""
    bits = "".join(pieces)
    nwords = _words_loaded(len(bits))
    be = int(bits.ljust(nwords * 16, "0"), 2).to_bytes(nwords * 2, "big")
    stream = bytearray(len(be))
    stream[0::2] = be[1::2]
    stream[1::2] = be[0::2]
    return stream


def _words_loaded(consumed: int) -> int:
    """16-bit words the decoder has read once it has used this many bits: two at the start,
    then one more each time fewer than 16 unused bits remain."""
    return max(2, -(-consumed // 16) + 1)
