"""The procedure's steps in order, and a lazy way to build each step's screen."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from textual.screen import Screen


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    target: str  # "module:Class", imported only when the step is shown

    def make(self) -> Screen:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)()


STEPS: tuple[Step, ...] = (
    Step("project", "Project", "tui.screens.project:ProjectScreen"),
    Step("device", "Device", "tui.screens.device:DeviceScreen"),
    Step("network", "Network", "tui.screens.network:NetworkScreen"),
    Step("accounts", "Accounts", "tui.screens.accounts:AccountsScreen"),
    Step("applications", "Applications", "tui.screens.applications:ApplicationsScreen"),
    Step("certificates", "Certificates", "tui.screens.certificates:CertificatesScreen"),
    Step("review", "Review & build", "tui.screens.review:ReviewScreen"),
    Step("write", "Write to USB", "tui.screens.write:WriteScreen"),
    Step("next", "Next steps", "tui.screens.nextsteps:NextStepsScreen"),
)

STEP_IDS = tuple(step.id for step in STEPS)


def step(step_id: str) -> Step:
    return STEPS[STEP_IDS.index(step_id)]


def number(step_id: str) -> int:
    return STEP_IDS.index(step_id) + 1
