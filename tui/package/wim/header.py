"""The 208-byte WIM header at offset 0: signature, version, flags, chunk size, GUID, part and
image counts, and where the blob table, the XML data, the boot metadata and the integrity table
lie. wimlib `include/wimlib/header.h` (facts only).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tui.package.wim.resource import CHUNK_SIZE, NO_RESOURCE, Resource

MAGIC = b"MSWIM\0\0\0"
HEADER_SIZE = 208
VERSION = 0x00010D00
VERSION_SOLID = 0x00000E00  # solid resources (LZMS), which this reader cannot read

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

# magic, size, version, flags, chunk size, GUID, part number, total parts, image count,
# blob table, XML data, boot metadata (resource headers), boot index, integrity table, unused
_HEADER = struct.Struct("<8sIIII16sHHI24s24s24sI24s60x")
assert _HEADER.size == HEADER_SIZE


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """The WIM header; the defaults are what ICD writes for a one-image package."""

    magic: bytes = MAGIC
    header_size: int = HEADER_SIZE
    version: int = VERSION
    flags: int = WRITE_FLAGS
    chunk_size: int = CHUNK_SIZE
    guid: bytes = bytes(16)
    part_number: int = 1
    total_parts: int = 1
    image_count: int = 1
    blob_table: Resource = NO_RESOURCE
    xml: Resource = NO_RESOURCE
    boot_metadata: Resource = NO_RESOURCE
    boot_index: int = 0
    integrity: Resource = NO_RESOURCE

    def pack(self) -> bytes:
        return _HEADER.pack(
            self.magic,
            self.header_size,
            self.version,
            self.flags,
            self.chunk_size,
            self.guid,
            self.part_number,
            self.total_parts,
            self.image_count,
            self.blob_table.pack(),
            self.xml.pack(),
            self.boot_metadata.pack(),
            self.boot_index,
            self.integrity.pack(),
        )

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        """The header in the first HEADER_SIZE bytes of data (not checked: see the reader)."""
        (
            magic,
            header_size,
            version,
            flags,
            chunk_size,
            guid,
            part_number,
            total_parts,
            image_count,
            blob_table,
            xml,
            boot_metadata,
            boot_index,
            integrity,
        ) = _HEADER.unpack_from(data)
        return cls(
            magic=magic,
            header_size=header_size,
            version=version,
            flags=flags,
            chunk_size=chunk_size,
            guid=guid,
            part_number=part_number,
            total_parts=total_parts,
            image_count=image_count,
            blob_table=Resource.unpack(blob_table),
            xml=Resource.unpack(xml),
            boot_metadata=Resource.unpack(boot_metadata),
            boot_index=boot_index,
            integrity=Resource.unpack(integrity),
        )
