"""Compiling a project into a provisioning package (.ppkg), the way WCD lays it out.

``package_tree`` gives every file of the image (pure, given the hashed payloads and the
certificate bytes); ``build_package`` validates, hashes the payloads, and writes the WIM to
a temporary file beside the output that replaces it only once the whole package is written.
See docs/package-format.md.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tui.errors import UserError
from tui.package import compiler as px
from tui.project import certfile
from tui.project.model import Project
from tui.safefile import (
    check_regular,
    create_temp,
    open_regular,
    output_target,
    read_regular,
    remove_stale_beside,
)
from tui.wcd.catalogue import derived_of
from tui.wcd.paths import shape, under
from tui.wcd.settings import COMMANDS, Setting, project_settings, wcd_order

# The WCD version we claim in NOTES: the Windows 11 24H2 ADK's, whose output the package
# mirrors (WCD 2024+ SettingsPath attributes, TargetSkus naming).
WCD_VERSION = "10.0.26100.1"
DATA_ASSET_INDEX = 2
HASH_BUFFER = 1 << 20
TEMP_SUFFIX = ".part"
# Where the image keeps its provisioning documents (tui.package.inspect reads them back there).
MASTER_DATASTORE = "Multivariant/0/MasterDatastore.xml"
CUSTOMIZATIONS = "Multivariant/0/customizations.xml"
PROV = "Multivariant/0/Prov"

Progress = Callable[[int, int], None]
CERTIFICATE_PATH = "Certificates/RootCertificates/RootCertificate[]/CertificatePath"


@dataclass(frozen=True, slots=True)
class Asset:
    """A payload file carried in DataAsset/2: an installer or one of its dependencies."""

    index: int
    source: Path
    folder: str  # "<index>_<base64 of SHA-256>"
    command: int
    dependency: int | None = None
    content: object = None  # what the image stores: the source, or a writer Blob of it

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def key(self) -> str:
        return f"{self.folder}\\{self.name}"

    @property
    def path(self) -> str:
        return f"DataAsset/{DATA_ASSET_INDEX}/{self.folder}/{self.name}"

    @property
    def setting(self) -> str:
        tail = "CommandFile" if self.dependency is None else "DependencyPackages/Dependency"
        return f"/{px.CMD}/{self.command}/{tail}"


@dataclass(frozen=True, slots=True)
class BuildResult:
    path: Path
    size: int
    package_id: str
    files: list[str]  # every path inside the image
    derived: list[str]  # customizations paths whose provxml form we derived


# -- reading inputs (I/O) -----------------------------------------------------------------------


def _local(path: str) -> Path:
    return Path(os.path.expanduser(path))


def sha256_file(path: Path) -> bytes:
    digest = hashlib.sha256()
    buffer = bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    fd = open_regular(path, f"'{path}'")
    try:
        with open(fd, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                digest.update(view[:n])
    except OSError as exc:
        raise UserError(f"Cannot read '{path}': {exc.strerror or exc}.") from exc
    return digest.digest()


def payload_files(settings: Sequence[Setting]) -> list[tuple[int, int | None, str]]:
    """(command index, dependency index or None, file) of every installer and dependency."""
    found: list[tuple[int, int | None, str]] = []
    commands: dict[str, int] = {}
    dependencies: dict[int, int] = {}
    for s in settings:
        if not under(s.path, COMMANDS) or len(s.path) < 4:
            continue
        n = commands.setdefault(s.path[3][1], len(commands))
        leaf = shape(s.path[4:])
        if leaf == "CommandFile" and s.value:
            found.append((n, None, s.value))
        elif leaf == "DependencyPackages/Dependency[]":
            j = dependencies[n] = dependencies.get(n, -1) + 1
            found.append((n, j, s.value))
    return found


def collect_assets(
    source: Project | Sequence[Setting], store: Callable[[Path], object] | None = None
) -> list[Asset]:
    """Every payload file with its DataAsset folder; each file is read once, streaming.

    With ``store`` (WimWriter.store with sha256) the file is copied into the image and hashed
    in the same pass; without it, it is only hashed.
    """
    assets: list[Asset] = []
    seen: dict[Path, tuple[bytes, object]] = {}

    def add(path: str, command: int, dependency: int | None) -> None:
        source = _local(path)
        if source not in seen:
            check_regular(source, f"Installer file '{path}'")
            if store is None:
                seen[source] = (sha256_file(source), source)
            else:
                blob = store(source)
                seen[source] = (blob.sha256, blob)
        digest, content = seen[source]
        index = len(assets)
        folder = px.asset_folder(index, digest)
        assets.append(Asset(index, source, folder, command, dependency, content))

    settings = project_settings(source) if isinstance(source, Project) else source
    # Installers first, then dependencies, each in command order: the DataAsset numbering.
    files = payload_files(settings)
    for n, j, file in sorted(files, key=lambda f: (f[0], -1 if f[1] is None else f[1])):
        add(file, n, j)
    return assets


def certificate_der(data: bytes, source: str) -> bytes:
    """DER bytes of a .cer file, which may be DER or Base-64 (PEM) encoded."""
    if (der := certfile.certificate_der(data)) is not None:
        return der
    raise UserError(f"Certificate file '{source}' holds no DER or Base-64 X.509 certificate.")


def read_certificates(source: Project | Sequence[Setting]) -> list[px.CertificateData]:
    """The bytes of every CertificatePath setting's file, in order."""
    settings = project_settings(source) if isinstance(source, Project) else source
    found = []
    for s in settings:
        if shape(s.path) == CERTIFICATE_PATH:
            label = f"Certificate file '{s.value}'"
            data = read_regular(_local(s.value), certfile.MAX_CERTIFICATE_BYTES, label)
            name = next(k for _, k in s.path if k is not None)
            found.append(px.CertificateData(name, certificate_der(data, s.value)))
    return found


