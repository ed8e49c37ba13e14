"""Start-up of the app to its first screen, as a ratio to ``python -c "import textual"``.

    python tests/perf/bench_startup.py [runs]

Both are fresh interpreters started from this process, interleaved, and the medians are
compared (target: at most 1.5x). The app run builds the command-line parser as
``bulk-enroll`` does, starts headless, and stops once the start screen is up. It also
reports whether the network and XML stacks were imported (they must not be).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time

TARGET = 1.5
HEAVY = ("msal", "requests", "lxml", "psutil")

BASELINE = "import textual"
# The floor: the smallest Textual app (a line of text and a footer) to its first screen.
FLOOR = """
from textual.app import App
from textual.widgets import Footer, Static

class Minimal(App):
    def compose(self):
        yield Static("bulk-enroll")
        yield Footer()

async def at_first_screen(pilot):
    pilot.app.exit()

Minimal().run(headless=True, size=(80, 24), auto_pilot=at_first_screen)
"""
APP = f"""
import sys
from pathlib import Path
from tui.cli.main import build_parser
build_parser()
from tui.app import create_app

async def at_first_screen(pilot):
    assert type(pilot.app.screen).__name__ == "StartScreen"
    heavy = [m for m in {HEAVY!r} if m in sys.modules]
    pilot.app.exit(heavy)

app = create_app(config_dir=Path(sys.argv[1]))
print(",".join(app.run(headless=True, size=(80, 24), auto_pilot=at_first_screen)))
"""


def timed(code: str, *args: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, out.stdout.strip()


def main(runs: int = 10) -> int:
    with tempfile.TemporaryDirectory() as config:
        timed(BASELINE)  # warm the file cache for all three
        timed(FLOOR)
        timed(APP, config)
        base, floor, app, heavy = [], [], [], ""
        for _ in range(runs):
            base.append(timed(BASELINE)[0])
            floor.append(timed(FLOOR)[0])
            seconds, heavy = timed(APP, config)
            app.append(seconds)
    base_ms, floor_ms, app_ms = (statistics.median(x) * 1000 for x in (base, floor, app))
    ratio = app_ms / base_ms
    print(f"import textual                  median {base_ms:7.1f} ms  1.00x")
    print(f"minimal Textual app, 1st screen median {floor_ms:7.1f} ms  {floor_ms / base_ms:.2f}x")
    print(f"bulk-enroll, first screen       median {app_ms:7.1f} ms  {ratio:.2f}x")
    print(
        f"ratio {ratio:.2f}x (target <= {TARGET}x); over the minimal app: {app_ms / floor_ms:.2f}x"
    )
    print(f"heavy modules imported at start: {heavy or 'none'}")
    return 0 if ratio <= TARGET and not heavy else 1


if __name__ == "__main__":
    raise SystemExit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
