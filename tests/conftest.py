"""Shared test configuration. Area fixtures live in their own modules under tests/fakes/."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "ppkg"
