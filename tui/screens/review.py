"""Step 7, Review & build: every choice on one page, warnings, then build the .ppkg."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from tui.project.model import JoinKind, Project
from tui.screens.policies import summary_rows
from tui.screens.step import StepScreen
from tui.widgets.progress import ProgressPanel

HIDDEN = "set (hidden)"
ADDRESS_ROOM = 60  # the summary's value column at 80 columns
MFA_NOTE = (
    "Neither you nor the package user may be blocked by MFA or Conditional Access: the "
    "package user can never do MFA, so exclude package_* users from those policies for "
    "device join and enrollment."
)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def summary(project: Project) -> list[tuple[str, str]]:
    """Every choice as (label, value) rows; secrets only say whether they are set."""
    p = project
    rows = [
        (
            "Package",
            f"{p.package.name} {p.package.version} ({p.package.owner_type}, rank {p.package.rank})",
        ),
        ("Folder", p.folder),
        ("Device name", p.device.name or "(Windows picks one)"),
        ("Product key", p.device.product_key or "none"),
        ("Shared use", _yes(p.device.shared_pc)),
        ("Remove pre-installed", _yes(p.device.remove_preinstalled)),
    ]
    if p.wifi is None:
        rows.append(("Network", "cable at first boot"))
    else:
        key = f", key {HIDDEN}" if p.wifi.key else ""
        rows.append(("Wi-Fi", f"{p.wifi.ssid} ({p.wifi.security}{key})"))
    if p.join == JoinKind.ENTRA:
        token = f"bulk token {HIDDEN}" if p.entra.bprt else "NO bulk token yet"
        rows.append(("Join", f"Entra ID, {token}, valid until {p.entra.expires}"))
        if p.entra.package_user:
            rows.append(("Package user", p.entra.package_user))
    elif p.join == JoinKind.ACTIVE_DIRECTORY:
        d = p.domain
        password = HIDDEN if d.password else "not set"
        rows.append(("Join", f"Active Directory {d.domain} as {d.account}, password {password}"))
        if d.ou:
            rows.append(("OU", d.ou))
    else:
        rows.append(("Join", "none"))
    for user in p.local_users:
        rows.append(("Local user", f"{user.name} ({user.group}), password {HIDDEN}"))
    for app in p.applications:
        rows.append(("Application", f"{app.name}: {Path(app.file).name}"))
    for cert in p.certificates:
        rows.append(("Certificate", f"{cert.name}: {Path(cert.path).name}"))
    return rows + summary_rows(p)


def package_settings(project: Project) -> list[tuple[str, str]]:
    """Every setting the package will carry (customizations paths, as WCD shows them) as
    (bullet, text) rows, secrets masked; a setting no field sets is followed by a row
    "added by bulk-enroll: why"."""
    from tui.wcd.settings import added_by_bulk_enroll, mask, project_settings

    rows = []
    for setting in project_settings(project):
        shown = mask(setting)
        rows.append(("•", f"{shown.path} = {shown.value}"))
        if reason := added_by_bulk_enroll(setting.path):
            rows.append(("", f"added by bulk-enroll: {reason}"))
    return rows


class ReviewScreen(StepScreen):
    STEP = "review"
    BINDINGS = [
        Binding("ctrl+b", "build", "Build package"),
        Binding("ctrl+l", "check_tenant", "Check tenant"),
    ]

    @property
    def _building(self) -> bool:
        return self.app.building  # type: ignore[attr-defined]

    def compose_form(self) -> ComposeResult:
        yield Static("", id="summary", markup=False)
        yield Static("", id="blocking", markup=False)
        yield Static("", id="warnings", markup=False)
        yield Static("Settings in the package", classes="section")
        yield Static("", id="package-settings", markup=False)

    def compose_status(self) -> ComposeResult:
        # Below the scrolling summary, so the outcome of a build is on screen whatever the
        # summary is scrolled to.
        with Vertical(id="build-status"):
            yield ProgressPanel(id="build-progress")
            yield Static("", id="built", markup=False)

    def refresh_extras(self) -> None:
        from rich.table import Table
        from rich.text import Text

        from tui.project.rules import validate
        from tui.wcd.settings import warnings

        p = self.project
        table = Table.grid(padding=(0, 2))
        # Labels wrap at words past 13 characters ("Remove pre-installed"), leaving the
        # values room for a package user's address (58 characters) at 80 columns.
        table.add_column(style="bold", max_width=13)
        table.add_column(overflow="fold")
        for label, value in summary(p):
            if label == "Package user" and len(value) > ADDRESS_ROOM:
                value = value.replace("@", "\n@", 1)  # a longer address breaks at the @
            table.add_row(label, Text(value))
        self.query_one("#summary", Static).update(table)
        blocking = validate(self.checked, today=self.today, for_build=True)
        self.query_one("#blocking", Static).update(
            "\nCannot build yet:\n" + "\n".join(f"• {b.message}" for b in blocking)
            if blocking
            else ""
        )
        self.query_one("#blocking").display = bool(blocking)
        notes = [w.message for w in warnings(self.checked, today=self.today)]
        if p.join == JoinKind.ENTRA:
            notes.append(MFA_NOTE)
            if self.app.tenant_checks:  # type: ignore[attr-defined]
                from tui.screens.tenant import readiness_notes

                notes += readiness_notes(self.app.tenant_checks)  # type: ignore[attr-defined]
        self.query_one("#warnings", Static).update(
            "\nPlease note:\n" + "\n".join(f"• {n}" for n in notes) if notes else ""
        )
        listed = Table.grid(padding=(0, 1))
        listed.add_column(no_wrap=True)
        listed.add_column(overflow="fold")
        for bullet, text in package_settings(p):
            listed.add_row(bullet, Text(text))  # as text: "User[itadmin]" is no markup
        self.query_one("#package-settings", Static).update(listed)
        built = self.app.built_package  # type: ignore[attr-defined]
        if built:
            status = f"Package saved: {built}\nCtrl+N: write it to USB sticks."
        elif blocking:
            status = "Cannot build yet: the reasons are listed above."
        else:
            status = "Ready: Ctrl+B builds the package."
        self.query_one("#built", Static).update(status)

    def package_path(self) -> Path:
        p = self.project
        return Path(p.folder).expanduser() / f"{p.package.name}.ppkg"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "build":
            return not self._building
        if action == "check_tenant":
            return self.project.join == JoinKind.ENTRA and not self._building
        return True

    def action_check_tenant(self) -> None:
        from tui.screens.tenant import TenantScreen

        self.app.push_screen(TenantScreen(), lambda _: self.refresh_extras())

    def action_build(self) -> None:
        from tui.project.rules import validate

        if self._building:
            return
        if validate(self.checked, today=self.today, for_build=True):
            self.app.bell()
            self.query_one("#built", Static).update(
                'Not built: fix what is listed under "Cannot build yet" first.'
            )
            self.query_one("#blocking").scroll_visible(animate=False)
            return
        panel = self.query_one("#build-progress", ProgressPanel)
        panel.reset()
        panel.step(f"Building {self.package_path()}…")
        self.query_one("#built", Static).update("")
        self.app.start_build(self.package_path())  # type: ignore[attr-defined]
        self.refresh_bindings()

    def build_progress(self, done: int, total: int) -> None:
        self.query_one("#build-progress", ProgressPanel).measure(done, total)

    def build_finished(self, result, failure: str) -> None:
        """Called by the app, which records the outcome, when the build has ended."""
        panel = self.query_one("#build-progress", ProgressPanel)
        if result is not None:
            panel.reset()
            panel.step(f"Built {result.path.name}: {result.size:,} bytes.")
        else:
            panel.fail(failure)
        self.refresh_bindings()
        self.refresh_extras()

    def action_back(self) -> None:
        if self._building:
            self.notify("Wait until the package is built.")
            return
        super().action_back()

    def action_next(self) -> None:
        if self._building:
            self.app.notify("Wait until the package is built.")
            return
        if self.app.built_package is None:  # type: ignore[attr-defined]
            self.show_problems([_Note("Build the package first: press Ctrl+B.")])
            self.app.bell()
            return
        self.app.next_step(self.STEP)  # type: ignore[attr-defined]


class _Note:
    def __init__(self, message: str) -> None:
        self.field = ""
        self.message = message
