"""The XML data of a WIM: UTF-16LE with a BOM, `<WIM>` with its TOTALBYTES and one `<IMAGE>`
whose elements carry the package metadata (name, notes, package id, ...) and counts. We write
the elements in the order ICD writes them (docs/wim.md); reading gives every element's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tui import safexml
from tui.errors import UserError
from tui.package.wim.filetime import filetime, from_filetime


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


def pack(
    info: ImageInfo, *, dir_count: int, file_count: int, total_bytes: int, xml_offset: int
) -> bytes:
    """The XML data; UserError if a text holds a character XML 1.0 cannot carry."""
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


def unpack(data: bytes, limit: int) -> dict[str, str]:
    """Image 1's properties: NAME -> text; times (HIGHPART/LOWPART) as ISO 8601
    UTC; other nested elements as A/B keys. safexml.XmlRefused if the XML is refused."""
    root = safexml.parse(data, limit)
    image = root.find("IMAGE[@INDEX='1']")
    if image is None:
        image = root.find("IMAGE")
    return {} if image is None else _flatten(image)


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


def _flatten(element, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        key = prefix + child.tag
        high, low = child.findtext("HIGHPART"), child.findtext("LOWPART")
        if high is not None and low is not None:
            try:
                out[key] = from_filetime(int(high, 16) << 32 | int(low, 16)).isoformat()
                continue
            except (ValueError, OverflowError, OSError):
                pass
        if len(child):
            out.update(_flatten(child, key + "/"))
        else:
            out[key] = child.text or ""
    return out
