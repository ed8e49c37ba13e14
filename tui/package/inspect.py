"""Reading a provisioning package back: its metadata, its sources and every setting in it.

Settings come from the customizations.xml the package carries (WCD always copies it in),
so they read back with the paths the user knows. A package without one (hand-made, or
stripped) falls back to the parms of its provxml documents, addressed by characteristic.
Secrets are masked unless asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui import safexml
from tui.errors import UserError
from tui.package import compiler as px
from tui.package.build import CUSTOMIZATIONS, MASTER_DATASTORE, PROV
from tui.package.wim.header import MAGIC as WIM_MAGIC
from tui.project.model import OwnerType
from tui.safefile import read_regular
from tui.wcd.catalogue import derived_of, setting_of_parm
from tui.wcd.paths import SettingPath, path
from tui.wcd.settings import MASK, Setting, mask

PC_NS = "{urn:schemas-Microsoft-com:Windows-ICD-Package-Config.v1.0}"
# Budgets no real package approaches (WCD writes a handful of documents of a few KB); each
# keeps inspecting any package within seconds and a few hundred MB. docs/package-format.md.
# XPRESS decodes at about 3 MB/s here (pure Python): the decoded bytes bound the time.
MAX_XML = 6 << 20  # one document, decoded
MAX_XML_TOTAL = 6 << 20  # every document the package's settings are read from, decoded
MAX_SOURCES = 64  # ConfigurationSources in MasterDatastore.xml
MAX_SETS = 2_000  # ConfigurationSets in all sources together
MAX_PARMS = 100_000  # parms in all documents together (a document listed twice counts twice)


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


class _Budget:
    """The decoded bytes still allowed for this package's documents."""

    def __init__(self, package: Path) -> None:
        self.package = package
        self.left = MAX_XML_TOTAL

    def read(self, reader, name: str) -> bytes:
        size = reader.size(name)
        if size > MAX_XML:
            raise UserError(
                f"Package '{self.package}' is refused: {name} is larger than "
                f"{MAX_XML >> 20} MiB, the limit for one document."
            )
        if size > self.left:
            raise UserError(
                f"Package '{self.package}' is refused: its documents together are larger than "
                f"{MAX_XML_TOTAL >> 20} MiB, the limit for one package."
            )
        self.left -= size
        return reader.read(name, limit=MAX_XML)


def _xml(data: bytes, what: str, package: Path):
    try:
        return safexml.parse(data, MAX_XML)
    except safexml.XmlRefused as exc:
        raise UserError(f"Package '{package}' is refused: {what} is {exc}.") from None


def _too_many(package: Path, what: str, limit: int) -> UserError:
    return UserError(
        f"Package '{package}' is refused: it lists more than {limit:,} {what}, "
        "far more than any real package."
    )


def _sets(reader, files: set[str], budget: _Budget) -> list[ConfigurationSet]:
    """The ConfigurationSets of every source; ``files`` holds the image's paths casefolded."""
    package = budget.package
    if MASTER_DATASTORE.casefold() not in files:
        raise UserError(
            f"Package '{package}' is not a provisioning package: it has no {MASTER_DATASTORE}."
        )
    master = _xml(budget.read(reader, MASTER_DATASTORE), "MasterDatastore.xml", package)
    found: list[ConfigurationSet] = []
    names = [source.get("Name", "") for source in master.iter("ConfigurationSource")]
    if len(names) > MAX_SOURCES:
        raise _too_many(package, "configuration sources", MAX_SOURCES)
    for name in dict.fromkeys(names):
        index = f"{PROV}/{name}.xml"
        if index.casefold() not in files:
            raise UserError(f"Package '{package}' is damaged: {index} is missing.")
        for cs in _xml(budget.read(reader, index), f"{name}.xml", package).iter("ConfigurationSet"):
            if len(found) == MAX_SETS:
                raise _too_many(package, "configuration sets", MAX_SETS)
            data = cs.get("Data", "").replace("$(_prov)", PROV).replace("\\", "/")
            found.append(ConfigurationSet(name, cs.get("SettingsGroup", ""), data))
    return found


