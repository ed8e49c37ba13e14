"""The procedure's steps in order, and a lazy way to build each step's screen."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from textual.screen import Screen

from tui.wcd.catalogue import policy_rows


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    target: str  # "module:Class", imported only when the step is shown
    fields: tuple[str, ...] = ()  # rules field ids (prefixes) this step edits

    def make(self) -> Screen:
        module, _, name = self.target.partition(":")
        return getattr(importlib.import_module(module), name)()


STEPS: tuple[Step, ...] = (
    Step("project", "Project", "tui.screens.project:ProjectScreen", ("package", "folder")),
    Step(
        "device",
        "Device",
        "tui.screens.device:DeviceScreen",
        ("device", *(row.field for row in policy_rows())),  # the Policies group is here
    ),
    Step("network", "Network", "tui.screens.network:NetworkScreen", ("wifi",)),
    Step(
        "accounts",
        "Accounts",
        "tui.screens.accounts:AccountsScreen",
        ("entra", "connection", "domain", "local_users"),
    ),
    Step(
        "applications",
        "Applications",
        "tui.screens.applications:ApplicationsScreen",
        ("applications",),
    ),
    Step(
        "certificates",
        "Certificates",
        "tui.screens.certificates:CertificatesScreen",
        ("certificates",),
    ),
    Step("review", "Review & build", "tui.screens.review:ReviewScreen"),
    Step("write", "Write to USB", "tui.screens.write:WriteScreen"),
    Step("next", "Next steps", "tui.screens.nextsteps:NextStepsScreen"),
)

STEP_IDS = tuple(step.id for step in STEPS)


def owns(prefixes: tuple[str, ...], field: str) -> bool:
    """Whether the rules field id ``field`` belongs to one of ``prefixes``."""
    return any(field == p or field.startswith((p + ".", p + "[")) for p in prefixes)


def step(step_id: str) -> Step:
    return STEPS[STEP_IDS.index(step_id)]


def number(step_id: str) -> int:
    return STEP_IDS.index(step_id) + 1
