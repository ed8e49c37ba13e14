"""The WIM container of a provisioning package: on-disk structures and the writer.

One image of regular files and folders laid out as ICD lays them out, identical contents
stored once, deterministic bytes for the same input and timestamp. The metadata and every blob
up to COMPRESS_LIMIT are XPRESS-compressed when that makes them smaller (as ICD does, see
docs/wim.md); larger payload files are streamed from disk raw, so memory use does not grow
with their size.
"""

from __future__ import annotations

import errno
import hashlib
import os
import struct
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from tui.errors import UserError
from tui.xpress_encode import compress_resource

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
COPY_BUFFER = 1 << 20
# Blobs up to this size are compressed (about a second each at worst in pure Python); larger
# payloads, in practice installers that are compressed already, are copied raw.
COMPRESS_LIMIT = 1 << 20
# ICD writes this many more than the true number of files in FILECOUNT (all four samples).
ICD_FILECOUNT_EXTRA = 2
MAX_NAME_UNITS = 255
_FORBIDDEN_CHARS = set('\\/:*?"<>|') | {chr(c) for c in range(32)}


@dataclass(frozen=True, slots=True)
class Blob:
    """File contents already stored in the image being written (see WimWriter.store)."""

    sha1: bytes
    size: int
    sha256: bytes | None = None  # asked for by the caller, e.g. for WCD's DataAsset folder names


Source = bytes | Path | Blob  # contents, a local file streamed from disk, or stored ones


@dataclass(frozen=True)
class ImageInfo:
    """The image's entry in the WIM XML data, which carries the package metadata."""

    name: str
    description: str = ""
    author: str = ""
    notes: str = ""
    version: str = "1.0"
    altitude: int = 5000
    reset_clear: bool = False
    package_id: str = ""
    timestamp: datetime = field(kw_only=True)


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


def _dentry_length(name: str) -> int:
    name_bytes = len(name.encode("utf-16-le")) + 2 if name else 0
    return (DENTRY.size + name_bytes + 7) & ~7


def _dentry(node: _Node, subdir_offset: int, time: int) -> bytes:
    name = node.name.encode("utf-16-le")
    is_dir = node.children is not None
    fixed = DENTRY.pack(
        _dentry_length(node.name),
        ATTR_DIRECTORY if is_dir else ATTR_ARCHIVE,
        NO_SECURITY,
        subdir_offset,
        0,
        0,
        time,
        time,
        time,
        node.hash,
        0,
        0,  # hard link group: none
        0,  # extra streams
        0,  # short name
        len(name),
    )
    body = fixed + (name + b"\0\0" if name else b"")
    return body.ljust(_dentry_length(node.name), b"\0")


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
    at = len(SECURITY_EMPTY) + _dentry_length("") + 8
    for folder, children in order:
        offsets[id(folder)] = at
        at += sum(_dentry_length(c.name) for c in children) + 8

    def entry(node: _Node) -> bytes:
        return _dentry(node, offsets.get(id(node), 0), time)

    out = bytearray(SECURITY_EMPTY)
    out += entry(root) + bytes(8)
    for _, children in order:
        for child in children:
            out += entry(child)
        out += bytes(8)
    assert len(out) == at
    return bytes(out)


# --- the XML data ------------------------------------------------------------------------------


def _not_xml_char(ch: str) -> bool:
    code = ord(ch)
    if code < 32:
        return ch not in "\t\n\r"
    return 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF)


def _xml_text(value: str, element: str) -> str:
    if any(_not_xml_char(ch) for ch in value):
        raise UserError(f"The package {element.lower()} contains a control character.")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _time_xml(element: str, value: int) -> str:
    return (
        f"<{element}><HIGHPART>0x{value >> 32:08X}</HIGHPART>"
        f"<LOWPART>0x{value & 0xFFFFFFFF:08X}</LOWPART></{element}>"
    )


