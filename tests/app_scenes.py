"""Fixed scenes of the app for snapshots and the README screenshots: one filled-in
project, fixed dates and paths, and the key presses that lead to each screen."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from textual.pilot import Pilot

from tui.app import BulkEnrollApp, create_app
from tui.project.model import (
    Application,
    Certificate,
    JoinKind,
    LocalUser,
    Project,
    Wifi,
)
from tui.usb.drives import Drive

TODAY = date(2026, 11, 30)
SIZE = (80, 24)
WIDE = (120, 40)  # the step list beside the form
FOLDER = "/home/tech/packages/contoso"


def sample_project() -> Project:
    p = Project()
    p.package.name = "Contoso-Laptops"
    p.package.id = "{8d4c7f6e-1b2a-4c3d-9e8f-0a1b2c3d4e5f}"
    p.package.description = "Sales laptops, wave 3"
    p.folder = FOLDER
    p.device.name = "CT-%RAND:5%"
    p.device.shared_pc = False
    p.wifi = Wifi(ssid="Contoso-Setup", key="correct horse battery")
    p.join = JoinKind.ENTRA
    p.entra.expires = date(2027, 5, 28)
    p.entra.bprt = "eyJ0eXAi.not-a-real-token"
    p.entra.package_user = "package_5e0b6f1c-3f51-4a43-9d1e-2f2b8c1d0a77@contoso.com"
    p.entra.token_package_id = "5e0b6f1c-3f51-4a43-9d1e-2f2b8c1d0a77"
    p.domain.domain = "corp.contoso.com"
    p.domain.account = "CORP\\djoin"
    p.domain.password = "join-secret"
    p.domain.ou = "OU=Laptops,DC=corp,DC=contoso,DC=com"
    p.local_users = [LocalUser(name="itadmin", password="Adm1n-Passw0rd")]
    p.applications = [
        Application(
            name="CompanyPortal",
            file=f"{FOLDER}/installers/CompanyPortal.msi",
            command_line='msiexec /i "CompanyPortal.msi" /quiet /norestart',
        ),
        Application(
            name="VPN",
            file=f"{FOLDER}/installers/vpn-setup.exe",
            command_line='cmd /c "vpn-setup.exe" /S',
            restart_required=True,
        ),
    ]
    p.certificates = [Certificate(name="Contoso-Root", path=f"{FOLDER}/certs/contoso-root.cer")]
    return p


STICKS = [
    Drive(
        device="/dev/sdb1",
        mountpoint="/media/tech/STICK",
        label="STICK",
        fstype="vfat",
        size=16_000_000_000,
        free=15_200_000_000,
        is_usb=True,
        removable=True,
        model="SanDisk Ultra",
        packages=("Old-Wave2.ppkg",),
    ),
    Drive(
        device="/dev/sdc1",
        mountpoint=None,
        label="KINGSTON",
        fstype="vfat",
        size=8_000_000_000,
        free=None,
        is_usb=True,
        removable=True,
        mount_command="udisksctl mount -b /dev/sdc1",
    ),
]


def scene_app(config_dir: Path) -> BulkEnrollApp:
    app = create_app(config_dir=config_dir, today=TODAY, drive_source=lambda _all: STICKS)
    app.browser_sign_in = False  # as over SSH, whatever this machine has
    return app


def _open(app: BulkEnrollApp, project: Project, step: str, config_dir: Path) -> None:
    app.project = project
    app.project_path = config_dir / "scene.bulkenroll.toml"
    # From inside the app's own task, so the new screen is composed in the app's context.
    app.call_later(app.goto_step, step)


async def _step(pilot: Pilot, step: str, project: Project | None = None, *keys: str) -> None:
    app: BulkEnrollApp = pilot.app  # type: ignore[assignment]
    _open(app, project or sample_project(), step, app.config_dir)
    await pilot.pause()
    if keys:
        await pilot.press(*keys)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def start(pilot: Pilot) -> None:
    await pilot.pause()


async def project_refused(pilot: Pilot) -> None:
    await pilot.press("n")
    await pilot.pause()
    await pilot.press("ctrl+n")
    await pilot.pause()


async def project(pilot: Pilot) -> None:
    await _step(pilot, "project")


async def device(pilot: Pilot) -> None:
    p = sample_project()
    p.device.name = "CONTOSO LAPTOP"
    await _step(pilot, "device", p, "end", "backspace", "P")  # touched: the rule shows


async def device_policies(pilot: Pilot) -> None:
    """The Policies group with both policies set, the first one focused."""
    p = sample_project()
    p.allow_windows_consumer_features = False
    p.require_provisioning_package_signature = True
    await _step(pilot, "device", p)
    pilot.app.screen.query_one("#policy-allow-windows-consumer-features").input.focus()
    await pilot.pause()


async def network(pilot: Pilot) -> None:
    await _step(pilot, "network")


async def accounts_entra(pilot: Pilot) -> None:
    await _step(pilot, "accounts")


async def accounts_signing_in(pilot: Pilot) -> None:
    from tui.entra.signin import WaitingForSignIn
    from tui.screens.messages import TokenEvent

    p = sample_project()
    p.entra.bprt = p.entra.package_user = ""
    await _step(pilot, "accounts", p)
    from tui.entra.signin import CancelToken

    screen = pilot.app.screen
    screen._cancel = CancelToken()  # shown as running; nothing is started
    screen.refresh_bindings()
    screen.query_one("#token-progress").step("Starting sign-in…")
    screen.post_message(
        TokenEvent(
            WaitingForSignIn(
                user_code="G7KX-2MPQ",
                verification_uri="https://microsoft.com/devicelogin",
                message="",
                expires_at=datetime(2026, 11, 30, 9, 15),
            )
        )
    )
    await pilot.pause()


def two_users() -> Project:
    p = sample_project()
    p.local_users.append(LocalUser(name="kiosk", password="K1osk-Passw0rd", group="Standard Users"))
    return p


async def _focus_users(pilot: Pilot) -> None:
    await _step(pilot, "accounts", two_users())
    pilot.app.screen.query_one("#users").focus()  # how many Tabs reach it depends on the join
    await pilot.pause()


async def accounts_users(pilot: Pilot) -> None:
    await _focus_users(pilot)


async def local_user_dialog(pilot: Pilot) -> None:
    await _focus_users(pilot)
    await pilot.press("down", "e")


async def accounts_browser(pilot: Pilot) -> None:
    from tui.entra.signin import CancelToken, WaitingForBrowser
    from tui.screens.messages import TokenEvent

    app: BulkEnrollApp = pilot.app  # type: ignore[assignment]
    app.browser_sign_in = True
    app.sign_in_method = "browser"
    p = sample_project()
    p.entra.bprt = p.entra.package_user = ""
    await _step(pilot, "accounts", p)
    screen = app.screen
    screen._cancel = CancelToken()  # shown as running; nothing is started
    screen.refresh_bindings()
    screen.query_one("#token-progress").step("Starting sign-in…")
    screen.post_message(
        TokenEvent(
            WaitingForBrowser(
                "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize"
                "?client_id=de0853a1-ab20-47bd-990b-71ad5077ac7b&response_type=code"
                "&redirect_uri=http%3A%2F%2Flocalhost%3A41823&state=Zq3xv"
            )
        )
    )
    await pilot.pause()


async def accounts_domain(pilot: Pilot) -> None:
    p = sample_project()
    p.join = JoinKind.ACTIVE_DIRECTORY
    await _step(pilot, "accounts", p)


async def connection_dialog(pilot: Pilot) -> None:
    await _step(pilot, "accounts", None, "ctrl+k")


async def steps_wide(pilot: Pilot) -> None:
    """At 120x40: the first three steps visited, the device name refused."""
    app: BulkEnrollApp = pilot.app  # type: ignore[assignment]
    p = sample_project()
    p.device.name = "CONTOSO LAPTOP"
    app.visited = {"project", "device", "network"}
    await _step(pilot, "device", p, "end", "backspace", "P")


async def applications(pilot: Pilot) -> None:
    await _step(pilot, "applications")


async def application_dialog(pilot: Pilot) -> None:
    await _step(pilot, "applications", None, "e")


async def certificates(pilot: Pilot) -> None:
    await _step(pilot, "certificates")


async def review(pilot: Pilot) -> None:
    p = sample_project()
    p.applications = []
    p.certificates = []
    await _step(pilot, "review", p)


async def write(pilot: Pilot) -> None:
    app: BulkEnrollApp = pilot.app  # type: ignore[assignment]
    p = sample_project()
    _open(app, p, "review", app.config_dir)
    app.built_package = Path(FOLDER) / "Contoso-Laptops.ppkg"
    await pilot.pause()
    app.call_later(app.goto_step, "write")
    await pilot.pause()
    await pilot.pause()


async def write_replace_question(pilot: Pilot) -> None:
    await write(pilot)
    await pilot.press("w")
    await pilot.pause()


async def next_steps(pilot: Pilot) -> None:
    from tui.usb.write import WriteResult

    app: BulkEnrollApp = pilot.app  # type: ignore[assignment]
    p = sample_project()
    _open(app, p, "review", app.config_dir)
    app.built_package = package = Path(FOLDER) / "Contoso-Laptops.ppkg"
    stick = WriteResult("/media/tech/STICK", f"/media/tech/STICK/{package.name}", 1, "0" * 64)
    app.sticks_written.append(stick)
    await pilot.pause()
    app.call_later(app.goto_step, "next")
    await pilot.pause()
    await pilot.pause()


PARALLEL_STICKS = [
    Drive(
        device=f"/dev/sd{letter}1",
        mountpoint=f"/media/tech/{label}",
        label=label,
        fstype="vfat",
        size=16_000_000_000,
        free=15_200_000_000,
        is_usb=True,
        removable=True,
    )
    for letter, label in (("b", "STICK"), ("c", "KINGSTON"), ("d", "SANDISK"))
]


async def write_parallel(pilot: Pilot) -> None:
    """Three sticks written at once: one verified, one failed, one still being verified.
    The results are posted to the screen as the writing threads would post them."""
    import hashlib

    from tui.screens.messages import StickDone, StickProgress
    from tui.usb.batch import StickResult
    from tui.usb.write import WriteResult

    app: BulkEnrollApp = pilot.app  # type: ignore[assignment]
    app.drive_source = lambda _all: PARALLEL_STICKS
    await write(pilot)
    await pilot.press("a")
    await pilot.pause()
    screen = app.screen
    screen._writing = True  # shown as running; nothing is started
    screen.refresh_bindings()
    screen.query_one("#write-progress").start("Contoso-Laptops.ppkg", PARALLEL_STICKS)
    one, locked, busy = (d.mountpoint for d in PARALLEL_STICKS)
    size = 7_340_032
    sha = hashlib.sha256(b"Contoso-Laptops").hexdigest()
    written = WriteResult(one, f"{one}/Contoso-Laptops.ppkg", size, sha)
    screen.post_message(StickDone(StickResult(one, result=written)))
    screen.post_message(
        StickDone(
            StickResult(locked, error=f"The drive {locked} is read-only; nothing was written.")
        )
    )
    screen.post_message(StickProgress(busy, "verify", size * 3 // 5, size))
    await pilot.pause()
    await pilot.pause()


SCENES = {
    f.__name__: f
    for f in (
        start,
        project_refused,
        project,
        device,
        device_policies,
        network,
        accounts_entra,
        accounts_signing_in,
        accounts_domain,
        accounts_users,
        local_user_dialog,
        accounts_browser,
        connection_dialog,
        steps_wide,
        applications,
        application_dialog,
        certificates,
        review,
        write,
        write_replace_question,
        write_parallel,
        next_steps,
    )
}
# The pictures shown in the README.
# Scenes shown at another size than SIZE.
SIZES = {"steps_wide": WIDE}
SCREENSHOTS = (
    "start",
    "project_refused",
    "device",
    "network",
    "accounts_signing_in",
    "accounts_users",
    "applications",
    "review",
    "write",
    "write_parallel",
    "next_steps",
    "steps_wide",
    "connection_dialog",
)
