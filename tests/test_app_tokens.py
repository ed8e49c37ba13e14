"""The token register on the start screen: recent projects with their bulk token's days
left, the one that runs out first at the top; a warning when a project with fewer than 14
days left is opened."""

from __future__ import annotations

from datetime import date, timedelta

from app_pilot import screen_text, wait_for
from textual.widgets import OptionList

from tui.app import create_app
from tui.project.file import save_project
from tui.project.model import Project
from tui.project.recent import remember

TODAY = date(2026, 11, 30)


def project_file(tmp_path, name: str, days: int | None):
    project = Project(folder=str(tmp_path / name))
    project.package.name = name
    if days is not None:
        project.entra.bprt = "fake-bprt-not-shown"
        project.entra.expires = TODAY + timedelta(days=days)
    path = tmp_path / name / f"{name}.bulkenroll.toml"
    path.parent.mkdir()
    save_project(project, path)
    return path


def notified(app, text: str) -> bool:
    """A notification (toast) saying ``text`` was given."""
    return any(text in n.message for n in app._notifications)


async def test_recent_projects_are_listed_by_what_runs_out_first(tmp_path):
    config = tmp_path / "config"
    for name, days in (("Alpha", 12), ("Bravo", None), ("Charlie", 150), ("Delta", 3)):
        remember(config, project_file(tmp_path, name, days))
    app = create_app(config_dir=config, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        options = app.screen.query_one("#recent", OptionList)
        await wait_for(pilot, lambda: options.option_count == 4)
        ids = [options.get_option_at_index(i).id for i in range(4)]
        assert [id.rsplit("/", 1)[-1] for id in ids] == [
            "Delta.bulkenroll.toml",
            "Alpha.bulkenroll.toml",
            "Charlie.bulkenroll.toml",
            "Bravo.bulkenroll.toml",
        ]
        text = screen_text(app)
        assert "3 days left" in text and "12 days left" in text and "150 days left" in text
        assert "no token" in text and "fake-bprt" not in text

        await pilot.press("enter")  # the first: Delta, 3 days left
        await wait_for(pilot, lambda: notified(app, "expires in 3 days"))
        assert app.project.package.name == "Delta"


async def test_opening_a_project_with_plenty_of_days_gives_no_token_warning(tmp_path):
    config = tmp_path / "config"
    remember(config, project_file(tmp_path, "Echo", 20))
    remember(config, project_file(tmp_path, "Foxtrot", 13))
    app = create_app(config_dir=config, today=TODAY)
    async with app.run_test(size=(100, 30)) as pilot:
        options = app.screen.query_one("#recent", OptionList)
        await wait_for(pilot, lambda: options.option_count == 2)
        await pilot.press("down", "enter")  # the second: Echo, 20 days left
        await wait_for(pilot, lambda: app.project is not None)
        assert app.project.package.name == "Echo"
        # Only a positive assertion: the notifications the app holds are none about the token.
        assert not [n for n in app._notifications if "bulk token" in n.message]