def image_xml(
    info: ImageInfo, *, dir_count: int, file_count: int, total_bytes: int, xml_offset: int
) -> bytes:
    """The WIM XML data, UTF-16LE with a BOM, elements in the order ICD writes them."""
    time = filetime(info.timestamp)
    texts = [
        ("NAME", info.name),
        ("DESCRIPTION", info.description),
        ("NOTES", info.notes),
        ("AUTHOR", info.author),
        ("VERSION", info.version),
        ("ALTITUDE", str(info.altitude)),
        ("RESETCLEAR", "1" if info.reset_clear else "0"),
        ("PACKAGEID", info.package_id),
        ("DIRCOUNT", str(dir_count)),
        ("FILECOUNT", str(file_count)),
        ("TOTALBYTES", str(total_bytes)),
        ("HARDLINKBYTES", "0"),
    ]
    image = "".join(f"<{tag}>{_xml_text(value, tag)}</{tag}>" for tag, value in texts)
    image += _time_xml("CREATIONTIME", time) + _time_xml("LASTMODIFICATIONTIME", time)
    image += "<WIMBOOT>0</WIMBOOT>"
    xml = f'<WIM><TOTALBYTES>{xml_offset}</TOTALBYTES><IMAGE INDEX="1">{image}</IMAGE></WIM>'
    return b"\xff\xfe" + xml.encode("utf-16-le")


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
            if _size(path) > COMPRESS_LIMIT:
                return self._store_streamed(path, sha256)
            source = _read_small(path, self._advance)
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
        sha1, size, wide = _copy_hashed(out, path, sha256, self._advance)
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
            BLOB_ENTRY.pack(metadata_res.pack(), 1, 1, hashlib.sha1(metadata).digest())
        )
        for digest, res in self._stored.items():
            if digest in refs:
                table += BLOB_ENTRY.pack(res.pack(), 1, refs[digest], digest)
        table_res = Resource(len(table), RES_METADATA, out.tell(), len(table))
        out.write(table)

        dirs, count = _count(root)
        xml_offset = out.tell()
        xml = image_xml(
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
        out.write(header(guid=guid, blob_table=table_res, xml=xml_res))
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
    return len(source) if isinstance(source, bytes) else _size(source)


# --- streaming a payload file ------------------------------------------------------------------
# The data goes file to file inside the kernel (copy_file_range) while other threads hash it
# from the page cache: a plain Python read/write loop costs more than twice a kernel copy.


def _copy_hashed(
    out: BinaryIO, path: Path, want_sha256: bool, advance: Callable[[int], None]
) -> tuple[bytes, int, bytes | None]:
    """Stream a file into out; its SHA-1 (and SHA-256 if asked), and its size."""
    try:
        src = open(path, "rb", buffering=0)  # noqa: SIM115 - closed below
        before = os.fstat(src.fileno())
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    hashers = [hashlib.sha1()] + ([hashlib.sha256()] if want_sha256 else [])
    stop = threading.Event()
    with src, ThreadPoolExecutor(len(hashers)) as pool:
        hashed = [pool.submit(_hash_file, path, h, before.st_size, stop) for h in hashers]
        try:
            copied = _copy_data(src, out, before.st_size, advance)
        except BaseException:
            stop.set()
            raise
        sizes = [f.result() for f in hashed]
    try:
        after = os.stat(path)
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    same = (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    if not same or any(n != copied for n in sizes):
        raise UserError(f"The file '{path}' changed while the package was being built.")
    sha256 = hashers[1].digest() if want_sha256 else None
    return hashers[0].digest(), copied, sha256


def _read_small(path: Path, advance: Callable[[int], None]) -> bytes:
    """A payload of at most COMPRESS_LIMIT bytes, whole; refused if it changes meanwhile."""
    try:
        with open(path, "rb", buffering=0) as src:
            before = os.fstat(src.fileno())
            data = src.read(COMPRESS_LIMIT + 1)
        advance(len(data))
        after = os.stat(path)
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    same = (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    if not same or len(data) != before.st_size:
        raise UserError(f"The file '{path}' changed while the package was being built.")
    return data


def _hash_file(path: Path, digest, limit: int, stop: threading.Event) -> int:
    buffer = bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    size = 0
    try:
        with open(path, "rb", buffering=0) as f:
            while size < limit and not stop.is_set() and (n := f.readinto(buffer)):
                n = min(n, limit - size)
                digest.update(view[:n])  # hashlib lets go of the GIL for large updates
                size += n
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e
    return size


def _copy_data(src, out: BinaryIO, limit: int, advance: Callable[[int], None]) -> int:
    """Append src's first limit bytes to out; in the kernel where possible. Returns bytes copied.

    Never more than limit: a file that grows while it is copied must not make this endless.
    """
    out.flush()
    start = out.tell()
    copied = 0
    try:
        out_fd = out.fileno()
    except (OSError, ValueError):  # not a real file (e.g. io.BytesIO)
        out_fd = None
    if out_fd is not None and hasattr(os, "copy_file_range"):
        try:
            while copied < limit and (
                n := os.copy_file_range(
                    src.fileno(),
                    out_fd,
                    min(COPY_RANGE, limit - copied),
                    offset_src=copied,
                    offset_dst=start + copied,
                )
            ):
                copied += n
                advance(n)
            out.seek(start + copied)
            return copied
        except OSError as e:
            if e.errno not in _NO_KERNEL_COPY:
                raise _read_or_write_error(src, e, copied) from e
    out.seek(start + copied)
    src.seek(copied)
    buffer = bytearray(COPY_BUFFER)
    view = memoryview(buffer)
    while copied < limit:
        try:
            n = src.readinto(view[: min(COPY_BUFFER, limit - copied)])
        except OSError as e:
            raise UserError(f"Cannot read '{src.name}': {e.strerror or e}.") from e
        if not n:
            break
        out.write(view[:n])  # write errors propagate as OSError for the caller to report
        copied += n
        advance(n)
    return copied


COPY_RANGE = 8 << 20
HASH_BUFFER = 256 << 10
# copy_file_range cannot do this pair of files: fall back to reading and writing.
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ETXTBSY}


def _read_or_write_error(src, e: OSError, copied: int) -> Exception:
    """copy_file_range does not say which side failed: find out by reading the source."""
    try:
        os.pread(src.fileno(), 1, copied)
    except OSError as read_error:
        return UserError(f"Cannot read '{src.name}': {read_error.strerror or read_error}.")
    return e  # a write error (disk full, ...): OSError, reported by the caller


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as e:
        raise UserError(f"Cannot read '{path}': {e.strerror or e}.") from e


def _derived_guid(*parts: bytes) -> bytes:
    """A GUID that depends only on the image's content, so output is deterministic."""
    digest = hashlib.sha1(b"bulk-enroll wim guid\0" + b"".join(parts)).digest()
    guid = bytearray(digest[:16])
    guid[7] = (guid[7] & 0x0F) | 0x50  # version 5, little-endian field order as in a GUID
    guid[8] = (guid[8] & 0x3F) | 0x80
    return bytes(guid)
