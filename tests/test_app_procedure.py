"""The whole procedure with the keyboard only, as a technician does it, at 80x24.

Real parts: the real msal against the local HTTPS fake identity server (tests/fakes), the
real package builder, a real FAT32 filesystem (fusefat) or ext4 loop image as the stick,
the real verified write, and the package read back from that filesystem.
Not real: which drives exist. No USB stick can exist on a CI machine, so the test gives
the app a drive source listing the mounted test filesystem as a USB stick.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import pytest
import trustme
from app_pilot import flat_text, no_blink, screen_text, shows, wait_for  # noqa: F401 (fixture)
from fakes.identity import trusted_identity_server
from fakes.mounts import fuse_missing, loop_missing, make_ext4, make_fat32, mount_ext4, mount_fat32

from tui.app import create_app
from tui.entra.signin import SignInConfig
from tui.package.inspect import read_package
from tui.project.file import load_project
from tui.usb.drives import Drive, inspect_mountpoint
from tui.usb.write import TEMP_PREFIX

TODAY = date(2026, 11, 30)
FAST = {"interval_unit": 0.01, "poll_interval": 0.01}


@pytest.fixture
def identity(tmp_path, monkeypatch):
    with trusted_identity_server(tmp_path, monkeypatch) as server:
        server.approve_after(2)
        yield server


@pytest.fixture
def stick(tmp_path):
    """A real mounted filesystem standing in for a USB stick: FAT32, else ext4 on a loop."""
    with ExitStack() as stack:
        mnt = tmp_path / "stick"
        if fuse_missing() is None:
            image = make_fat32(tmp_path / "stick.img", 40)
            yield stack.enter_context(mount_fat32(image, mnt)), "vfat"
        elif loop_missing() is None:
            image = make_ext4(tmp_path / "stick.img", 40)
            yield stack.enter_context(mount_ext4(image, mnt)), "ext4"
        else:
            pytest.skip(f"no mountable test filesystem: {fuse_missing()}; {loop_missing()}")


def stick_source(mountpoint: Path, fstype: str):
    def drives(show_all: bool) -> list[Drive]:
        free, packages = inspect_mountpoint(str(mountpoint))
        return [
            Drive(
                device="/dev/sdz1",
                mountpoint=str(mountpoint),
                label="STICK",
                fstype=fstype,
                size=40 * 1024 * 1024,
                free=free,
                is_usb=True,
                removable=True,
                model="Test stick",
                packages=packages,
            )
        ]

    return drives


@pytest.fixture
def files(tmp_path):
    """An installer and a root certificate on the technician's machine."""
    src = tmp_path / "files"
    src.mkdir()
    (src / "agent.msi").write_bytes(b"MSI installer bytes " * 100)
    ca = trustme.CA()
    (src / "contoso-root.cer").write_bytes(ca.cert_pem.bytes())
    return src


