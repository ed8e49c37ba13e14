"""The long hostile-input fuzz run: ``python tests/fuzz/run_hostile.py [CASES] [SEED]``.

Runs the generators of tests/fuzz/hostile.py (300,000 cases by default) under a per-case
hang guard and a memory cap, then prints cases/s, outcomes per generator, crashes (anything
but success or a one-line UserError naming the file), hangs and the peak memory. Exit status
1 when there was a crash or a hang. The suite runs 20,000 of these (tests/test_hostile_fuzz.py).
"""

from __future__ import annotations

import collections
import resource
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS), str(TESTS.parent)]  # tests/ for fuzz.hostile, the repository for tui

from fuzz.hostile import cases, check  # noqa: E402

CASE_SECONDS = 30
MEMORY_CAP = 2 << 30


class Hang(Exception):
    pass


def _expired(*_: object) -> None:
    raise Hang


def main(count: int, seed: int) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, resource.RLIM_INFINITY))
    signal.signal(signal.SIGALRM, _expired)
    outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
    crashes, hangs = [], []
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.bin"
        for index, (name, case) in enumerate(cases(seed, count)):
            signal.alarm(CASE_SECONDS)
            try:
                outcomes[name, check(case, path)] += 1
            except Hang:
                hangs.append((index, name))
            except BaseException as exc:  # noqa: BLE001 - a crash is what this looks for
                if isinstance(exc, KeyboardInterrupt):
                    raise
                crashes.append((index, name, "".join(traceback.format_exception_only(exc))))
            finally:
                signal.alarm(0)
            if index and index % 50_000 == 0:
                print(f"... {index:,} cases", flush=True)
    elapsed = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"seed {seed}: {count:,} cases in {elapsed:.1f} s ({count / elapsed:,.0f} cases/s)")
    for name in sorted({n for n, _ in outcomes}):
        print(f"  {name:32} ok {outcomes[name, 'ok']:7,}  error {outcomes[name, 'error']:7,}")
    print(f"crashes {len(crashes)}, hangs {len(hangs)}, peak memory {peak:.0f} MB")
    for index, name, text in crashes[:20]:
        print(f"  crash at case {index} ({name}): {text.strip()}")
    for index, name in hangs[:20]:
        print(f"  hang at case {index} ({name})")
    return 1 if crashes or hangs else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    raise SystemExit(main(int(args[0]) if args else 300_000, int(args[1]) if len(args) > 1 else 1))
