"""The architecture in tests: which folder may import which, textual only in the UI, at most
six modules at the top of tui/, none over 450 lines (docs/architecture.md)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

TUI = Path(__file__).resolve().parent.parent / "tui"
UI_PARTS = {"app", "screens", "widgets"}
BASE = {"__init__", "errors", "safefile", "safexml"}
# Each core folder and what it may import besides the base modules: a layer sees only those
# below it, so a change to the package engine never reaches the project model.
CORE = {
    "project": set(),
    "wcd": {"project"},
    "package": {"project", "wcd"},
    "entra": {"project"},
    "usb": {"project", "package"},
}
# The project session builds the package for the app and the CLI alike; it imports the
# package engine inside its functions, and nothing in tui.package imports the session.
EXCEPTIONS = {("project/session.py", "package")}
MAX_LINES = 450
MAX_TOP_MODULES = 6


def _part(path: Path) -> str:
    return path.relative_to(TUI).parts[0].removesuffix(".py")


def _imported_parts(path: Path) -> set[str]:
    """The top-level parts of tui/ that a module imports (``tui.X...`` → X)."""
    parts = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "tui":
                names = [f"tui.{a.name}" for a in node.names]
        parts.update(n.split(".")[1] for n in names if n.startswith("tui.") and n.count(".") >= 1)
    return parts


def _third_party(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules(parts: set[str]) -> list[Path]:
    return sorted(p for p in TUI.rglob("*.py") if _part(p) in parts)


def _core_modules() -> list[Path]:
    return _modules(set(CORE) | BASE)


def test_the_top_of_tui_holds_at_most_six_modules_and_the_domain_folders():
    modules = sorted(p.name for p in TUI.glob("*.py"))
    folders = sorted(p.name for p in TUI.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert len(modules) <= MAX_TOP_MODULES, modules
    assert folders == sorted({*CORE, "cli", "screens", "widgets"})


@pytest.mark.parametrize("path", sorted(TUI.rglob("*.py")), ids=lambda p: str(p.relative_to(TUI)))
def test_no_module_is_over_450_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_each_core_folder_imports_only_the_layers_below_it():
    offenders = []
    for path in _core_modules():
        own = _part(path)
        allowed = BASE | {own} | CORE.get(own, set()) | {"__version__"}
        if own in BASE:
            allowed = BASE
        rel = str(path.relative_to(TUI))
        for part in _imported_parts(path) - allowed:
            if (rel, part) not in EXCEPTIONS:
                offenders.append(f"{rel} imports tui.{part}")
    assert offenders == []


def test_the_core_imports_nothing_from_the_ui_or_the_cli():
    offenders = [
        str(p.relative_to(TUI))
        for p in _core_modules()
        if _imported_parts(p) & (UI_PARTS | {"cli"})
    ]
    assert offenders == []


def test_the_ui_does_not_import_the_cli():
    offenders = [str(p.relative_to(TUI)) for p in _modules(UI_PARTS) if "cli" in _imported_parts(p)]
    assert offenders == []


def test_core_sources_do_not_import_textual():
    offenders = [str(p.relative_to(TUI)) for p in _core_modules() if "textual" in _third_party(p)]
    assert offenders == []


def test_the_cli_imports_textual_only_through_the_app():
    offenders = [
        str(p.relative_to(TUI))
        for p in _modules({"cli", "__main__"})
        if "textual" in _third_party(p)
    ]
    assert offenders == []


def test_importing_every_core_and_cli_module_loads_no_textual():
    modules = [
        "tui." + ".".join(p.relative_to(TUI).with_suffix("").parts)
        for p in _core_modules() + _modules({"cli"})
    ]
    modules = [m.removesuffix(".__init__") for m in modules]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_rules_of_this_file_catch_a_violation(tmp_path, monkeypatch):
    """The checks above read real imports: a core module importing the UI is found."""
    bad = tmp_path / "tui" / "usb"
    bad.mkdir(parents=True)
    (bad / "x.py").write_text("from tui.screens.write import WriteScreen\nimport textual\n")
    monkeypatch.setattr(sys.modules[__name__], "TUI", tmp_path / "tui")
    with pytest.raises(AssertionError):
        test_the_core_imports_nothing_from_the_ui_or_the_cli()
    with pytest.raises(AssertionError):
        test_core_sources_do_not_import_textual()
    with pytest.raises(AssertionError):
        test_each_core_folder_imports_only_the_layers_below_it()
