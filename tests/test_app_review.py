"""The review step lists every setting the package will carry, those bulk-enroll adds
without a field marked as such."""

from __future__ import annotations

from app_pilot import settle, shows, wait_for
from app_scenes import SIZE, sample_project, scene_app

from tui.screens.review import package_settings
from tui.wcd.settings import ADDED_BY_BULK_ENROLL, HIDE_OOBE, TRUSTED_APPS, project_settings


async def test_review_lists_every_setting_and_marks_the_added_ones(tmp_path):
    app = scene_app(tmp_path / "config")
    project = sample_project()
    project.device.shared_pc = True
    app.project = project
    async with app.run_test(size=SIZE) as pilot:
        app.call_later(app.goto_step, "review")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReviewScreen")
        listed = "\n".join(text for _, text in package_settings(app.project))
        settings = project_settings(app.project)
        assert HIDE_OOBE in {s.path for s in settings} and TRUSTED_APPS in {
            s.path for s in settings
        }
        for setting in settings:
            assert f"{setting.path} = " in listed
        added = [s.path for s in settings if s.path in ADDED_BY_BULK_ENROLL]
        assert len(added) == 5  # authority, HideOobe, trusted apps, two for shared use
        assert listed.count("added by bulk-enroll: ") == len(added)
        for secret in ("correct horse", "Passw0rd", "not-a-real-token"):
            assert secret not in listed

        app.screen.query_one("#package-settings").scroll_visible(animate=False, top=True)
        await wait_for(pilot, lambda: shows(app, "Accounts/Azure/Authority"))
        assert shows(app, "Accounts/Users/User[itadmin]/UserGroup = Administrators")
        assert shows(app, "added by bulk-enroll: Microsoft's sign-in address")
        app.screen.query_one("#form").scroll_end(animate=False)
        await wait_for(pilot, lambda: shows(app, "SharedPC/EnableSharedPCMode = True"))
        assert shows(app, "AccountModel = Domain-joined only added by bulk-enroll: shared use")


async def test_the_package_user_address_is_never_broken_mid_word(tmp_path):
    from app_pilot import screen_text

    app = scene_app(tmp_path / "config")
    app.project = sample_project()
    address = app.project.entra.package_user
    async with app.run_test(size=SIZE) as pilot:
        app.call_later(app.goto_step, "review")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReviewScreen")
        assert address in screen_text(app)  # on one line
        assert "Remove" in screen_text(app) and "pre-installed" in screen_text(app)

    local, domain = "package_" + "5e0b6f1c" * 6, "@lab.contoso.example.com"
    app = scene_app(tmp_path / "config2")
    app.project = sample_project()
    app.project.entra.package_user = local + domain
    async with app.run_test(size=SIZE) as pilot:
        app.call_later(app.goto_step, "review")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReviewScreen")
        lines = screen_text(app).splitlines()
        assert any(line.rstrip().endswith(local) for line in lines)
        assert any(line.strip() == domain for line in lines)


async def test_review_lists_the_policies_a_project_sets(tmp_path):
    app = scene_app(tmp_path / "config")
    project = sample_project()
    project.allow_windows_consumer_features = False
    project.require_provisioning_package_signature = True
    app.project = project
    async with app.run_test(size=SIZE) as pilot:
        app.call_later(app.goto_step, "review")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReviewScreen")
        form = app.screen.query_one("#form")
        top = app.screen.query_one("#package-settings").virtual_region.y
        wanted = ("AllowWindowsConsumerFeatures = No", "RequireProvisioningPackageSignature = Yes")
        seen = set()
        for offset in range(0, 120, 4):  # down the listing, a few lines at a time
            form.scroll_to(y=top + offset, animate=False)
            await settle(pilot)
            seen |= {text for text in wanted if shows(app, text)}
        assert seen == set(wanted)
