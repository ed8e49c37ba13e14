"""The metadata resource of an image: its security data, then its directory entries.

The root entry follows the security data; each folder's children lie together, one entry
after the other, and end with an 8-byte zero marker. An entry is a 102-byte fixed part, its
UTF-16LE name and short name (each with a NUL when present), padded to 8 bytes; its extra
stream entries (38 bytes and a name, padded) follow it. wimlib `src/dentry.c` and
`src/security.c` (facts only).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tui.package.wim.resource import ZERO_HASH

ATTR_DIRECTORY = 0x10
ATTR_ARCHIVE = 0x20
ATTR_REPARSE_POINT = 0x400
NO_SECURITY = -1  # an entry without a security descriptor

EMPTY_SECURITY = struct.pack("<II", 8, 0)  # total length 8, no descriptors
END_OF_LIST = bytes(8)  # after the last entry of a folder

# length, attributes, security id, subdir offset, 2 unused, creation, last access and last
# write times, hash, reserved, hard link group, extra streams, short name and name bytes
_FIXED = struct.Struct("<QIiQQQQQQ20sIQHHH")
FIXED_SIZE = _FIXED.size  # 102
_STREAM = struct.Struct("<QQ20sH")  # length, reserved, hash, name bytes
_UNSAFE_NAME_CHARS = ("/", "\\", "\0")


class DamagedTree(ValueError):
    """The metadata resource is not valid; the message says what is wrong, for the reader."""


@dataclass(slots=True, kw_only=True)  # not frozen: that costs µs per entry, and trees are big
class Dentry:
    """A directory entry without its extra streams. Times are FILETIMEs."""

    attributes: int
    security_id: int = NO_SECURITY
    subdir_offset: int = 0  # a folder: where its children lie in the metadata resource
    unused_1: int = 0
    unused_2: int = 0
    creation_time: int = 0
    last_access_time: int = 0
    last_write_time: int = 0
    hash: bytes = ZERO_HASH  # SHA-1 of the file's data; ZERO_HASH: none, or in a stream
    reserved: int = 0
    hard_link_group: int = 0  # for a reparse point: its reparse tag and flags instead
    extra_streams: int = 0  # stream entries following this entry
    short_name: str = ""
    name: str = ""

    @property
    def length(self) -> int:
        """Bytes of the packed entry (the value of its length field)."""
        return entry_length(self.name, self.short_name)

    def pack(self) -> bytes:
        name = _utf16(self.name)
        short = _utf16(self.short_name)
        fixed = _FIXED.pack(
            self.length,
            self.attributes,
            self.security_id,
            self.subdir_offset,
            self.unused_1,
            self.unused_2,
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.hash,
            self.reserved,
            self.hard_link_group,
            self.extra_streams,
            len(short),
            len(name),
        )
        body = fixed + (name + b"\0\0" if name else b"") + (short + b"\0\0" if short else b"")
        return body.ljust(self.length, b"\0")

    @classmethod
    def unpack(cls, data: bytes, at: int = 0) -> Dentry:
        """The entry at `at`; DamagedTree if it is not a valid one."""
        return _unpack(data, at, _length_at(data, at))


def entry_length(name: str, short_name: str = "") -> int:
    """Bytes of an entry with these names, padded to 8."""
    names = sum(len(_utf16(n)) + 2 for n in (name, short_name) if n)
    return (FIXED_SIZE + names + 7) & ~7


def root_offset(metadata: bytes) -> int:
    """Where the root entry lies: after the security data, which is checked as wimlib does."""
    if len(metadata) < 8:
        raise DamagedTree("its directory tree is truncated")
    total, count = struct.unpack_from("<II", metadata)
    total = (total + 7) & ~7 or 8
    if total > len(metadata) or 8 + 8 * count > total:
        raise DamagedTree("its security data is invalid")
    return total


def read_entry(data: bytes, at: int) -> tuple[Dentry, bytes, int] | None:
    """The entry at `at`, the hash of its data and where its next sibling lies; None at the
    end marker of a folder's list. The data is the entry's hash, or when that is zero the first
    nonzero one of its unnamed extra streams (wimlib `assign_stream_types_unencrypted`)."""
    length = _length_at(data, at)
    if length <= 8:
        return None
    entry = _unpack(data, at, length)
    if entry.name in (".", "..") or any(c in entry.name for c in _UNSAFE_NAME_CHARS):
        raise DamagedTree("it holds an unsafe file name")
    if entry.subdir_offset and entry.subdir_offset + 8 > len(data):
        raise DamagedTree("a folder's entries lie outside the directory tree")
    digest = entry.hash
    reparse = entry.attributes & ATTR_REPARSE_POINT
    at += length
    for _ in range(entry.extra_streams):
        if at + _STREAM.size > len(data):
            raise DamagedTree("a stream entry is truncated")
        stream_length, _reserved, stream_hash, name_bytes = _STREAM.unpack_from(data, at)
        stream_length = (stream_length + 7) & ~7
        if stream_length < _STREAM.size or at + stream_length > len(data):
            raise DamagedTree("a stream entry has an invalid length")
        if not name_bytes and digest == ZERO_HASH and not reparse:
            digest = stream_hash
        at += stream_length
    return entry, digest, at


def _length_at(data: bytes, at: int) -> int:
    """The length field at `at`, rounded up to 8 as wimlib does."""
    if at + 8 > len(data):
        raise DamagedTree("its directory tree is truncated")
    return (int.from_bytes(data[at : at + 8], "little") + 7) & ~7


def _unpack(data: bytes, at: int, length: int) -> Dentry:
    if length < FIXED_SIZE or at + length > len(data):
        raise DamagedTree("a directory entry has an invalid length")
    (
        _length,
        attributes,
        security_id,
        subdir_offset,
        unused_1,
        unused_2,
        creation_time,
        last_access_time,
        last_write_time,
        digest,
        reserved,
        hard_link_group,
        extra_streams,
        short_bytes,
        name_bytes,
    ) = _FIXED.unpack_from(data, at)
    if name_bytes & 1 or short_bytes & 1 or FIXED_SIZE + name_bytes + short_bytes > length:
        raise DamagedTree("a directory entry has an invalid name length")
    start = at + FIXED_SIZE
    try:
        name = data[start : start + name_bytes].decode("utf-16-le")
    except UnicodeDecodeError:
        raise DamagedTree("a file name is not valid UTF-16") from None
    short = ""
    if short_bytes:  # not used by the reader, so never refused: cut at the entry's end
        start += name_bytes + 2 if name_bytes else 0
        end = min(start + short_bytes, at + length)
        short = data[start:end].decode("utf-16-le", "surrogatepass")
    return Dentry(
        attributes=attributes,
        security_id=security_id,
        subdir_offset=subdir_offset,
        unused_1=unused_1,
        unused_2=unused_2,
        creation_time=creation_time,
        last_access_time=last_access_time,
        last_write_time=last_write_time,
        hash=digest,
        reserved=reserved,
        hard_link_group=hard_link_group,
        extra_streams=extra_streams,
        short_name=short,
        name=name,
    )


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")