def _documents(reader, sets: list[ConfigurationSet], budget: _Budget) -> list[Document]:
    """Each set's parms; a document listed by several sets is read and decoded once."""
    package = budget.package
    parsed: dict[str, list[ProvParm]] = {}
    docs, total = [], 0
    for cs in sets:
        key = cs.file.casefold()
        if key not in parsed:
            data = budget.read(reader, cs.file)
            try:
                roots = px.parse(data)
            except ValueError as exc:
                raise UserError(f"Package '{package}' is refused: {cs.file} is {exc}.") from None
            parsed[key] = [
                ProvParm(path, p.name, p.value, p.datatype) for path, p in px.walk(roots)
            ]
        total += len(parsed[key])
        if total > MAX_PARMS:
            raise _too_many(package, "settings (parms)", MAX_PARMS)
        docs.append(Document(cs, parsed[key]))
    return docs


def _masked_parm(parm: ProvParm) -> ProvParm:
    if not (parm.value and px.is_secret_parm(parm.name)):
        return parm
    return ProvParm(parm.characteristic, parm.name, MASK, parm.datatype)


def derived_in(settings: list[Setting]) -> list[str]:
    """Which of our derived forms (the catalogue's) the settings use."""
    return derived_of(s.path for s in settings)


def _parm_path(parm: ProvParm) -> SettingPath:
    """A provxml parm named, for a package without customizations.xml: by its WCD setting
    where the catalogue knows its form, else by its characteristic path (names only: a
    characteristic has no list keys)."""
    if (known := setting_of_parm(parm.characteristic, parm.name)) is not None:
        return known
    return path(*parm.characteristic.split("/"), parm.name)


def read_package(path: str | os.PathLike[str], *, show_secrets: bool = False) -> PackageInfo:
    """Everything a technician wants to know about a .ppkg; UserError for anything damaged."""
    from tui.package.wim.reader import WimReader
    from tui.wcd import customizations

    package = Path(path)
    _check_is_wim(package)
    with WimReader(package) as reader:
        info = reader.info
        files = list(reader.files())
        present = {f.casefold() for f in files}
        budget = _Budget(package)
        sets = _sets(reader, present, budget)
        documents = _documents(reader, sets, budget)
        config: dict[str, str] = {}
        if CUSTOMIZATIONS.casefold() in present:
            root = _xml(budget.read(reader, CUSTOMIZATIONS), "customizations.xml", package)
            config = _package_config(root)
            settings = customizations.settings_of(root)
            origin = "customizations.xml"
        else:
            settings = [Setting(_parm_path(p), p.value) for d in documents for p in d.parms]
            origin = "provxml"

    derived = derived_in(settings)
    if not show_secrets:
        documents = [Document(d.set, [_masked_parm(p) for p in d.parms]) for d in documents]
        if origin == "customizations.xml":
            settings = [mask(s) for s in settings]
        else:
            hidden = {_parm_path(p) for d in documents for p in d.parms if p.value == MASK}
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


def _package_config(root) -> dict[str, str]:
    pc = root.find(f"{PC_NS}PackageConfig")
    if pc is None:
        return {}
    return {el.tag.removeprefix(PC_NS): (el.text or "") for el in pc if isinstance(el.tag, str)}


def _check_is_wim(package: Path) -> None:
    magic = read_regular(package, len(WIM_MAGIC), f"Package '{package}'", whole=False)
    if magic != WIM_MAGIC:
        raise UserError(
            f"'{package}' is not a WIM image, so not a package bulk-enroll can read "
            "(password-protected packages are encrypted in a format Microsoft has not published)."
        )


def _int(value: str | None) -> int | None:
    """A whole number of at most 18 digits (ranks and altitudes are small), else None."""
    text = (value or "").strip()
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None
    return int(text)


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
        "settings": [
            {"path": str(s.path), "segments": [list(seg) for seg in s.path], "value": s.value}
            for s in info.settings
        ],
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
    width = max((len(str(s.path)) for s in info.settings), default=0)
    lines += [f"  {str(s.path).ljust(width)}  {s.value}" for s in info.settings]
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
