"""Microsoft Graph, read only: the tenant readiness check and the enrollment verification.

``TenantScreen`` runs ``tui.entra.readiness.run_readiness`` before "Get bulk token";
``EnrollmentScreen`` runs ``tui.entra.enrollment.verify_enrollment`` once devices were set up.
Both are ``tui.screens.graphscreen.GraphScreen``s (sign-in, the device code, cancelling) showing
their checks as ``tui.screens.checklist.CheckRow``s.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tui.entra.enrollment import REPORT_CHECKS, DeviceInfo, EnrollmentReport
from tui.entra.readiness import CHECK_NAMES, Check, Status
from tui.entra.signin import CancelToken, SignInConfig
from tui.screens.checklist import summary_text
from tui.screens.graphscreen import EventSink, GraphScreen


def readiness_notes(checks: Iterable[Check]) -> list[str]:
    """The readiness results as review warnings: everything that did not pass."""
    checks = list(checks)
    if not checks:
        return []
    notes = [
        f"Tenant check, {c.name}: {c.reason}" + (f" Fix: {c.fix}" if c.fix else "")
        for c in checks
        if c.status is not Status.PASS
    ]
    return notes or [f"Tenant check: all {len(checks)} conditions passed."]


def device_flags(device: DeviceInfo) -> list[str]:
    """What the procedure says to look at on one device (as ``devices_check`` flags it)."""
    flags = []
    if device.join_type != "Entra joined":
        flags.append(f"{device.join_type}, not Entra joined")
    if device.enabled is False:
        flags.append("disabled")
    if device.mdm == "none":
        flags.append("not in an MDM")
    if device.compliant is False:
        flags.append("not compliant")
    return flags


def device_line(device: DeviceInfo) -> str:
    registered = (
        f"registered {device.registered:%Y-%m-%d %H:%M} UTC"
        if device.registered
        else "registration time unknown"
    )
    compliance = {True: "compliant", False: "not compliant", None: "compliance unknown"}
    parts = [
        device.join_type,
        device.os or "OS unknown",
        registered,
        f"MDM {device.mdm or 'unknown'}",
        compliance[device.compliant],
    ]
    flags = device_flags(device)
    line = f"{device.name}: " + ", ".join(parts)
    return line + (f"  ⚠ {'; '.join(flags)}" if flags else "")


def token_text(report: EnrollmentReport) -> str:
    days = report.token_days_left
    if days is None:
        return "Bulk token: expiry unknown."
    if days < 0:
        return f"Bulk token: expired {-days} days ago."
    return f"Bulk token: {days} days left."


# --- widgets ---------------------------------------------------------------------------------


class TenantScreen(GraphScreen):
    """Is the tenant ready for bulk enrollment? Each condition: pass, warn, fail or not checked."""

    HEADING = "Tenant readiness · Microsoft Graph, read only"
    INTRO = (
        "Reads the tenant's licences, device settings and policies before you get the bulk "
        "token. Nothing is changed."
    )
    ROWS = CHECK_NAMES

    def call_graph(
        self, config: SignInConfig, on_event: EventSink, cancel: CancelToken
    ) -> list[Check]:
        from tui.entra.readiness import run_readiness

        return run_readiness(
            config,
            on_event=on_event,
            cancel=cancel,
            project=self.app.project,  # type: ignore[attr-defined]
            **self.graph_options(),
        )

    def show_result(self, result: list[Check]) -> None:
        for check in result:
            self.row(check.name).show(check)
        self.app.tenant_checks = list(result)  # type: ignore[attr-defined]
        self._status(summary_text(result))


class EnrollmentScreen(GraphScreen):
    """After provisioning: the package user and the checks on it (why devices would not join),
    the devices it joined, the token's days left."""

    HEADING = "Verify enrollment · Microsoft Graph, read only"
    INTRO = (
        "Looks up the package user of this project, what would stop it joining devices, and "
        "the devices it joined, as the procedure asks. Nothing is changed."
    )
    ROWS = REPORT_CHECKS

    def compose_extra(self) -> ComposeResult:
        yield Static("", id="enroll-summary", markup=False)
        yield Vertical(id="devices")

    def call_graph(
        self, config: SignInConfig, on_event: EventSink, cancel: CancelToken
    ) -> EnrollmentReport:
        from tui.entra.enrollment import verify_enrollment

        app = self.app
        return verify_enrollment(
            config,
            app.project,  # type: ignore[attr-defined]
            today=app.today,  # type: ignore[attr-defined]
            on_event=on_event,
            cancel=cancel,
            **self.graph_options(),
        )

    def action_run(self) -> None:
        self.query_one("#enroll-summary", Static).update("")
        self.query_one("#devices").remove_children()
        super().action_run()

    def show_result(self, result: EnrollmentReport) -> None:
        for check in result.checks:
            self.row(check.name).show(check)
        self.query_one("#enroll-summary", Static).update(
            f"Package user: {result.package_user}\n{token_text(result)}\n"
            + (f"Devices ({len(result.devices)}):" if result.devices else "No devices yet.")
        )
        self.query_one("#devices").mount_all(
            Static(
                device_line(d),
                classes="device -flagged" if device_flags(d) else "device",
                markup=False,
            )
            for d in result.devices
        )
        self._status(summary_text(result.checks))
