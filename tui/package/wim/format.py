"""WIM on-disk structures: header, resource headers, blob table entries, directory entries,
flags and timestamps, shared by the writer (tui/package/wim/writer.py) and the reader
(tui/package/wim/reader.py)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAGIC = b"MSWIM\0\0\0"
HEADER_SIZE = 208
VERSION = 0x00010D00
CHUNK_SIZE = 32768

# Header flags.
HDR_COMPRESSION = 0x00000002
HDR_SPANNED = 0x00000008
HDR_RP_FIX = 0x00000080
HDR_XPRESS = 0x00020000
HDR_LZX = 0x00040000
HDR_LZMS = 0x00080000
HDR_XPRESS_2 = 0x00200000
# What ICD writes; every resource says for itself whether it is compressed.
WRITE_FLAGS = HDR_COMPRESSION | HDR_RP_FIX | HDR_XPRESS

# Resource header flags.
RES_METADATA = 0x02
RES_COMPRESSED = 0x04
RES_SPANNED = 0x08
RES_SOLID = 0x10

ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20
ATTR_REPARSE_POINT = 0x400

NO_SECURITY = -1
ZERO_HASH = bytes(20)

# header: magic, size, version, flags, chunk size, guid, part, parts, images,
# blob table, xml, boot metadata (resource headers), boot index, integrity table, unused
HEADER = struct.Struct("<8sIIII16sHHI24s24s24sI24s60x")
RESHDR = struct.Struct("<QQQ")  # size in wim (56 bits) | flags << 56, offset, original size
BLOB_ENTRY = struct.Struct("<24sHI20s")  # resource header, part number, reference count, SHA-1
DENTRY = struct.Struct("<QIiQQQQQQ20sIQHHH")  # fixed part of a directory entry: 102 bytes
SECURITY_EMPTY = struct.pack("<II", 8, 0)  # total length 8, no descriptors

FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
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
        size_flags, off, orig = RESHDR.unpack_from(data, offset)
        return cls(size_flags & ((1 << 56) - 1), size_flags >> 56, off, orig)


NO_RESOURCE = Resource(0, 0, 0, 0)


def filetime(moment: datetime) -> int:
    """100-nanosecond intervals since 1601-01-01 UTC; a naive datetime counts as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def from_filetime(value: int) -> datetime:
    return FILETIME_EPOCH + timedelta(microseconds=value // 10)


def header(*, guid: bytes, blob_table: Resource, xml: Resource, flags: int = WRITE_FLAGS) -> bytes:
    return HEADER.pack(
        MAGIC,
        HEADER_SIZE,
        VERSION,
        flags,
        CHUNK_SIZE,
        guid,
        1,
        1,
        1,
        blob_table.pack(),
        xml.pack(),
        NO_RESOURCE.pack(),
        0,
        NO_RESOURCE.pack(),
    )
