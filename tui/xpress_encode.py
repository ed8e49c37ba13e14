"""XPRESS Huffman compression of WIM resources (the decoder is tui/xpress.py)."""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from collections import Counter
from functools import lru_cache
from itertools import compress as compress_items
from itertools import repeat
from operator import and_, itemgetter, mul

from tui.xpress import MAX_CHUNK, MAX_CODEWORD_LEN, NUM_SYMBOLS, TABLE_BYTES

# The parse is greedy with one step of lazy evaluation; matches are found through a dict of
# the last position of every 3-byte prefix. The bitstream is built as a string of '0'/'1'
# and converted to words in one go, which is much faster in Python than packing bit by bit.

END_OF_DATA = 256
MIN_MATCH = 3
WIM_CHUNK = 32768
_FAR_MATCH3 = 1 << 9  # a 3-byte match further away than this costs more than 3 literals


def compress(chunk: bytes) -> bytes | None:
    """One chunk (1 to 65536 bytes) in XPRESS Huffman form, or None if that is not smaller."""
    size = len(chunk)
    if not 0 < size <= MAX_CHUNK:
        raise ValueError("the chunk size is out of range")
    if size <= TABLE_BYTES + 4:
        return None
    items = _parse(bytes(chunk))
    freqs = _frequencies(chunk, items)
    lens = _code_lengths(freqs)
    if _packed_size(items, freqs, lens) >= size:
        return None  # known without building the bitstream (random data, mostly)
    return _bitstream(chunk, items, lens)


def compress_resource(data: bytes, chunk_size: int = WIM_CHUNK) -> bytes | None:
    """A WIM resource: the chunk table then every chunk, each compressed when that makes it
    smaller; None when the whole is not smaller than data (store it raw then)."""
    table = bytearray()
    body = bytearray()
    for at in range(0, len(data), chunk_size):
        if at:
            table += (len(body)).to_bytes(8 if len(data) > 0xFFFFFFFF else 4, "little")
        piece = data[at : at + chunk_size]
        body += compress(piece) or piece
    if len(table) + len(body) >= len(data):
        return None
    return bytes(table + body)


