"""The one way bulk-enroll parses XML it did not write itself: bounded and without a DTD.

Every XML document (a package's provxml and index files, its WIM XML data, a customizations.xml
to import) goes through :func:`parse`. It finds the encoding the way the XML specification's
appendix F does (BOM, else the first bytes, else the declaration), decodes the text itself and
hands libxml2 that exact text as UTF-8 without its declaration, so what the guard checked is
what is parsed. It refuses, with a phrase the caller completes into a sentence naming the file:

- a document larger than ``limit`` bytes (``MAX_BYTES`` by default);
- more than ``MAX_MARKUP`` tags ('<' characters), which bounds the tree before it is built;
- a DTD (``<!DOCTYPE``): libxml2 expands internal entities in attributes even with
  resolve_entities=False, and provisioning documents never carry one;
- nesting deeper than libxml2's own limit without XML_PARSE_HUGE (256);
- an entity reference left in the tree, whose text would silently read as empty.

Comments and processing instructions are dropped, so callers only meet elements.
See docs/package-format.md ("Limits on what is read").
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

MAX_BYTES = 16 << 20
MAX_MARKUP = 250_000
MAX_DEPTH = 256  # libxml2's limit without XML_PARSE_HUGE; stated here so the docs can say it

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NO_BOM = (
    (b"\0\0\0<", "utf-32-be"),
    (b"<\0\0\0", "utf-32-le"),
    (b"\0<\0?", "utf-16-be"),
    (b"<\0?\0", "utf-16-le"),
)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DECLARATION = re.compile(r"^<\?xml\b[^>]*\?>")
# Single-byte encodings where every ASCII byte means ASCII, so nothing hides from the guard.
_ASCII_COMPATIBLE = {"utf-8", "ascii", "latin-1", "iso8859-15", "cp1252"}
_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


class XmlRefused(ValueError):
    """Why a document was not parsed: a phrase such as 'not well-formed XML (...)' that
    follows "<file> is"; ``line`` is where the syntax error is, when it is one."""

    def __init__(self, phrase: str, line: int | None = None) -> None:
        super().__init__(phrase)
        self.line = line


def one_line(text: str) -> str:
    """libxml2's messages carry newlines and runs of spaces; a sentence has neither."""
    return " ".join(str(text).split())


def encoding_of(data: bytes) -> tuple[str, int]:
    """(Python codec, BOM length) of an XML document, as XML 1.0 appendix F finds it."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    for head, codec in _NO_BOM:
        if data.startswith(head):
            return codec, 0
    declared = _DECLARED.match(data)
    if declared is None:
        return "utf-8", 0
    name = declared.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise XmlRefused(f"in an unknown encoding ({name})") from None
    if codec.startswith(("utf-16", "utf-32")):
        return codec, 0
    if codec not in _ASCII_COMPATIBLE:
        raise XmlRefused(f"in the encoding {name}, which provisioning documents never use")
    return codec, 0


def looks_like_xml(head: bytes) -> bool:
    """Whether the first bytes of a file start an XML document, in any encoding parse reads."""
    try:
        codec, skip = encoding_of(head)
    except XmlRefused:
        return True  # it is XML; parse will say why it is refused
    text = head[skip:].decode(codec, errors="ignore")
    return text.lstrip().startswith("<")


def decode(data: bytes, limit: int = MAX_BYTES) -> str:
    """The document's text (BOM and declaration dropped), after the size and DTD checks."""
    if len(data) > limit:
        raise XmlRefused(f"larger than {limit >> 20} MiB, the limit for one document")
    codec, skip = encoding_of(data)
    try:
        text = data[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        raise XmlRefused(f"not valid {codec.upper()} text (at byte {exc.start + skip})") from None
    # Dropped for libxml2 (the text is UTF-8 now); its newlines stay so line numbers hold.
    text = _DECLARATION.sub(
        lambda m: "\n" * m.group().count("\n"), text.removeprefix("\ufeff"), count=1
    )
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise XmlRefused("carrying a DTD (<!DOCTYPE>), which provisioning documents never have")
    markup = text.count("<")
    if markup > MAX_MARKUP:
        raise XmlRefused(f"made of more than {MAX_MARKUP:,} tags, the limit for one document")
    return text


def parse(data: bytes, limit: int = MAX_BYTES) -> etree._Element:
    """The root element of a document, or XmlRefused saying why not."""
    text = decode(data, limit)
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError as exc:
        if "Excessive depth" in str(exc):
            raise XmlRefused(f"nested more than {MAX_DEPTH} elements deep") from None
        raise XmlRefused(f"not well-formed XML ({one_line(exc.msg or exc)})", exc.lineno) from None
    for entity in root.iter(etree.Entity):
        raise XmlRefused(f"holding an unresolved entity reference ({one_line(entity.text)})")
    return root
