"""The applications step's dialog: files the installer needs are chosen with a file picker
(Ctrl+F), as the installer is (Ctrl+O), one after another, with keys only."""

from __future__ import annotations

from datetime import date

from app_pilot import flat_text, wait_for

from tui.app import create_app
from tui.project import rules
from tui.project.model import Application, Project

TODAY = date(2026, 11, 30)


def on(app, name: str):
    return lambda: type(app.screen).__name__ == name


async def test_dependency_files_are_chosen_with_the_picker(tmp_path):
    files = tmp_path / "installers"
    files.mkdir()
    for name in ("agent.msi", "agent.cab", "agent.mst"):
        (files / name).write_bytes(b"x")
    project = Project()
    project.package.name = "Fleet"
    project.folder = str(tmp_path / "fleet")
    project.applications = [
        Application(
            name="agent", file=str(files / "agent.msi"), command_line="msiexec /i agent.msi"
        )
    ]
    app = create_app(config_dir=tmp_path / "config", today=TODAY, drive_source=lambda _: [])
    async with app.run_test(size=(80, 24)) as pilot:
        app.project, app.project_path = project, tmp_path / "fleet" / "Fleet.bulkenroll.toml"
        app.call_later(app.goto_step, "applications")
        await wait_for(pilot, on(app, "ApplicationsScreen"))
        await pilot.press("e")
        await wait_for(pilot, on(app, "ApplicationDialog"))
        assert "^f Add dependency" in flat_text(app)

        await pilot.press("ctrl+f")
        await wait_for(pilot, on(app, "FilePicker"))
        assert "Choose a file the installer needs" in flat_text(app)
        await pilot.press("ctrl+u", *str(files / "agent.cab"), "enter")
        await wait_for(pilot, on(app, "ApplicationDialog"))
        await wait_for(
            pilot, lambda: project.applications[0].dependencies == [str(files / "agent.cab")]
        )

        await pilot.press("ctrl+f")
        await wait_for(pilot, on(app, "FilePicker"))
        await pilot.press("ctrl+u", *str(files / "gone.mst"), "enter")  # refused, stays open
        await wait_for(pilot, lambda: "gone.mst does not exist" in flat_text(app))
        await pilot.press("ctrl+u", *str(files / "agent.mst"), "enter")
        await wait_for(pilot, on(app, "ApplicationDialog"))
        want = [str(files / "agent.cab"), str(files / "agent.mst")]
        await wait_for(pilot, lambda: project.applications[0].dependencies == want)
        deps = app.screen.query_one("#app-deps").value
        assert deps == f"{files / 'agent.cab'}; {files / 'agent.mst'}"
        problems = rules.validate(project, today=TODAY, for_build=True)
        assert not [p for p in problems if p.field.endswith(".dependencies")]

        await pilot.press("ctrl+n")
        await wait_for(pilot, on(app, "ApplicationsScreen"))
        assert project.applications[0].dependencies == want