def _parse(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """(literal run start, run end, match length, offset, match symbol) items; the last has
    length 0."""
    n = len(data)
    words = _windows(data)  # the 8 bytes at every position, as integers
    end = n - MIN_MATCH + 1
    keys = list(map(and_, words[:end], repeat(0xFFFFFF)))
    # prev[i] = 1 + the last position before i with the same 3 bytes, 0 if none; computed in
    # C (each key is looked up, then its position stored) rather than in a Python loop.
    last = dict.fromkeys(keys, 0)
    lookups = map(last.__getitem__, keys)
    stores = map(last.__setitem__, keys, range(1, end + 1))
    prev = list(map(itemgetter(0), zip(lookups, stores, strict=True)))
    prev.append(0)
    hits = list(compress_items(range(end), prev))
    high = _offset_symbols()
    items = []
    run = 0  # start of the pending literal run, and the first position not yet covered
    k = 0
    while k < len(hits):
        i = hits[k]
        k += 1
        if i < run:
            k = bisect_left(hits, run, k)
            continue
        cand = prev[i] - 1
        diff = words[cand] ^ words[i]
        length = ((diff & -diff).bit_length() - 1) >> 3 if diff else _extend(data, cand, i, n)
        if length > n - i:
            length = n - i
        if length < 3 or (length == 3 and i - cand > _FAR_MATCH3):
            continue
        # One step of lazy evaluation: the next byte's match wins if it is longer.
        if length < 8 and prev[i + 1]:
            cand2 = prev[i + 1] - 1
            diff = words[cand2] ^ words[i + 1]
            alt = ((diff & -diff).bit_length() - 1) >> 3 if diff else 8
            if length < alt <= n - i - 1:
                i += 1
                cand, length = cand2, alt if alt < 8 else _extend(data, cand2, i, n)
        offset = i - cand
        items.append((run, i, length, offset, high[offset] | (length - 3 if length < 18 else 15)))
        run = i + length
    items.append((run, n, 0, 0, 0))
    return items


def _windows(data: bytes) -> list[int]:
    """The 8 bytes starting at every position (zero past the end), as little-endian integers,
    built in C eight positions at a time."""
    n = len(data)
    padded = bytes(data) + bytes(16)
    out = [0] * n
    for k in range(8):
        count = len(range(k, n, 8))
        words = array("Q", padded[k : k + count * 8])
        if sys.byteorder == "big":
            words.byteswap()
        out[k::8] = words
    return out


def _extend(data: bytes, cand: int, at: int, n: int) -> int:
    """Length of the common prefix of data[cand:] and data[at:], at most n - at."""
    length = 0
    step = 8
    limit = n - at
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


@lru_cache(maxsize=1)
def _offset_symbols() -> list[int]:
    """256 + (offset bits << 4) for every offset: the match symbol without its length nibble."""
    return [0, *(256 | (offset.bit_length() - 1) << 4 for offset in range(1, MAX_CHUNK))]


def _frequencies(data: bytes, items) -> list[int]:
    freqs = [0] * NUM_SYMBOLS
    for byte, count in Counter(b"".join(data[a:b] for a, b, *_ in items)).items():
        freqs[byte] = count
    for symbol, count in Counter(map(itemgetter(4), items)).items():
        freqs[symbol] += count
    freqs[0] -= 1  # the last item is no match
    freqs[END_OF_DATA] += 1
    return freqs


def _code_lengths(freqs: list[int]) -> list[int]:
    """Huffman codeword lengths of at most 15 bits; flattens the counts until they fit."""
    while True:
        lens = _huffman_lengths(freqs)
        if max(lens) <= MAX_CODEWORD_LEN:
            return lens
        freqs = [(f >> 1) | 1 if f else 0 for f in freqs]


def _huffman_lengths(freqs: list[int]) -> list[int]:
    import heapq

    heap = [(f, s, (s,)) for s, f in enumerate(freqs) if f]
    lens = [0] * len(freqs)
    if len(heap) == 1:
        lens[heap[0][1]] = 1
        return lens
    heapq.heapify(heap)
    tie = len(freqs)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for s in a + b:
            lens[s] += 1
        heapq.heappush(heap, (f1 + f2, tie, a + b))
        tie += 1
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


def _packed_size(items, freqs: list[int], lens: list[int]) -> int:
    """The exact length _bitstream will produce."""
    bits = sum(map(mul, freqs, lens))
    extra_bytes = 0
    for _, _, length, offset, _ in items:
        if length:
            bits += offset.bit_length() - 1
            if length >= 18:
                extra_bytes += 1 if length - 18 < 255 else 3
    return TABLE_BYTES + 2 * _words_loaded(bits) + extra_bytes


def _bitstream(data: bytes, items, lens: list[int]) -> bytes:
    """The 256-byte length table, then the bitstream with match-length bytes interleaved
    exactly where the decoder reads them."""
    words = _codewords(lens)
    codeword = words.__getitem__
    segments: list[str] = []
    pieces: list[str] = []
    consumed = 0
    inserts: list[tuple[int, bytes]] = []  # (bits consumed when read, length bytes)
    for a, b, length, offset, symbol in items:
        if a < b:
            pieces.append("".join(map(codeword, data[a:b])))
        if not length:
            continue
        pieces.append(words[symbol])
        extra = length - MIN_MATCH
        if extra >= 15:
            segment = "".join(pieces)
            pieces = []
            segments.append(segment)
            consumed += len(segment)
            if extra - 15 < 255:
                inserts.append((consumed, bytes((extra - 15,))))
            else:
                inserts.append((consumed, bytes((255, extra & 0xFF, extra >> 8))))
        pieces.append(bin(offset)[3:])  # the bits below the implicit leading 1
    pieces.append(words[END_OF_DATA])
    bits = "".join(segments) + "".join(pieces)
    nwords = _words_loaded(len(bits))
    be = int(bits.ljust(nwords * 16, "0"), 2).to_bytes(nwords * 2, "big")
    stream = bytearray(len(be))
    stream[0::2] = be[1::2]
    stream[1::2] = be[0::2]
    table = bytes(lens[i] | lens[i + 1] << 4 for i in range(0, NUM_SYMBOLS, 2))
    out = bytearray(table)
    at = 0
    for consumed, extra_bytes in inserts:
        upto = 2 * _words_loaded(consumed)
        out += stream[at:upto]
        out += extra_bytes
        at = upto
    out += stream[at:]
    return bytes(out)


def _words_loaded(consumed: int) -> int:
    """16-bit words the decoder has read once it has used this many bits: two at the start,
    then one more each time fewer than 16 unused bits remain."""
    return max(2, -(-consumed // 16) + 1)
