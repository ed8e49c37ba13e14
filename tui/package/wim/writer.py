"""The WIM container of a provisioning package: the streaming writer.

One image of regular files and folders laid out as ICD lays them out, identical contents
stored once, deterministic bytes for the same input and timestamp. The metadata and every blob
up to COMPRESS_LIMIT are XPRESS-compressed when that makes them smaller (as ICD does, see
docs/wim.md); larger payload files are streamed from disk raw, so memory use does not grow
with their size.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tui.errors import UserError
from tui.package.wim import imagexml
from tui.package.wim.dentry import (
    ATTR_ARCHIVE,
    ATTR_DIRECTORY,
    EMPTY_SECURITY,
    END_OF_LIST,
    Dentry,
    entry_length,
)
from tui.package.wim.filetime import filetime
from tui.package.wim.header import HEADER_SIZE, Header
from tui.package.wim.imagexml import ImageInfo
from tui.package.wim.payload import copy_hashed, file_size, read_small
from tui.package.wim.resource import (
    RES_COMPRESSED,
    RES_METADATA,
    ZERO_HASH,
    BlobEntry,
    Resource,
    compress_resource,
)
from tui.project.names import CONTROL_CHARACTERS, FILE_NAME_FORBIDDEN

# Blobs up to this size are compressed (about a second each at worst in pure Python); larger
# payloads, in practice installers that are compressed already, are copied raw.
COMPRESS_LIMIT = 1 << 20
# ICD writes this many more than the true number of files in FILECOUNT (all four samples).
ICD_FILECOUNT_EXTRA = 2
MAX_NAME_UNITS = 255
_FORBIDDEN_CHARS = FILE_NAME_FORBIDDEN | CONTROL_CHARACTERS


@dataclass(frozen=True, slots=True)
class Blob:
    """File contents already stored in the image being written (see WimWriter.store)."""

    sha1: bytes
    size: int
    sha256: bytes | None = None  # asked for by the caller, e.g. for WCD's DataAsset folder names


Source = bytes | Path | Blob  # contents, a local file streamed from disk, or stored ones


# --- the tree ----------------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    children: dict[str, _Node] | None = None  # None for a file; keyed by upper-case name
    source: Source | None = None
    hash: bytes = ZERO_HASH
    size: int = 0

    def sorted_children(self, first: Sequence[str] = ()) -> list[_Node]:
        """Files, then folders, each in case-insensitive order, as ICD writes them; names in
        first (folders at the root, for ICD's Multivariant before CommonSettings) lead."""
        assert self.children is not None
        rank = {_fold(name): i for i, name in enumerate(first)}

        def key(n: _Node) -> tuple:
            fold = _fold(n.name)
            return (rank.get(fold, len(rank)), n.children is not None, fold, n.name)

        return sorted(self.children.values(), key=key)


def _fold(name: str) -> str:
    """Upper-case letter by letter, as NTFS compares names ('ß' stays 'ß', unlike str.upper)."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in name)


def _check_name(name: str, path: str) -> None:
    problem = None
    if name in ("", ".", ".."):
        problem = "it has an empty, '.' or '..' part"
    elif _FORBIDDEN_CHARS & set(name):
        problem = 'Windows file names cannot contain \\ / : * ? " < > | or control characters'
    elif name[-1] in ". ":
        problem = "Windows file names cannot end with a dot or a space"
    elif len(name.encode("utf-16-le", "surrogatepass")) // 2 > MAX_NAME_UNITS:
        problem = "a file name is longer than 255 characters"
    elif any(0xD800 <= ord(c) <= 0xDFFF for c in name):
        problem = "it contains an unpaired surrogate character"
    if problem:
        raise UserError(f"The path '{path}' cannot be stored in a package: {problem}.")


def _build_tree(files: Iterable[tuple[str, Source]]) -> _Node:
    root = _Node("", {})
    for path, source in files:
        parts = path.split("/")
        for part in parts:
            _check_name(part, path)
        node = root
        for part in parts[:-1]:
            assert node.children is not None
            child = node.children.setdefault(_fold(part), _Node(part, {}))
            if child.children is None:
                raise UserError(f"The path '{path}' is used both as a file and as a folder.")
            node = child
        assert node.children is not None
        if _fold(parts[-1]) in node.children:
            raise UserError(f"The path '{path}' is given twice (names are case-insensitive).")
        node.children[_fold(parts[-1])] = _Node(parts[-1], source=_checked_source(path, source))
    return root


def _checked_source(path: str, source: Source) -> Source:
    if isinstance(source, Blob):
        return source
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    source = Path(source)
    if not source.is_file():
        raise UserError(f"Cannot read '{source}' (for '{path}'): it is not a readable file.")
    return source


def _walk_files(node: _Node, first: Sequence[str] = ()) -> Iterable[_Node]:
    for child in node.sorted_children(first):
        if child.children is None:
            yield child
        else:
            yield from _walk_files(child)


def _count(node: _Node) -> tuple[int, int]:
    """(folders, files) below node, the root not counted."""
    dirs = files = 0
    for child in node.children.values() if node.children is not None else ():
        if child.children is None:
            files += 1
        else:
            sub_dirs, sub_files = _count(child)
            dirs += 1 + sub_dirs
            files += sub_files
    return dirs, files


# --- the metadata resource ---------------------------------------------------------------------


def metadata_resource(root: _Node, time: int, first: Sequence[str] = ()) -> bytes:
    """Security data (none), the root entry and an end marker, then depth first (as ICD and
    wimlib): a folder's children and an 8-byte end marker, followed by each child folder's
    own lists in turn. A folder's subdir offset is where its children start."""
    order: list[tuple[_Node, list[_Node]]] = []  # (folder, its children) in layout order
    stack = [root]
    while stack:
        folder = stack.pop()
        children = folder.sorted_children(first if folder is root else ())
        order.append((folder, children))
        stack += reversed([c for c in children if c.children is not None])
    offsets: dict[int, int] = {}  # id(folder) -> offset of its children
    at = len(EMPTY_SECURITY) + entry_length("") + len(END_OF_LIST)
    for folder, children in order:
        offsets[id(folder)] = at
        at += sum(entry_length(c.name) for c in children) + len(END_OF_LIST)

    def entry(node: _Node) -> bytes:
        return Dentry(
            attributes=ATTR_ARCHIVE if node.children is None else ATTR_DIRECTORY,
            subdir_offset=offsets.get(id(node), 0),
            creation_time=time,
            last_access_time=time,
            last_write_time=time,
            hash=node.hash,
            name=node.name,
        ).pack()

    out = bytearray(EMPTY_SECURITY)
    out += entry(root) + END_OF_LIST
    for _, children in order:
        for child in children:
            out += entry(child)
        out += END_OF_LIST
    assert len(out) == at
    return bytes(out)


# --- writing -----------------------------------------------------------------------------------


class WimWriter:
    """Writes one image in two steps: store the contents, then finish with the tree.

    Storing first lets a caller name files after digests of their contents (WCD names a
    payload's folder after its SHA-256) without reading the payload twice. ``out`` must be a
    seekable binary file opened for writing; the caller writes to a temporary file and
    renames it.
    """

    def __init__(
        self, out: BinaryIO, *, total: int = 0, progress: Callable[[int, int], None] | None = None
    ) -> None:
        self._out = out
        self._total = total
        self._progress = progress
        self._done = 0
        self._stored: dict[bytes, Resource] = {}  # sha1 -> where its one stored copy lies
        out.seek(0)
        out.write(bytes(HEADER_SIZE))

    def store(self, source: bytes | Path, *, sha256: bool = False) -> Blob:
        """Store contents (once for identical contents) and return what identifies them."""
        if not isinstance(source, bytes):
            path = Path(source)
            if file_size(path) > COMPRESS_LIMIT:
                return self._store_streamed(path, sha256)
            source = read_small(path, COMPRESS_LIMIT, self._advance)
        else:
            self._done += len(source)
        size = len(source)
        sha1 = hashlib.sha1(source).digest() if size else ZERO_HASH
        if size and sha1 not in self._stored:
            self._stored[sha1] = self._write_blob(source)
        wide = hashlib.sha256(source).digest() if sha256 else None
        self._advance(0)
        return Blob(sha1, size, wide)

    def _write_blob(self, data: bytes, flags: int = 0) -> Resource:
        """Write data compressed if that makes it smaller (and it is not too large), else raw."""
        packed = compress_resource(data) if len(data) <= COMPRESS_LIMIT else None
        at = self._out.tell()
        if packed is None:
            self._out.write(data)
            return Resource(len(data), flags, at, len(data))
        self._out.write(packed)
        return Resource(len(packed), flags | RES_COMPRESSED, at, len(data))

    def _store_streamed(self, path: Path, sha256: bool) -> Blob:
        out = self._out
        start = out.tell()
        sha1, size, wide = copy_hashed(out, path, sha256, self._advance)
        if not size:
            sha1 = ZERO_HASH
        elif sha1 in self._stored:
            out.seek(start)  # a duplicate: later writes overwrite it
        else:
            self._stored[sha1] = Resource(size, 0, start, size)
        self._advance(0)
        return Blob(sha1, size, wide)

    def _advance(self, n: int) -> None:
        self._done += n
        if self._progress:
            self._progress(self._done, max(self._total, self._done))

    def finish(
        self,
        files: Iterable[tuple[str, Source]],
        info: ImageInfo,
        *,
        guid: bytes | None = None,
        first: Sequence[str] = (),
    ) -> None:
        """Write the tree of files (contents not yet stored are stored now), the tables and
        the header. Top-level names in first come first, in that order."""
        self.finish_tree(_build_tree(files), info, guid=guid, first=first)

    def finish_tree(
        self, root: _Node, info: ImageInfo, *, guid: bytes | None = None, first: Sequence[str] = ()
    ) -> None:
        out = self._out
        refs: dict[bytes, int] = {}
        payload = list(_walk_files(root, first))
        for node in payload:
            blob = node.source if isinstance(node.source, Blob) else self.store(node.source)
            node.hash, node.size = blob.sha1, blob.size
            if blob.size:
                refs[blob.sha1] = refs.get(blob.sha1, 0) + 1

        metadata = metadata_resource(root, filetime(info.timestamp), first)
        metadata_res = self._write_blob(metadata, RES_METADATA)
        # The blob table and the XML data stay raw, as ICD writes them.
        table = bytearray(
            BlobEntry(resource=metadata_res, hash=hashlib.sha1(metadata).digest()).pack()
        )
        for digest, res in self._stored.items():
            if digest in refs:
                table += BlobEntry(resource=res, ref_count=refs[digest], hash=digest).pack()
        table_res = Resource(len(table), RES_METADATA, out.tell(), len(table))
        out.write(table)

        dirs, count = _count(root)
        xml_offset = out.tell()
        xml = imagexml.pack(
            info,
            dir_count=dirs,
            file_count=count + ICD_FILECOUNT_EXTRA,
            total_bytes=sum(n.size for n in payload),
            xml_offset=xml_offset,
        )
        xml_res = Resource(len(xml), RES_METADATA, xml_offset, len(xml))
        out.write(xml)
        out.truncate()

        if guid is None:
            guid = _derived_guid(metadata, bytes(table), xml)
        out.seek(0)
        out.write(Header(guid=guid, blob_table=table_res, xml=xml_res).pack())
        out.seek(0, os.SEEK_END)


def write_wim(
    out: BinaryIO,
    files: Iterable[tuple[str, Source]],
    info: ImageInfo,
    *,
    guid: bytes | None = None,
    progress: Callable[[int, int], None] | None = None,
    first: Sequence[str] = (),
) -> None:
    """Write a one-image WIM of files ('/'-separated paths; folders implied) to out.

    out must be a seekable binary file opened for writing; it is written from offset 0 and
    truncated at the end. The caller writes to a temporary file and renames it. Top-level
    names in first come first, in that order.
    """
    root = _build_tree(files)  # every name is checked before any byte is written
    payload = list(_walk_files(root, first))
    total = sum(_source_size(n.source) for n in payload)
    writer = WimWriter(out, total=total, progress=progress)
    writer.finish_tree(root, info, guid=guid, first=first)


def _source_size(source: Source) -> int:
    if isinstance(source, Blob):
        return 0
    return len(source) if isinstance(source, bytes) else file_size(source)


def _derived_guid(*parts: bytes) -> bytes:
    """A GUID that depends only on the image's content, so output is deterministic."""
    digest = hashlib.sha1(b"bulk-enroll wim guid\0" + b"".join(parts)).digest()
    guid = bytearray(digest[:16])
    guid[7] = (guid[7] & 0x0F) | 0x50  # version 5, little-endian field order as in a GUID
    guid[8] = (guid[8] & 0x3F) | 0x80
    return bytes(guid)
