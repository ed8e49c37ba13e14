"""customizations.xml, the Windows Configuration Designer (WCD) project format: writing.

Written byte for byte as WCD writes it: UTF-8 BOM, CRLF, two-space indent, no final
newline, empty values as ``<X></X>``. Each path segment is an element and each list key an
attribute, so no key needs escaping. Reading is in tui.wcd.reader (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tui.errors import UserError
from tui.project.model import PackageConfig, Project
from tui.safefile import write_atomic
from tui.wcd.reader import (
    CUSTOMIZATIONS_FILE,
    KEY_ATTRIBUTES,
    PACKAGE_NS,
    ROOT,
    SETTINGS_NS,
    ImportResult,
    flatten_settings,
    load_customizations,
    read_customizations,
    settings_of,
)
from tui.wcd.settings import Setting, project_settings

__all__ = [
    "ImportResult",
    "customizations_document",
    "export_wcd",
    "flatten_settings",
    "load_customizations",
    "read_customizations",
    "settings_of",
    "to_customizations_xml",
]

BOM = b"\xef\xbb\xbf"
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

# --- a tiny element tree that serializes exactly like WCD --------------------------------


@dataclass
class _Element:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[_Element] = field(default_factory=list)
    text: str | None = None
    # (name, key) -> child made by child(): keeps building linear in the number of settings
    _made: dict[tuple[str, str | None], _Element] = field(default_factory=dict, repr=False)

    def child(self, name: str, key: str | None = None) -> _Element:
        """The child with this name and key made before, or a new one appended."""
        found = self._made.get((name, key))
        if found is None:
            attrs = {} if key is None else {KEY_ATTRIBUTES.get(name, "Name"): key}
            found = self._made[(name, key)] = _Element(name, attrs)
            self.children.append(found)
        return found


def _escape(text: str, *, attribute: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:
        text = text.replace('"', "&quot;")
    return text.replace("\r", "&#xD;")


def _lines(element: _Element, depth: int, out: list[str]) -> list[str]:
    """Append the element's lines to ``out`` (one list for the whole document: linear)."""
    pad = "  " * depth
    attrs = "".join(f' {k}="{_escape(v, attribute=True)}"' for k, v in element.attrs.items())
    if element.children:
        out.append(f"{pad}<{element.name}{attrs}>")
        for c in element.children:
            _lines(c, depth + 1, out)
        out.append(f"{pad}</{element.name}>")
    elif element.text is None:
        out.append(f"{pad}<{element.name}{attrs} />")
    else:
        out.append(f"{pad}<{element.name}{attrs}>{_escape(element.text)}</{element.name}>")
    return out


def _document(root: _Element) -> bytes:
    return BOM + "\r\n".join(_lines(root, 0, [DECLARATION])).encode("utf-8")


def _settings_element(settings: list[Setting], *, keep_name_attributes: bool) -> _Element:
    root = _Element("Settings", {"xmlns": SETTINGS_NS})
    common = root.child("Customizations").child("Common")
    for setting in settings:
        node = common
        for name, key in setting.path:
            node = node.child(name, key)
        node.text = setting.value
    return root if keep_name_attributes else _without_names(root)


def _without_names(element: _Element) -> _Element:
    """The AnswerFile form: every Name attribute dropped (as the real samples show)."""
    return _Element(
        element.name,
        {k: v for k, v in element.attrs.items() if k != "Name"},
        [_without_names(c) for c in element.children],
        element.text,
    )


def _package_element(package: PackageConfig) -> _Element:
    root = _Element("PackageConfig", {"xmlns": PACKAGE_NS})
    for name, value in (
        ("ID", package.id),
        ("Name", package.name),
        ("Version", package.version),
        ("OwnerType", package.owner_type.value),
        ("Rank", str(package.rank)),
        ("Notes", package.description),
    ):
        root.children.append(_Element(name, text=value))
    return root


def customizations_document(
    package: PackageConfig, settings: list[Setting], *, answer_file: bool = False
) -> bytes:
    """Any settings (also ones the project does not model) as customizations.xml, or with
    ``answer_file`` as AnswerFile.xml. ``settings`` must already be in WCD's order."""
    tree = _settings_element(settings, keep_name_attributes=not answer_file)
    if answer_file:
        return _document(tree)
    return _document(_Element(ROOT, children=[_package_element(package), tree]))


def to_customizations_xml(project: Project) -> bytes:
    """The project as WCD's customizations.xml."""
    return customizations_document(project.package, project_settings(project))


def answer_file_xml(project: Project) -> bytes:
    """The ``<Settings>`` part as a package's CommonSettings/1/AnswerFile.xml holds it."""
    return customizations_document(project.package, project_settings(project), answer_file=True)


def icdproj_xml(project: Project) -> bytes:
    """``<name>.icdproj.xml``, the WCD project file that points at customizations.xml."""
    pkg = project.package
    root = _Element(
        "ICDProject",
        {
            "Name": pkg.name,
            "Version": pkg.version,
            "Id": pkg.id,
            "TemplateType": "ProvisioningPackage",
        },
        children=[
            _Element("Description", text=pkg.description),
            _Element("CustomizationFile", text=CUSTOMIZATIONS_FILE),
        ],
    )
    return _document(root)


def export_wcd(project: Project, directory: Path) -> list[Path]:
    """Write customizations.xml and <name>.icdproj.xml into ``directory`` (created if needed)."""
    from tui.project.rules import check_field  # the package name becomes a file name here

    directory = Path(directory)
    if problem := check_field(project, "package.name", today=date.today()):
        raise UserError(problem)
    try:
        files = [
            (directory / CUSTOMIZATIONS_FILE, to_customizations_xml(project)),
            (directory / f"{project.package.name}.icdproj.xml", icdproj_xml(project)),
        ]
    except UnicodeEncodeError:
        raise UserError(
            "Cannot write the WCD project: a value holds a character that is not valid text."
        ) from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, data in files:
            write_atomic(path, data)
    except OSError as exc:
        raise UserError(
            f"Cannot write the WCD project to {directory}: {exc.strerror or exc}."
        ) from None
    return [path for path, _ in files]
