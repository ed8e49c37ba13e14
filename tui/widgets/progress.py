"""A panel for long work: the steps so far, one line each, and an optional progress bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static


class ProgressPanel(Vertical):
    DEFAULT_CSS = """
    ProgressPanel { height: auto; }
    ProgressPanel > .progress--lines { height: auto; }
    ProgressPanel > ProgressBar { display: none; }
    ProgressPanel.-measured > ProgressBar { display: block; }
    ProgressPanel.-failed > .progress--lines { color: $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("", classes="progress--lines", markup=False)
        yield ProgressBar(total=None, show_eta=False)

    def reset(self) -> None:
        self.lines = []
        self.remove_class("-measured", "-failed")
        self._show()

    def step(self, text: str) -> None:
        """Add a line for a new step."""
        self.lines.append(text)
        self._show()

    def replace_last(self, text: str) -> None:
        if self.lines:
            self.lines[-1] = text
        else:
            self.lines.append(text)
        self._show()

    def set_line(self, index: int, text: str) -> None:
        """Rewrite one line in place (e.g. one stick's progress among several)."""
        self.lines[index] = text
        self._show()

    def fail(self, text: str) -> None:
        self.step(text)
        self.add_class("-failed")

    def measure(self, done: int, total: int) -> None:
        self.add_class("-measured")
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        self.query_one(".progress--lines", Static).update("\n".join(self.lines))
        self.display = bool(self.lines)
