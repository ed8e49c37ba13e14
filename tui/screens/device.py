"""Step 2, Device: name (with a live preview of its macros), product key, shared use, clean PC,
then the optional policies of the catalogue (tui/screens/policies.py)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from tui.screens.policies import compose_policies
from tui.screens.step import StepScreen
from tui.widgets.field import BoolField, Field


class DeviceScreen(StepScreen):
    STEP = "device"

    def compose_form(self) -> ComposeResult:
        d = self.project.device
        yield Field(
            "Device name (%SERIAL% = serial number, %RAND:4% = 4 random digits)",
            "device.name",
            d.name,
            apply=lambda v: setattr(d, "name", v),
            placeholder="e.g. CONTOSO-%RAND:5%",
            id="device-name",
        )
        yield Static("", id="name-preview")
        yield Field(
            "Product key to upgrade the edition (optional)",
            "device.product_key",
            d.product_key,
            apply=self._set_product_key,
            placeholder="XXXXX-XXXXX-XXXXX-XXXXX-XXXXX",
            hint="The device restarts to upgrade.",
            id="product-key",
        )
        yield BoolField(
            "Shared use (Shared PC mode; Pro, Education, Enterprise)",
            "device.shared_pc",
            d.shared_pc,
            apply=lambda v: setattr(d, "shared_pc", v),
        )
        yield BoolField(
            "Remove pre-installed software",
            "device.remove_preinstalled",
            d.remove_preinstalled,
            apply=lambda v: setattr(d, "remove_preinstalled", v),
        )
        yield Static(
            "Removing pre-installed software resets the device; it works on Enterprise "
            "and Education only and fails on Home.",
            classes="hint",
        )
        yield from compose_policies(self.project)

    def _set_product_key(self, text: str) -> None:
        from tui.project.rules import format_product_key

        key = format_product_key(text)
        self.project.device.product_key = key
        if key != text.upper():  # typed without dashes: shown in its five groups
            field = self.query_one("#product-key", Field)
            field.input.value = key
            field.input.cursor_position = len(key)

    def refresh_extras(self) -> None:
        from tui.project.rules import expand_device_name

        name = self.project.device.name
        preview = self.query_one("#name-preview", Static)
        if not name:
            preview.update("")
            return
        example = expand_device_name(name, rand=_fixed_digits)
        preview.update(f"Example: {example}  ({len(example)} of 15 characters)")


def _fixed_digits(count: int) -> str:
    """Stable digits for the preview, so it does not flicker while typing."""
    return "1234567890"[:count].ljust(count, "0")
