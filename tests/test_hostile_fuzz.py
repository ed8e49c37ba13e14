"""A CI-sized run of the hostile-input generators (tests/fuzz/hostile.py): every case ends in
success or one UserError of one line naming the file, within a hang guard and a memory cap.
The long run is tests/fuzz/run_hostile.py."""

from __future__ import annotations

import collections

import pytest
from fuzz.hostile import GENERATORS, cases, check
from test_wim_fuzz import bounded_memory, hang_guard  # noqa: F401 - autouse: memory capped

CI_CASES = 20_000
CI_PARTS = 20
HANG_GUARD_SECONDS = 300  # a hang detector only: the run takes well under a minute


def test_every_generator_produces_both_outcomes_it_claims(tmp_path):
    seen = collections.Counter()
    for name, case in cases(seed=1, count=600):
        seen[name.removesuffix(" (mutated)"), check(case, tmp_path / "case.bin")] += 1
    for name in GENERATORS:
        assert sum(n for (g, _), n in seen.items() if g == name) > 0, name


# 20,000 cases in twenty seeded parts, so no one test runs long and a failure names its seed.
@pytest.mark.parametrize("part", range(CI_PARTS))
def test_ci_sized_seeded_run(tmp_path, part):
    outcomes = collections.Counter()
    with hang_guard(HANG_GUARD_SECONDS):
        for _name, case in cases(seed=12 + part, count=CI_CASES // CI_PARTS):
            outcomes[check(case, tmp_path / "case.bin")] += 1
    assert sum(outcomes.values()) == CI_CASES // CI_PARTS
    assert outcomes["ok"] > 0 and outcomes["error"] > 0
