"""Inspect time and peak memory of packages built right at the reader's budgets, against the
figures the reader promises (any package up to 64 MB: within 5 s and 300 MB here).

Unlike the tests, which build these packages raw to stay quick, here every resource is
XPRESS-compressed where that shrinks it: decoding is what costs time, so this is the worst
case. Each package is inspected in a fresh child process (as `bulk-enroll inspect` would be);
the ratio printed is its time ÷ the 5 s figure and its peak ÷ the 300 MB figure.
Run: python tests/perf/bench_inspect_budgets.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the project

from fuzz.hostile import customizations, package_tree, provxml, wim_bytes  # noqa: E402

from tui import safexml  # noqa: E402
from tui.package.inspect import MAX_PARMS  # noqa: E402
from tui.package.wim.reader import MAX_ENTRIES  # noqa: E402

SECONDS, PEAK_MB = 5.0, 300
CASES = {
    "entries": {"extra": {f"f/{i:05}/{'n' * 40}": b"" for i in range(MAX_ENTRIES - 50)}},
    "documents at the total budget": {
        "documents": {f"{i}.provxml": provxml(1, " " * (190 << 10)) for i in range(32)}
    },
    "parms at the budget": {
        "documents": {"0__A.provxml": provxml(MAX_PARMS // 20)},
        "sets": ["0__A.provxml"] * 20,
    },
    "tags at the budget": {
        "custom": customizations(common="<A>x</A>" * (safexml.MAX_MARKUP // 2 - 20))
    },
}
CHILD = (
    "import json, resource, sys, time\n"
    "start = time.perf_counter()\n"
    "from tui.errors import UserError\n"
    "from tui.package.inspect import describe, read_package\n"
    "try:\n"
    "    describe(read_package(sys.argv[1])); out = 'ok'\n"
    "except UserError as e:\n"
    "    out = str(e)\n"
    "print(json.dumps({'outcome': out, 'seconds': time.perf_counter() - start,\n"
    "    'peak': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, tree in CASES.items():
            path = Path(tmp) / "p.ppkg"
            path.write_bytes(wim_bytes(package_tree(**tree)))
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True
            )
            wall = time.perf_counter() - started
            result = json.loads(done.stdout)
            outcome = "ok" if result["outcome"] == "ok" else "refused"
            print(
                f"{name:30} {path.stat().st_size / 1e6:6.2f} MB  {outcome:8}"
                f" {wall:5.2f} s ({wall / SECONDS:.2f}x of {SECONDS:.0f} s)"
                f"  peak {result['peak']:5.0f} MB ({result['peak'] / PEAK_MB:.2f}x of {PEAK_MB})"
            )


if __name__ == "__main__":
    main()
