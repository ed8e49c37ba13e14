"""The project session, shared by the app and the CLI: opening a project file (remembered
among the recent projects), where a project's file goes, drafts, claiming a new project's
file, saving (before a sign-in too), and the project as a build sees it (a snapshot with
relative payload paths resolved against the project file).

A project without a valid step 1 is a *draft*, kept in the config folder under its package
id; once named, it is saved as ``<folder>/<name>.bulkenroll.toml``, a file claimed with
O_EXCL so that a new project never replaces an existing one.

The app keeps a session's two parts itself (``app.project``, ``app.project_path``) and calls
the functions below; a command holds a :class:`ProjectSession` made by :func:`open_file`.
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.errors import UserError
from tui.project.file import (
    PROJECT_SUFFIX,
    check_can_save,
    dumps_project,
    encode_project,
    load_project,
    write_project_bytes,
)
from tui.project.logfile import log
from tui.project.model import Connection, Project
from tui.project.recent import remember

DEFAULT_PARENT = "~/bulk-enroll"
DRAFTS = "drafts"

__all__ = [
    "DEFAULT_PARENT",
    "ProjectSession",
    "check_can_save",
    "claim_project_file",
    "default_folder",
    "draft_path",
    "drafts",
    "fingerprint",
    "for_build",
    "is_draft",
    "open_file",
    "project_file",
    "resolve_payload_paths",
    "save",
    "save_before_sign_in",
    "write",
    "build",
    "file_sha256",
]


def default_folder(name: str) -> str:
    """The folder of a project whose folder was left empty."""
    return f"{DEFAULT_PARENT}/{name}"


def draft_path(config_dir: Path, project: Project) -> Path:
    return config_dir / DRAFTS / f"{project.package.id.strip('{}')}{PROJECT_SUFFIX}"


def is_draft(config_dir: Path, path: Path) -> bool:
    return Path(os.path.abspath(path)).parent == Path(os.path.abspath(config_dir / DRAFTS))


def drafts(config_dir: Path) -> list[tuple[Path, str]]:
    """The drafts, newest first, each with its package name ("" when it has none yet)."""
    found = []
    for path in (config_dir / DRAFTS).glob(f"*{PROJECT_SUFFIX}"):
        try:
            found.append((path.stat().st_mtime, path, load_project(path).package.name))
        except (OSError, UserError):
            continue  # a damaged draft is not offered
    return [(path, name) for _, path, name in sorted(found, reverse=True)]


@dataclass
class ProjectSession:
    """A project being worked on: ``path`` is its project file, None while it is a draft
    (saved in ``config_dir``, see :func:`project_file`)."""

    project: Project
    path: Path | None
    config_dir: Path

    @property
    def file(self) -> Path:
        return project_file(self.config_dir, self.project, self.path)

    def save(self) -> Path:
        save(self.project, self.file)
        return self.file

    def check_can_save(self) -> None:
        check_can_save(self.file)

    def snapshot(self) -> Project:
        return for_build(self.project, self.path)


def open_file(path: Path, config_dir: Path) -> ProjectSession:
    """Read a project file (a UserError names the file and what is wrong); a named project
    goes to the top of the recent projects, a draft stays a draft."""
    path = Path(path)
    project = load_project(path)
    draft = is_draft(config_dir, path)
    if not draft:
        try:
            remember(config_dir, path)
        except OSError as exc:  # the list is a convenience: the project opens all the same
            log.info("The recent projects list was not updated: %s", exc)
    log.info("Opened the project %s", path)
    return ProjectSession(project, None if draft else path, config_dir)


def project_file(config_dir: Path, project: Project, path: Path | None) -> Path:
    """Where a project is saved: its project file once named, else its draft."""
    return path if path is not None else draft_path(config_dir, project)


def save(project: Project, path: Path) -> None:
    """Save now (atomic, owner-only), the project's folder created first."""
    write(path, encode_project(project, path))


def write(path: Path, data: bytes) -> None:
    """Write what ``encode_project`` gave (the autosave encodes first, writes in a thread)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise UserError(f"Cannot save project file {path}: {exc.strerror}.") from None
    write_project_bytes(path, data)


def claim_project_file(project: Project) -> Path:
    """Create ``<folder>/<name>.bulkenroll.toml`` (O_EXCL) and its folder; returns the path.

    Refused with a sentence when the file exists: a new project never replaces one."""
    folder = Path(project.folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"The project folder {folder} cannot be created: {exc.strerror}.") from None
    path = folder / f"{project.package.name}{PROJECT_SUFFIX}"
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise UserError(
            f"A project file {path.name} already exists in {folder}: open it from the "
            "start screen, or choose another name."
        ) from None
    except OSError as exc:
        raise UserError(f"The project file {path} cannot be created: {exc.strerror}.") from None
    return path


def save_before_sign_in(project: Project, path: Path) -> None:
    """Save now, and make sure the file can be saved again: the token a sign-in brings
    (and the package user Entra ID creates for it) must not be lost."""
    save(project, path)
    check_can_save(path)


def resolve_payload_paths(project: Project, folder: Path) -> Project:
    """Relative installer, dependency and certificate paths, made relative to ``folder``
    (the project file's); changes ``project`` and returns it."""

    def resolve(p: str) -> str:
        return p if not p or Path(p).expanduser().is_absolute() else str(folder / p)

    for app in project.applications:
        app.file = resolve(app.file)
        app.dependencies = [resolve(d) for d in app.dependencies]
    for cert in project.certificates:
        cert.path = resolve(cert.path)
    return project


def for_build(project: Project, project_file: Path | None) -> Project:
    """The snapshot a build works on: later edits do not reach it."""
    snapshot = copy.deepcopy(project)
    if project_file is not None:
        resolve_payload_paths(snapshot, Path(project_file).parent)
    return snapshot


def as_checked(project: Project, project_file: Path | None) -> Project:
    """The project the rules check: ``project`` itself, or a resolved copy when it holds
    relative payload paths (which the rules would otherwise look for in the current folder)."""
    relative = [p for p in _payloads(project) if p and not Path(p).expanduser().is_absolute()]
    return for_build(project, project_file) if relative and project_file else project


def _settings_only(project: Project) -> Project:
    settings = copy.deepcopy(project)
    settings.wifi_aside = None
    settings.resume = None
    settings.connection = Connection()  # how this computer signs in: not in the package
    return settings


def _payloads(project: Project) -> list[str]:
    paths = [a.file for a in project.applications]
    paths += [d for a in project.applications for d in a.dependencies]
    paths += [c.path for c in project.certificates]
    return paths


def fingerprint(project: Project) -> str:
    """A hash of what the package is built from: every setting (not where the app left
    off) and each payload file's size and modification time."""
    text = dumps_project(_settings_only(project))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass"))
    for path in _payloads(project):
        try:
            st = os.stat(Path(path).expanduser())
            digest.update(f"\n{path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
        except (OSError, ValueError):
            digest.update(f"\n{path}\0missing".encode())
    return digest.hexdigest()


def file_sha256(path: Path) -> str | None:
    """The SHA-256 of a file in hex, or None when it cannot be read."""
    from tui.package.build import sha256_file

    try:
        return sha256_file(Path(path)).hex()
    except (OSError, UserError):
        return None


def build(snapshot: Project, out: Path, **options: Any) -> tuple[Any, str]:
    """``tui.package.build.build_package`` and the SHA-256 of what it wrote."""
    from tui.package.build import build_package

    result = build_package(snapshot, out, **options)
    return result, file_sha256(result.path) or ""
