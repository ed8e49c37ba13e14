"""Choose a local file: type its path, or walk the folders with the arrow keys."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Footer, Input, Label, Static

from tui.widgets.field import FieldInput


class FileTree(DirectoryTree):
    """A directory tree showing folders and only the files with the wanted suffixes."""

    def __init__(self, path: Path, suffixes: tuple[str, ...]) -> None:
        super().__init__(path)
        self.suffixes = suffixes

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".")
            and (p.is_dir() or not self.suffixes or p.suffix.lower() in self.suffixes)
        ]


class FilePicker(ModalScreen[Path | None]):
    """Returns the chosen file, or None when cancelled with Esc."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+b", "parent", "Parent folder"),
    ]

    def __init__(self, title: str, start: Path, suffixes: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._title = title
        self._start = start if start.is_dir() else Path.cwd()
        self.suffixes = tuple(s.lower() for s in suffixes)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog--tall"):
            yield Static(self._title, classes="dialog--title")
            yield Label("Path (Enter to choose), or pick below with the arrow keys:")
            yield FieldInput(str(self._start) + "/", id="path", select_on_focus=False)
            yield Static("", id="picker-problem")
            yield FileTree(self._start, self.suffixes)
        yield Footer()

    def _choose(self, path: Path) -> None:
        path = path.expanduser()
        problem = None
        if path.is_dir():
            self.query_one(FileTree).path = path
            self.query_one("#path", Input).value = str(path) + "/"
            return
        if not path.is_file():
            problem = f"{path} does not exist."
        elif self.suffixes and path.suffix.lower() not in self.suffixes:
            problem = f"{path.name} is not a {' or '.join(self.suffixes)} file."
        if problem:
            self.query_one("#picker-problem", Static).update(problem)
            return
        self.dismiss(path)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._choose(Path(event.value))

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self._choose(event.path)

    def action_parent(self) -> None:
        tree = self.query_one(FileTree)
        tree.path = Path(tree.path).resolve().parent

    def action_cancel(self) -> None:
        self.dismiss(None)
