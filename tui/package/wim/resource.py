"""Resources of a WIM: the 24-byte resource header saying where one lies and how it is stored,
the 50-byte blob table entry naming one by its SHA-1, and the layout of a compressed resource
(a chunk table, then chunks of CHUNK_SIZE bytes once decompressed, each compressed on its own).
wimlib `include/wimlib/resource.h`, `blob_table.c` and `src/resource.c` (facts only).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tui.package.wim.xpress import compress

# Resource header flags.
RES_METADATA = 0x02  # the metadata resource, the blob table, the XML data
RES_COMPRESSED = 0x04
RES_SPANNED = 0x08
RES_SOLID = 0x10

CHUNK_SIZE = 32768  # what ICD writes (the header says which; chunks are independent)
ZERO_HASH = bytes(20)  # the SHA-1 of no data: empty files have no blob

RESHDR = struct.Struct("<QQQ")  # size in the file (56 bits) | flags << 56, offset, original size
BLOB_ENTRY = struct.Struct("<24sHI20s")  # resource header, part number, reference count, SHA-1
_SIZE_BITS = (1 << 56) - 1


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource header: where a resource lies in the file and how it is stored."""

    size: int  # bytes in the file
    flags: int
    offset: int
    original_size: int  # bytes once decompressed

    def pack(self) -> bytes:
        return RESHDR.pack(self.size | self.flags << 56, self.offset, self.original_size)

    @classmethod
    def unpack(cls, data: bytes, offset: int = 0) -> Resource:
        size_flags, at, original_size = RESHDR.unpack_from(data, offset)
        return cls(size_flags & _SIZE_BITS, size_flags >> 56, at, original_size)


NO_RESOURCE = Resource(0, 0, 0, 0)


@dataclass(slots=True, kw_only=True)  # not frozen: that costs µs per entry, and tables are big
class BlobEntry:
    """One entry of the blob table: a stored content, its SHA-1 and how many files use it."""

    resource: Resource
    part_number: int = 1
    ref_count: int = 1
    hash: bytes

    def pack(self) -> bytes:
        return BLOB_ENTRY.pack(self.resource.pack(), self.part_number, self.ref_count, self.hash)

    @classmethod
    def unpack(cls, data: bytes, offset: int = 0) -> BlobEntry:
        reshdr, part_number, ref_count, digest = BLOB_ENTRY.unpack_from(data, offset)
        return cls(
            resource=Resource.unpack(reshdr),
            part_number=part_number,
            ref_count=ref_count,
            hash=digest,
        )


def chunk_count(original_size: int, chunk_size: int = CHUNK_SIZE) -> int:
    return (original_size + chunk_size - 1) // chunk_size


def chunk_entry_size(original_size: int) -> int:
    """Bytes of one chunk table entry: 8 when the resource exceeds 4 GiB decompressed."""
    return 8 if original_size > 0xFFFFFFFF else 4


def chunk_starts(table: bytes, original_size: int) -> list[int]:
    """Where each chunk starts, relative to the end of the chunk table (the first at 0)."""
    width = chunk_entry_size(original_size)
    return [0, *struct.unpack(f"<{len(table) // width}{'Q' if width == 8 else 'I'}", table)]


def compress_resource(data: bytes, chunk_size: int = CHUNK_SIZE) -> bytes | None:
    """A compressed resource: the chunk table then every chunk, each XPRESS-compressed when
    that makes it smaller (a chunk stored at its full size is raw); None when the whole is not
    smaller than data (store it raw then)."""
    table = bytearray()
    body = bytearray()
    width = chunk_entry_size(len(data))
    for at in range(0, len(data), chunk_size):
        if at:
            table += len(body).to_bytes(width, "little")
        piece = data[at : at + chunk_size]
        body += compress(piece) or piece
    if len(table) + len(body) >= len(data):
        return None
    return bytes(table + body)
