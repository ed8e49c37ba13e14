"""The core never imports textual: only the app, screens and widgets may."""

import ast
import subprocess
import sys
from pathlib import Path

TUI = Path(__file__).resolve().parent.parent / "tui"
UI_PARTS = {"app.py", "screens", "widgets"}


def _core_modules() -> list[Path]:
    return [p for p in TUI.rglob("*.py") if p.relative_to(TUI).parts[0] not in UI_PARTS]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_sources_do_not_import_textual():
    offenders = [str(p.relative_to(TUI)) for p in _core_modules() if "textual" in _imports(p)]
    assert offenders == []


def test_importing_every_core_module_loads_no_textual():
    modules = [
        "tui." + ".".join(p.relative_to(TUI).with_suffix("").parts)
        for p in _core_modules()
        if p.name not in {"__main__.py"}
    ]
    modules = [m.removesuffix(".__init__") for m in modules]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
