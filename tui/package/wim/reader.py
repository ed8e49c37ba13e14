"""Reading any provisioning package's WIM container, including XPRESS-compressed ICD/WCD ones.

Every size and offset read from the file is checked against the file before it is used, the
directory tree is walked without recursion and may visit each entry only once, and every
file's data is checked against its SHA-1. Budgets that real packages never approach (a WCD
package holds a few dozen files a few folders deep) bound the time and memory any file can
cost: see docs/wim.md ("Limits"). Whatever is wrong ends in one UserError naming the file.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from tui import safexml
from tui.errors import UserError
from tui.package.wim import imagexml
from tui.package.wim.dentry import (
    ATTR_DIRECTORY,
    ATTR_REPARSE_POINT,
    DamagedTree,
    read_entry,
    root_offset,
)
from tui.package.wim.header import (
    HDR_COMPRESSION,
    HDR_LZMS,
    HDR_LZX,
    HDR_SPANNED,
    HDR_XPRESS,
    HDR_XPRESS_2,
    HEADER_SIZE,
    MAGIC,
    VERSION_SOLID,
    Header,
)
from tui.package.wim.resource import (
    BLOB_ENTRY,
    CHUNK_SIZE,
    RES_COMPRESSED,
    RES_METADATA,
    RES_SOLID,
    RES_SPANNED,
    ZERO_HASH,
    BlobEntry,
    Resource,
    chunk_count,
    chunk_entry_size,
    chunk_starts,
)
from tui.package.wim.xpress import XpressError, decompress
from tui.safefile import open_regular

# XPRESS decodes at about 3 MB/s here (pure Python), so decoded sizes are what bound time.
MAX_METADATA = 2 << 20  # the directory tree, decoded (a real package's is a few KB)
MAX_XML = 512 << 10  # the WIM's XML data, decoded (a real one is about 1 KB)
MAX_BLOBS = 65_536  # entries of the file table
MAX_ENTRIES = 20_000  # files and folders in the image
MAX_DEPTH = 64  # folders inside folders
MAX_PATH = 1_024  # characters of one path
MAX_PATHS_TOTAL = 4 << 20  # characters of all paths together
READ_PIECE = 1 << 20


class _Damaged(Exception):
    """Internal: what is wrong with the file, completed into a UserError by WimReader."""


class WimReader:
    """One image of a WIM file (a .ppkg): its XML properties and its regular files.

    Use as a context manager. Paths are '/'-separated and relative to the image root.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info: dict[str, str] = {}
        self.compression = "none"
        self._files: dict[str, bytes] = {}  # path -> sha1 of its data (ZERO_HASH when empty)
        self._blobs: dict[bytes, Resource] = {}
        fd = open_regular(self.path, f"Package '{self.path}'")
        self._file: BinaryIO = open(fd, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._size = os.fstat(self._file.fileno()).st_size
            self._load()
        except _Damaged as e:
            self.close()
            raise UserError(f"'{self.path}' is not a readable provisioning package: {e}.") from None
        except UserError:
            self.close()
            raise
        except OSError as e:
            self.close()
            raise UserError(f"Cannot read '{self.path}': {e.strerror or e}.") from e

    # --- public API ----------------------------------------------------------------------------

    def __enter__(self) -> WimReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def files(self) -> list[str]:
        """Every regular file in the image, sorted."""
        return sorted(self._files)

    def size(self, path: str) -> int:
        digest = self._files[self._lookup(path)]
        return 0 if digest == ZERO_HASH else self._blobs[digest].original_size

    def read(self, path: str, limit: int = 64 << 20) -> bytes:
        """The whole content of one file, checked against its SHA-1."""
        name = self._lookup(path)
        if self.size(name) > limit:
            raise UserError(
                f"The file '{name}' in '{self.path}' is larger than {limit} bytes, "
                "too large to read into memory."
            )
        with self.open(name) as stream:
            return stream.read()

    def open(self, path: str) -> io.BufferedReader:
        """A streaming reader of one file; its SHA-1 is checked when the end is reached."""
        name = self._lookup(path)
        digest = self._files[name]
        pieces = iter(()) if digest == ZERO_HASH else self._pieces(self._blobs[digest])
        return io.BufferedReader(_Stream(self, name, digest, pieces), READ_PIECE)

    # --- loading -------------------------------------------------------------------------------

    def _lookup(self, path: str) -> str:
        if path in self._files:
            return path
        matches = [p for p in self._files if p.casefold() == path.casefold()]
        if len(matches) == 1:
            return matches[0]
        raise UserError(f"The package '{self.path}' has no file '{path}'.")

    def _load(self) -> None:
        if self._size < HEADER_SIZE:
            raise _Damaged("it is too short to be a WIM image")
        header = Header.unpack(self._pread(0, HEADER_SIZE))
        flags, chunk_size = header.flags, header.chunk_size
        if header.magic != MAGIC:
            raise _Damaged("it is not a WIM image (wrong signature)")
        if header.header_size < HEADER_SIZE:
            raise _Damaged("its header size is wrong")
        if header.version == VERSION_SOLID or flags & HDR_LZMS:
            raise UserError(f"'{self.path}' uses LZMS compression, which bulk-enroll cannot read.")
        if flags & HDR_COMPRESSION and flags & HDR_LZX:
            raise UserError(f"'{self.path}' uses LZX compression, which bulk-enroll cannot read.")
        if flags & HDR_SPANNED or header.part_number != 1 or header.total_parts != 1:
            raise UserError(f"'{self.path}' is one part of a split WIM, which cannot be read.")
        if flags & HDR_COMPRESSION:
            if not flags & (HDR_XPRESS | HDR_XPRESS_2):
                raise _Damaged("its compression type is unknown")
            chunk_size = chunk_size or CHUNK_SIZE
            if chunk_size & (chunk_size - 1) or not 4096 <= chunk_size <= 65536:
                raise _Damaged(f"its chunk size {chunk_size} is invalid")
            self.compression = "XPRESS"
        self._compressed = bool(flags & HDR_COMPRESSION)
        self._chunk_size = chunk_size
        if header.image_count < 1:
            raise _Damaged("it holds no image")

        metadata = self._read_blob_table(header.blob_table)
        if header.xml.original_size:
            self.info = self._parse_xml(self._read_all(header.xml, MAX_XML, "its XML data"))
        self._read_metadata(metadata)

    def _read_blob_table(self, res: Resource) -> Resource:
        table = self._read_all(res, self._size, "its file table")
        if len(table) % BLOB_ENTRY.size:
            raise _Damaged("its file table has a partial entry")
        if len(table) // BLOB_ENTRY.size > MAX_BLOBS:
            raise _Damaged(f"its file table has more than {MAX_BLOBS:,} entries")
        first_metadata: BlobEntry | None = None
        for at in range(0, len(table), BLOB_ENTRY.size):
            entry = BlobEntry.unpack(table, at)
            if entry.resource.flags & RES_METADATA:
                if first_metadata is None:
                    first_metadata = entry
            else:
                self._blobs.setdefault(entry.hash, entry.resource)
        if first_metadata is None:
            raise _Damaged("it has no image metadata")
        self._metadata_hash = first_metadata.hash
        return first_metadata.resource

    def _read_metadata(self, res: Resource) -> None:
        data = self._read_all(res, MAX_METADATA, "its directory tree")
        if hashlib.sha1(data).digest() != self._metadata_hash:
            raise _Damaged("its directory tree does not match its checksum")
        try:
            _walk_tree(data, root_offset(data), self._files)
        except DamagedTree as e:
            raise _Damaged(str(e)) from None
        for name, digest in self._files.items():
            if digest != ZERO_HASH and digest not in self._blobs:
                raise _Damaged(f"the data of '{name}' is missing")

    def _parse_xml(self, data: bytes) -> dict[str, str]:
        try:
            return imagexml.unpack(data, MAX_XML)
        except safexml.XmlRefused as e:
            raise _Damaged(f"its XML data is {e}") from None

    # --- resources -----------------------------------------------------------------------------

    def _pread(self, offset: int, size: int) -> bytes:
        self._file.seek(offset)
        data = self._file.read(size)
        if len(data) != size:
            raise _Damaged("it is truncated")
        return data

    def _read_all(self, res: Resource, limit: int, what: str) -> bytes:
        if res.original_size > limit:
            raise _Damaged(f"{what} is larger than {_size(limit)}, more than any real package's")
        data = b"".join(self._pieces(res))
        if len(data) != res.original_size:
            raise _Damaged(f"{what} has the wrong size")
        return data

    def _pieces(self, res: Resource) -> Iterator[bytes]:
        """The uncompressed content of a resource, in pieces of at most 1 MiB."""
        if res.offset + res.size > self._size:
            raise _Damaged("a resource lies past the end of the file")
        if res.flags & (RES_SOLID | RES_SPANNED):
            raise _Damaged("it uses solid or spanned resources, which cannot be read")
        if not res.flags & RES_COMPRESSED:
            if res.size != res.original_size:
                raise _Damaged("an uncompressed resource has two different sizes")
            for at in range(0, res.size, READ_PIECE):
                yield self._pread(res.offset + at, min(READ_PIECE, res.size - at))
            return
        if not self._compressed:
            raise _Damaged("a resource is compressed but the image says it is not")
        yield from self._chunks(res)

    def _chunks(self, res: Resource) -> Iterator[bytes]:
        size, chunk = res.original_size, self._chunk_size
        count = chunk_count(size, chunk)
        if count == 0:
            return
        table_size = (count - 1) * chunk_entry_size(size)
        if table_size >= res.size:
            raise _Damaged("a chunk table is larger than its resource")
        starts = chunk_starts(self._pread(res.offset, table_size), size)
        starts.append(res.size - table_size)
        for i in range(count):
            csize = starts[i + 1] - starts[i]
            usize = min(chunk, size - i * chunk)
            if not 0 < csize <= usize:
                raise _Damaged("a chunk table entry is invalid")
            data = self._pread(res.offset + table_size + starts[i], csize)
            if csize == usize:
                yield data
            else:
                try:
                    yield decompress(data, usize)
                except XpressError as e:
                    raise _Damaged(f"a compressed chunk is corrupt ({e})") from None


class _Stream(io.RawIOBase):
    def __init__(self, reader: WimReader, name: str, digest: bytes, pieces: Iterator[bytes]):
        self._reader, self._name, self._digest, self._pieces = reader, name, digest, pieces
        self._sha1 = hashlib.sha1()
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            try:
                self._pending = next(self._pieces)
            except StopIteration:
                self._done = True
                self._check()
            except _Damaged as e:
                raise UserError(
                    f"'{self._reader.path}' is not a readable provisioning package: {e}."
                ) from None
            except OSError as e:
                raise UserError(f"Cannot read '{self._reader.path}': {e.strerror or e}.") from e
            self._sha1.update(self._pending)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _check(self) -> None:
        actual = self._sha1.digest() if self._digest != ZERO_HASH else ZERO_HASH
        if actual != self._digest:
            raise UserError(
                f"'{self._reader.path}' is damaged: the data of '{self._name}' "
                "does not match its checksum."
            )


def _walk_tree(data: bytes, root_at: int, files: dict[str, bytes]) -> None:
    """Collect every regular file below the root entry at root_at into files."""
    found = read_entry(data, root_at)
    root = found[0] if found else None
    if root is None or not root.attributes & ATTR_DIRECTORY:
        raise _Damaged("its root is not a folder")
    seen: set[int] = {root_at}
    folders: set[str] = set()
    chars = 0
    stack = [("", 0, root.subdir_offset)]
    while stack:
        prefix, depth, at = stack.pop()
        if not at:
            continue
        if depth >= MAX_DEPTH:
            raise _Damaged(f"its folders are nested more than {MAX_DEPTH} deep")
        names: set[str] = set()
        while (found := read_entry(data, at)) is not None:
            if at in seen:
                raise _Damaged("its directory tree loops")
            if len(seen) > MAX_ENTRIES:
                raise _Damaged(f"it holds more than {MAX_ENTRIES:,} files and folders")
            seen.add(at)
            entry, digest, at = found
            name = entry.name
            if name in names or not name:
                raise _Damaged("a folder holds two entries with the same name")
            names.add(name)
            if len(prefix) + len(name) > MAX_PATH:
                raise _Damaged(f"a path in it is longer than {MAX_PATH:,} characters")
            chars += len(prefix) + len(name)
            if chars > MAX_PATHS_TOTAL:
                raise _Damaged(f"its paths together are longer than {MAX_PATHS_TOTAL:,} characters")
            path = prefix + name
            if entry.attributes & ATTR_DIRECTORY:
                folders.add(path)
                stack.append((path + "/", depth + 1, entry.subdir_offset))
            elif not entry.attributes & ATTR_REPARSE_POINT:
                files[path] = digest
    if folders & files.keys():
        raise _Damaged("a path is both a file and a folder")


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB"
