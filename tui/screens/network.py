"""Step 3, Network: a Wi-Fi network for first boot, or a cable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical

from tui.project.fieldrules import WIFI_KEY_MAX, WIFI_KEY_MIN
from tui.project.model import Wifi, WifiSecurity
from tui.screens.step import StepScreen
from tui.widgets.field import BoolField, ChoiceField, Field, SecretField

WIRED = "wired"
CHOICES = (
    (WifiSecurity.WPA2_PERSONAL.value, "Wi-Fi, WPA2-Personal"),
    (WifiSecurity.OPEN.value, "Wi-Fi, open"),
    (WIRED, "Cable at first boot"),
)


class NetworkScreen(StepScreen):
    STEP = "network"

    def compose_form(self) -> ComposeResult:
        wifi = self.project.wifi or self.project.wifi_aside or Wifi()
        current = WIRED if self.project.wifi is None else self.project.wifi.security.value
        yield ChoiceField(
            "How the device gets online during setup", "wifi", CHOICES, current, apply=self._kind
        )
        with Vertical(id="wifi-fields"):
            yield Field(
                "Network name (SSID)",
                "wifi.ssid",
                wifi.ssid,
                apply=lambda v: setattr(self._wifi_for_form(), "ssid", v),
                id="ssid",
            )
            yield SecretField(
                f"Key ({WIFI_KEY_MIN}-{WIFI_KEY_MAX} characters, or 64 hex digits); "
                "Ctrl+R shows it",
                "wifi.key",
                wifi.key,
                apply=lambda v: setattr(self._wifi_for_form(), "key", v),
                id="wifi-key",
            )
            yield BoolField(
                "Connect automatically",
                "wifi.auto_connect",
                wifi.auto_connect,
                apply=lambda v: setattr(self._wifi_for_form(), "auto_connect", v),
            )
            yield BoolField(
                "Hidden network (does not broadcast its name)",
                "wifi.hidden",
                wifi.hidden,
                apply=lambda v: setattr(self._wifi_for_form(), "hidden", v),
            )

    def _wifi_for_form(self) -> Wifi:
        """The Wi-Fi settings being edited; kept aside in the project (saved, never in the
        package) while "cable" is chosen."""
        p = self.project
        if p.wifi is not None:
            return p.wifi
        if p.wifi_aside is None:
            p.wifi_aside = Wifi()
        return p.wifi_aside

    def _kind(self, key: str) -> None:
        p = self.project
        stash = self.app.stash  # type: ignore[attr-defined]
        if key == WIRED:
            if p.wifi is not None:
                p.wifi_aside, p.wifi = p.wifi, None
            # The arrows choose as they move, so "open" may only have been passed through
            # on the way here: the key it put aside goes with the kept-aside Wi-Fi.
            if p.wifi_aside is not None and not p.wifi_aside.key and stash.get("wifi_key"):
                p.wifi_aside.key = stash.pop("wifi_key")
            return
        wifi = self._wifi_for_form()
        p.wifi_aside = None
        wifi.security = WifiSecurity(key)
        key_input = self.query_one("#wifi-key", SecretField).input
        if wifi.security == WifiSecurity.OPEN:
            # An open network has no key; keep the typed one aside in case of a slip.
            if wifi.key:
                stash["wifi_key"] = wifi.key
            wifi.key = key_input.value = ""
        elif not wifi.key and stash.get("wifi_key"):
            wifi.key = key_input.value = stash.pop("wifi_key")
        self.project.wifi = wifi

    def refresh_extras(self) -> None:
        wifi = self.project.wifi
        self.query_one("#wifi-fields").display = wifi is not None
        self.query_one("#wifi-key").display = (
            wifi is not None and wifi.security == WifiSecurity.WPA2_PERSONAL
        )