# -- the image tree (pure) ----------------------------------------------------------------------


def _with_bom(data: bytes) -> bytes:
    # Windows refused a package whose XML lacked the BOM (0xC00CEE2D).
    return data if data.startswith(px.BOM) else px.BOM + data


def data_asset_xml(assets: Sequence[Asset]) -> bytes:
    metadata = [("Name", "CommandFile"), *((a.key, a.setting) for a in assets)]
    return px.elements_index("DataAsset", DATA_ASSET_INDEX, metadata)


# ICD writes Multivariant before CommonSettings at the root (all four samples; docs/wim.md).
ROOT_ORDER = ("Multivariant", "CommonSettings")


def package_settings(project: Project, extra: Sequence[Setting] = ()) -> list[Setting]:
    """What the package carries: the project's settings and any extra ones (settings of an
    imported customizations.xml that the catalogue knows and the model has no field for)."""
    return wcd_order([*project_settings(project), *extra]) if extra else project_settings(project)


def package_tree(
    project: Project,
    assets: Sequence[Asset] = (),
    certificates: Sequence[px.CertificateData] = (),
    extra: Sequence[Setting] = (),
) -> list[tuple[str, object]]:
    """Every file of the package image, in WCD's layout; payloads as Path sources (or Blobs)."""
    from tui.wcd import customizations

    settings = package_settings(project, extra)
    keys = {(a.command, a.dependency): a.key for a in assets}
    inputs = px.Inputs(asset_keys=keys, certificates=certificates)
    docs = px.documents(settings, project.package.id, inputs)
    pkg = project.package
    answer_file = customizations.customizations_document(pkg, settings, answer_file=True)
    placed = px.place(docs)
    source_names = px.sources(docs)
    tree: list[tuple[str, object]] = [
        ("Multivariant/Multivariant.xml", px.elements_index("Multivariant", 0)),
        (MASTER_DATASTORE, px.master_datastore(source_names)),
        (CUSTOMIZATIONS, _with_bom(customizations.customizations_document(pkg, settings))),
    ]
    for source in source_names:
        tree.append((f"{PROV}/{source}.xml", px.configuration_source(source, placed)))
        tree += [
            (f"{PROV}/{source}/{p.file_name}", px.render(p.doc))
            for p in placed
            if p.doc.source == source
        ]
    tree += [
        ("CommonSettings/CommonSettings.xml", px.elements_index("CommonSettings", 1)),
        ("CommonSettings/1/AnswerFile.xml", _with_bom(answer_file)),
    ]
    if assets:
        tree.append(("DataAsset/DataAsset.xml", data_asset_xml(assets)))
        tree += [(a.path, a.content or a.source) for a in assets]
    return tree


