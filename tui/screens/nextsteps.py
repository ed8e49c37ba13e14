"""The end: what to do with the stick, from the bulk-enrollment procedure."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.project.model import JoinKind, Project
from tui.screens.step import StepScreen


def next_steps(project: Project) -> list[str]:
    steps = []
    if project.join == JoinKind.ENTRA:
        user = project.entra.package_user or "package_<id>@<your domain>"
        steps += [
            f"If a third-party UEM manages the devices, sync the package user {user} to it "
            "(Intune needs nothing more).",
            "Make sure MFA and Conditional Access do not block the package user for device "
            "join and enrollment.",
        ]
    steps += [
        "Start the new device. On the first setup screen (OOBE), insert the stick: setup "
        "finds the package at its root. If it does not, press the Windows key five times.",
        "On a device that is already set up, double-click the .ppkg on the stick instead.",
        "Confirm installing the package. The device applies it, may restart, and joins.",
    ]
    if project.join == JoinKind.ENTRA:
        steps.append(
            "If the first install fails, a second try fails too: check in Entra ID > Devices "
            "that the device is there, owned by the package user; if not, build a new package."
        )
    return steps


def what_happened(package: Path | None, written: list) -> str:
    """The headline: what was written, verified, where; or how to write it."""
    if package is None:
        return (
            "No package is built from the project as it is now: build it in step 7 "
            "(Review & build), write it in step 8. Then:"
        )
    copies = [w for w in written if Path(w.path).name.casefold() == package.name.casefold()]
    if not copies:
        return (
            f"{package.name} is not on a stick yet: go back (Esc) and press w with a stick "
            f"selected, or run: bulk-enroll write {package} --drive MOUNTPOINT. Then:"
        )
    where = ", ".join(w.mountpoint for w in copies)
    sticks = "stick" if len(copies) == 1 else "sticks"
    return f"{package.name} is written to {len(copies)} {sticks}, verified: {where}. Now:"


class NextStepsScreen(StepScreen):
    STEP = "next"
    BINDINGS = [
        Binding("ctrl+n", "home", "Start screen"),
        Binding("escape", "back", "Back"),
        Binding("ctrl+l", "verify", "Verify devices"),
        Binding("ctrl+r", "revoke", "Revoke token"),
    ]

    def compose_form(self) -> ComposeResult:
        yield Static(
            what_happened(self.app.built_package, self.app.sticks_written),  # type: ignore[attr-defined]
            classes="section",
            markup=False,
        )
        yield Static(
            "\n".join(f"{n}. {text}" for n, text in enumerate(next_steps(self.project), 1)),
            markup=False,
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "verify":
            return self.project.join == JoinKind.ENTRA
        if action == "revoke":  # a token whose package user is known and still alive
            entra = self.project.entra
            known = entra.package_user or entra.token_package_id
            return self.project.join == JoinKind.ENTRA and bool(known) and not entra.revoked
        return True

    def action_verify(self) -> None:
        from tui.screens.tenant import EnrollmentScreen

        self.app.push_screen(EnrollmentScreen())

    def action_revoke(self) -> None:
        """Ask (naming the user and what stops working), then delete the package user."""
        from tui.entra.revoke import confirmation_text
        from tui.screens.revoke import RevokeDialog, RevokeScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.push_screen(RevokeScreen(), lambda _: self.refresh_bindings())

        self.app.push_screen(RevokeDialog(confirmation_text(self.project) + " (y/n)"), answered)

    def action_home(self) -> None:
        self.app.save_now()  # type: ignore[attr-defined]
        self.app.pop_screen()
