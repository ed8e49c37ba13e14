"""XPRESS Huffman compression of WIM resources (the decoder is tui/package/wim/xpress.py).

The parse is greedy with one step of lazy evaluation. A dict maps each 4-byte prefix to the
last position where a match was tried. With 3-byte keys the output was larger (a 3-byte match
saves little, and its source displaces a better one in the dict) and slower. Positions inside
a match are not entered, so a later match can only start where an earlier item did; a run of
failed tries advances faster and faster, so incompressible data costs little. After the parse,
the per-item work is map/zip over the item columns, and the bitstream is a string of '0'/'1'
converted to 16-bit words in one go (much faster in Python than packing bit by bit).
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

from tui.package.wim.xpress import MAX_CHUNK, MAX_CODEWORD_LEN, NUM_SYMBOLS, TABLE_BYTES

END_OF_DATA = 256
MIN_MATCH = 3
WIM_CHUNK = 32768
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