def notes(package_id: str) -> str:
    return (
        f"VERSION={WCD_VERSION};Source=Classic;;TargetSkus=WindowsCommon,Desktop;"
        f"EncryptPackage=False;SignPackage=False;PackageID={package_id.strip('{}')};"
    )


def image_info(project: Project, timestamp: datetime):
    from tui.package.wim.imagexml import ImageInfo

    pkg = project.package
    return ImageInfo(
        name=pkg.name,
        description=pkg.description,
        notes=notes(pkg.id),
        version=pkg.version,
        altitude=pkg.owner_type.altitude,
        reset_clear=False,
        package_id=pkg.id.lower(),
        timestamp=timestamp,
    )


def wim_guid(project: Project, timestamp: datetime) -> bytes:
    """The WIM header GUID: fixed by the package id and the time stamp (deterministic)."""
    name = f"{project.package.id.lower()}|{timestamp.isoformat()}"
    return uuid.uuid5(px.DERIVED_GROUP_NAMESPACE, name).bytes_le


# -- building ------------------------------------------------------------------------------------


def _payload_size(project: Project) -> int:
    """Bytes of installers and dependencies, for progress (each file counted once)."""
    files = {_local(p) for a in project.applications for p in (a.file, *a.dependencies) if p}
    return sum(f.stat().st_size for f in files if f.is_file())


def _check_output(out: Path) -> Path:
    """The file the package replaces (``out``, or the file a symlink there points to)."""
    if out.is_dir():
        raise UserError(f"Output '{out}' is a folder; give a file name ending in .ppkg.")
    target = output_target(out, f"Output '{out}'")
    if not target.parent.is_dir():
        raise UserError(f"Output folder '{target.parent}' does not exist.")
    if not os.access(target.parent, os.W_OK):
        raise UserError(f"Output folder '{target.parent}' is not writable.")
    return target


def validate_for_build(project: Project, today) -> None:
    from tui.project import rules

    problems = rules.validate(project, today=today, for_build=True)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        first = problems[0].message.rstrip(".")
        raise UserError(f"{first}{more}.")


def build_package(
    project: Project,
    out_path: str | os.PathLike[str],
    *,
    timestamp: datetime,
    progress: Progress | None = None,
    extra: Sequence[Setting] = (),
) -> BuildResult:
    """Validate, then write the package to out_path; on any failure nothing is left there.

    The package holds the bulk token and passwords, so it is created owner-only (0600).
    """
    from functools import partial

    from tui.package.wim.writer import WimWriter

    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    out = Path(out_path)
    target = _check_output(out)
    validate_for_build(project, timestamp.date())
    settings = package_settings(project, extra)
    certificates = read_certificates(settings)

    prefix = f".{target.name}."
    remove_stale_beside(target, prefix, TEMP_SUFFIX)
    fd, tmp = create_temp(target.parent, prefix, TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "w+b") as f:
            writer = WimWriter(f, total=_payload_size(project), progress=progress)
            assets = collect_assets(settings, store=partial(writer.store, sha256=True))
            tree = package_tree(project, assets, certificates, extra)
            writer.finish(
                tree,
                image_info(project, timestamp),
                guid=wim_guid(project, timestamp),
                first=ROOT_ORDER,
            )
            f.flush()
            os.fsync(f.fileno())
            if os.name == "posix":
                os.replace(tmp, target)  # with the lock held, so never taken for stale
        if os.name != "posix":
            os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"Cannot write package '{out}': {exc.strerror or exc}.") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BuildResult(
        path=out,
        size=out.stat().st_size,
        package_id=project.package.id,
        files=[path for path, _ in tree],
        derived=derived_of(s.path for s in settings),
    )