async def test_whole_procedure_with_keys_only(tmp_path, identity, stick, files):
    mountpoint, fstype = stick
    folder = tmp_path / "projects" / "contoso"
    log_file = tmp_path / "state" / "bulk-enroll" / "bulk-enroll.log"
    app = create_app(
        log_file=log_file,
        config_dir=tmp_path / "config",
        today=TODAY,
        drive_source=stick_source(mountpoint, fstype),
        identity=SignInConfig(authority=identity.authority(), client_id="test-client"),
        token_options=FAST,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        # Start -> new project.
        await pilot.press("n")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ProjectScreen")
        await pilot.press(*"Contoso-Laptops", "tab", *str(folder), "tab", *"Sales laptops")
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: type(app.screen).__name__ == "DeviceScreen")
        await pilot.press(*"CT-%RAND:5%")
        assert "Example: CT-12345  (8 of 15 characters)" in screen_text(app)
        await pilot.press("tab", "tab", "space")  # product key left empty; shared use on
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: type(app.screen).__name__ == "NetworkScreen")
        await pilot.press("home")  # the first choice: WPA2-Personal
        await pilot.press("tab", *"Contoso Wi-Fi", "tab", *"correct horse battery")
        assert "correct horse" not in screen_text(app)  # drawn masked
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: type(app.screen).__name__ == "AccountsScreen")
        assert "2027-05-28" in screen_text(app)  # 179 days ahead by default
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "FAKE-CODE" in screen_text(app))
        await wait_for(pilot, lambda: bool(app.project.entra.bprt))
        await wait_for(pilot, lambda: "package_" in screen_text(app))
        # The user list (the issued token's expiry is read-only now, so not a Tab stop).
        for _ in range(4):
            if type(app.focused).__name__ == "UserTable":
                break
            await pilot.press("tab")
        await pilot.press("a")  # add a local administrator
        await wait_for(pilot, lambda: type(app.screen).__name__ == "LocalUserDialog")
        await pilot.press(*"itadmin", "tab", *"Adm1n-Passw0rd", "tab", *"Adm1n-Passw0rd", "ctrl+n")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "AccountsScreen")
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: type(app.screen).__name__ == "ApplicationsScreen")
        await pilot.press("a")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ApplicationDialog")
        await pilot.press("tab", *str(files / "agent.msi"))
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ApplicationsScreen")
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: type(app.screen).__name__ == "CertificatesScreen")
        await pilot.press("a")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "FilePicker")
        await pilot.press("ctrl+u", *str(files / "contoso-root.cer"), "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CertificatesScreen")
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReviewScreen")
        text = screen_text(app)
        assert identity.bprt not in text and "Adm1n-Passw0rd" not in text
        await pilot.press("ctrl+b")
        # The app records the package exactly when it is saved; the status line below the
        # summary never scrolls away, so it must then show where it went.
        await wait_for(pilot, lambda: app.built_package is not None)
        assert app.built_package == folder / "Contoso-Laptops.ppkg"
        assert app.built_package.is_file()
        await wait_for(pilot, lambda: "Package saved:" in flat_text(app))
        assert shows(app, f"Package saved: {app.built_package} Ctrl+N: write it to USB sticks.")
        await pilot.press("ctrl+n")

        await wait_for(pilot, lambda: type(app.screen).__name__ == "WriteScreen")
        await wait_for(pilot, lambda: "STICK" in screen_text(app))
        await pilot.press("w")
        await wait_for(pilot, lambda: "Written and verified" in screen_text(app))
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "NextStepsScreen")
        assert shows(app, f"written to 1 stick, verified: {mountpoint}")
        package_user = app.project.entra.package_user
        assert package_user.startswith("package_") and package_user in screen_text(app)

    on_stick = mountpoint / "Contoso-Laptops.ppkg"
    left = [n for n in os.listdir(mountpoint) if n.startswith(TEMP_PREFIX)]
    assert left == [] and on_stick.is_file()  # written under its name, no temporary file
    info = read_package(on_stick, show_secrets=True)
    settings = {str(s.path): s.value for s in info.settings}
    assert info.name == "Contoso-Laptops"
    assert settings["Accounts/ComputerAccount/ComputerName"] == "CT-%RAND:5%"
    assert settings["Accounts/Azure/BPRT"] == identity.bprt
    wlan = "ConnectivityProfiles/WLAN/WLANSetting/WLANConfig[Contoso Wi-Fi]/WLANXmlSettings"
    assert settings[f"{wlan}/SecurityKey"] == "correct horse battery"
    assert settings[f"{wlan}/SecurityType"] == "WPA2-Personal"
    assert settings["Accounts/Users/User[itadmin]/Password"] == "Adm1n-Passw0rd"
    assert settings["Accounts/Users/User[itadmin]/UserGroup"] == "Administrators"
    assert settings["SharedPC/EnableSharedPCMode"] == "True"
    command = "ProvisioningCommands/PrimaryContext/Command/CommandConfig[agent]"
    assert settings[f"{command}/CommandFile"] == str(files / "agent.msi")
    assert settings[f"{command}/CommandLine"] == 'msiexec /i "agent.msi" /quiet /norestart'
    assert any(
        p.startswith("Certificates/RootCertificates/RootCertificate[contoso-root]")
        for p in settings
    )

    # The project was saved (0600) in its folder and remembered for the start screen.
    saved = folder / "Contoso-Laptops.bulkenroll.toml"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert load_project(saved).entra.package_user == package_user

    # The support log tells every step, and no secret: not the token, a password or the key.
    log = log_file.read_text(encoding="utf-8")
    assert log_file.stat().st_mode & 0o777 == 0o600
    for step in ("Sign-in: Signed in as", "Bulk token received", "Built ", "Written and verified"):
        assert step in log
    for secret in (identity.bprt, "Adm1n-Passw0rd", "correct horse battery"):
        assert secret not in log
