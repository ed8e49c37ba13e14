"""Reading a provisioning package back: its metadata, its sources and every setting in it.

Settings come from the customizations.xml the package carries (WCD always copies it in),
so they read back with the paths the user knows. A package without one (hand-made, or
stripped) falls back to the parms of its provxml documents, addressed by characteristic.
Secrets are masked unless asked for.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from tui import provxml as px
from tui.errors import UserError
from tui.model import OwnerType
from tui.package import CUSTOMIZATIONS, MASTER_DATASTORE, PROV
from tui.settings import MASK, Setting, mask
from tui.wimformat import MAGIC as WIM_MAGIC

PC_NS = "{urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0}"
MAX_XML = 64 << 20  # no provisioning document comes near this; a larger one is hostile
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True, slots=True)
class ConfigurationSet:
    source: str  # "RunTime", "User_RunTime", "Uicc_RunOnce"
    settings_group: str  # GUID (2018+) or group name (2016)
    file: str  # path inside the image


@dataclass(frozen=True, slots=True)
class ProvParm:
    characteristic: str  # "Policy/Config/Security"
    name: str
    value: str
    datatype: str


@dataclass(frozen=True, slots=True)
class Document:
    set: ConfigurationSet
    parms: list[ProvParm]


@dataclass(frozen=True, slots=True)
class PackageInfo:
    path: Path
    name: str
    package_id: str
    version: str
    owner_type: str
    rank: int | None
    description: str
    author: str
    altitude: int | None
    notes: str
    files: list[str]
    documents: list[Document]
    settings: list[Setting]
    settings_from: str  # "customizations.xml" or "provxml"
    secrets_shown: bool = False
    derived: list[str] = field(default_factory=list)

    @property
    def sets(self) -> list[ConfigurationSet]:
        return [d.set for d in self.documents]

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(s.source for s in self.sets))


def _xml(data: bytes, what: str, package: Path):
    if len(data) > MAX_XML:
        raise UserError(f"Package '{package}' is damaged: {what} is implausibly large.")
    if b"<!DOCTYPE" in data:
        # libxml2 expands internal entities in attributes even with resolve_entities=False.
        raise UserError(
            f"Package '{package}' is refused: {what} carries a DTD (<!DOCTYPE>), "
            "which provisioning documents never have."
        )
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise UserError(
            f"Package '{package}' is damaged: {what} is not valid XML ({exc})."
        ) from exc


def _sets(reader, files: set[str], package: Path) -> list[ConfigurationSet]:
    """The ConfigurationSets of every source; ``files`` holds the image's paths casefolded."""
    if MASTER_DATASTORE.casefold() not in files:
        raise UserError(
            f"Package '{package}' is not a provisioning package: it has no {MASTER_DATASTORE}."
        )
    master = _xml(reader.read(MASTER_DATASTORE), "MasterDatastore.xml", package)
    found = []
    for source in master.iter("ConfigurationSource"):
        name = source.get("Name", "")
        index = f"{PROV}/{name}.xml"
        if index.casefold() not in files:
            raise UserError(f"Package '{package}' is damaged: {index} is missing.")
        for cs in _xml(reader.read(index), f"{name}.xml", package).iter("ConfigurationSet"):
            data = cs.get("Data", "").replace("$(_prov)", PROV).replace("\\", "/")
            found.append(ConfigurationSet(name, cs.get("SettingsGroup", ""), data))
    return found


def _documents(reader, sets: list[ConfigurationSet], package: Path) -> list[Document]:
    docs = []
    for cs in sets:
        try:
            roots = px.parse(reader.read(cs.file, limit=MAX_XML))
        except ValueError as exc:
            raise UserError(f"Package '{package}' is damaged: {cs.file} is {exc}.") from exc
        parms = [ProvParm(path, p.name, p.value, p.datatype) for path, p in px.walk(roots)]
        docs.append(Document(cs, parms))
    return docs


def _masked_parm(parm: ProvParm) -> ProvParm:
    if not (parm.value and px.is_secret_parm(parm.name)):
        return parm
    return ProvParm(parm.characteristic, parm.name, MASK, parm.datatype)


def derived_in(settings: list[Setting]) -> list[str]:
    """Which of our derived forms the settings use (paths compared with list keys dropped)."""
    plain = {re.sub(r"\[[^\]]*\]", "", s.path) for s in settings}
    return [d for d in px.DERIVED_ALL if any(p.startswith(d) for p in plain)]


def read_package(path: str | os.PathLike[str], *, show_secrets: bool = False) -> PackageInfo:
    """Everything a technician wants to know about a .ppkg; UserError for anything damaged."""
    from tui import customizations
    from tui.wimreader import WimReader

    package = Path(path)
    if not package.is_file():
        raise UserError(f"Package '{package}' does not exist or is not a file.")
    _check_is_wim(package)
    with WimReader(package) as reader:
        info = reader.info
        files = list(reader.files())
        present = {f.casefold() for f in files}
        sets = _sets(reader, present, package)
        documents = _documents(reader, sets, package)
        config: dict[str, str] = {}
        if CUSTOMIZATIONS.casefold() in present:
            data = reader.read(CUSTOMIZATIONS)
            root = _xml(data, "customizations.xml", package)
            pc = root.find(f"{PC_NS}PackageConfig")
            if pc is not None:
                config = {el.tag.removeprefix(PC_NS): (el.text or "") for el in pc}
            settings = customizations.flatten_settings(data, source=f"{package}:{CUSTOMIZATIONS}")
            origin = "customizations.xml"
        else:
            settings = [
                Setting(f"{p.characteristic}/{p.name}", p.value) for d in documents for p in d.parms
            ]
            origin = "provxml"

    derived = derived_in(settings)
    if not show_secrets:
        documents = [Document(d.set, [_masked_parm(p) for p in d.parms]) for d in documents]
        if origin == "customizations.xml":
            settings = [mask(s) for s in settings]
        else:
            hidden = {
                f"{p.characteristic}/{p.name}"
                for d in documents
                for p in d.parms
                if p.value == MASK
            }
            settings = [Setting(s.path, MASK) if s.path in hidden else s for s in settings]
    altitude = _int(info.get("ALTITUDE"))
    return PackageInfo(
        path=package,
        name=info.get("NAME") or config.get("Name", ""),
        package_id=info.get("PACKAGEID") or config.get("ID", ""),
        version=info.get("VERSION") or config.get("Version", ""),
        owner_type=config.get("OwnerType") or _owner_from_altitude(altitude),
        rank=_int(config.get("Rank")),
        description=info.get("DESCRIPTION", ""),
        author=info.get("AUTHOR", ""),
        altitude=altitude,
        notes=info.get("NOTES", ""),
        files=files,
        documents=documents,
        settings=settings,
        settings_from=origin,
        secrets_shown=show_secrets,
        derived=derived,
    )


def _check_is_wim(package: Path) -> None:
    try:
        with open(package, "rb") as f:
            magic = f.read(len(WIM_MAGIC))
    except OSError as exc:
        raise UserError(f"Cannot read '{package}': {exc.strerror or exc}.") from exc
    if magic != WIM_MAGIC:
        raise UserError(
            f"'{package}' is not a WIM image, so not a package bulk-enroll can read "
            "(password-protected packages are encrypted in a format Microsoft has not published)."
        )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _owner_from_altitude(altitude: int | None) -> str:
    owners = list(OwnerType)
    if altitude is None or not 0 <= altitude // 1000 < len(owners):
        return ""
    return owners[altitude // 1000].value


def to_json(info: PackageInfo) -> dict[str, Any]:
    return {
        "path": str(info.path),
        "name": info.name,
        "package_id": info.package_id,
        "version": info.version,
        "owner_type": info.owner_type,
        "rank": info.rank,
        "description": info.description,
        "author": info.author,
        "altitude": info.altitude,
        "notes": info.notes,
        "sources": [
            {"name": s, "files": [c.file for c in info.sets if c.source == s]} for s in info.sources
        ],
        "documents": [
            {
                "source": d.set.source,
                "settings_group": d.set.settings_group,
                "file": d.set.file,
                "parms": [
                    {
                        "characteristic": p.characteristic,
                        "name": p.name,
                        "value": p.value,
                        "datatype": p.datatype,
                    }
                    for p in d.parms
                ],
            }
            for d in info.documents
        ],
        "derived_settings": info.derived,
        "settings_from": info.settings_from,
        "secrets_shown": info.secrets_shown,
        "settings": [{"path": s.path, "value": s.value} for s in info.settings],
        "files": info.files,
    }


def describe(info: PackageInfo) -> str:
    """The human form printed by ``bulk-enroll inspect``."""
    rank = "unknown" if info.rank is None else str(info.rank)
    lines = [
        f"Package      {info.name}",
        f"ID           {info.package_id}",
        f"Version      {info.version}",
        f"Owner        {info.owner_type or 'unknown'} (rank {rank}, altitude {info.altitude})",
    ]
    if info.description:
        lines.append(f"Description  {info.description}")
    if info.author:
        lines.append(f"Author       {info.author}")
    if info.notes:
        lines.append(f"Notes        {info.notes}")
    lines.append("")
    lines.append("Configuration sources:")
    for source in info.sources:
        names = [c.file.rsplit("/", 1)[-1] for c in info.sets if c.source == source]
        lines.append(f"  {source} ({len(names)} document{'s' if len(names) != 1 else ''})")
        lines += [f"    {n}" for n in names]
    lines.append("")
    lines.append(f"Settings (from {info.settings_from}):")
    width = max((len(s.path) for s in info.settings), default=0)
    lines += [f"  {s.path.ljust(width)}  {s.value}" for s in info.settings]
    if not info.settings:
        lines.append("  (none)")
    if info.derived:
        lines += [
            "",
            "Settings in a form derived from Microsoft's CSP documentation",
            "(not yet seen in a WCD-built package; see docs/package-format.md):",
        ]
        lines += [f"  {d}" for d in info.derived]
    if not info.secrets_shown and any(s.value == MASK for s in info.settings):
        lines += ["", "Secrets are masked; add --show-secrets to see them."]
    return "\n".join(lines)
