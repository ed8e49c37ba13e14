"""The optional policies of the catalogue, set on the Device step with the keyboard: each
choice is the same in the app, the project file, the review list, the app's build,
`bulk-enroll build` and `bulk-enroll inspect`; "Not set" leaves the policy out."""

from __future__ import annotations

import json
from pathlib import Path

from app_pilot import settle, shows, wait_for
from test_app_session import goto, make_app, saved_project
from test_cli_build_inspect import cli

from tui.package.inspect import read_package
from tui.project.file import load_project
from tui.screens.policies import choices, policy_id
from tui.screens.review import package_settings, summary
from tui.wcd.catalogue import policy_rows
from tui.widgets.field import ChoiceField

CONSUMER, SIGNATURE = policy_rows()
PATHS = {
    CONSUMER: "Policies/Experience/AllowWindowsConsumerFeatures",
    SIGNATURE: "Policies/Security/RequireProvisioningPackageSignature",
}


def test_the_policies_choices_are_worded_for_each_policy():
    assert [row.shape for row in policy_rows()] == list(PATHS.values())
    assert [text for _, text in choices(CONSUMER)] == ["Not set", "Allow", "Block"]
    assert [text for _, text in choices(SIGNATURE)] == ["Not set", "Yes", "No"]


def test_no_policy_is_named_outside_the_catalogue_and_the_model():
    """The Policies group is generated: adding a policy needs a row and a field only."""
    tui = Path(__file__).resolve().parents[1] / "tui"
    names = [n for row in policy_rows() for n in (row.field, row.shape.rsplit("/", 1)[1])]
    naming = {
        str(module.relative_to(tui))
        for module in tui.rglob("*.py")
        if any(name in module.read_text() for name in names)
    }
    assert naming == {"wcd/catalogue.py", "project/model.py"}


def drawn(row, chosen: str) -> str:
    """The policy's label and its three options as the screen draws them."""
    options = [text for _, text in choices(row)]
    return " ".join([row.label, *(("(•) " if t == chosen else "( ) ") + t for t in options)])


async def choose(app, pilot, row, keys: tuple[str, ...], text: str) -> None:
    """Tab to the policy's choice, then the arrow keys; the chosen option is marked (•)."""
    radios = app.screen.query_one(f"#{policy_id(row)}", ChoiceField).input
    for _ in range(12):
        if app.focused is radios:
            break
        await pilot.press("tab")
    assert app.focused is radios
    await pilot.press(*keys)
    await settle(pilot)
    assert shows(app, drawn(row, text))


async def build_in_app(app, pilot, out) -> dict[str, str]:
    await goto(app, pilot, "review", "ReviewScreen")
    await pilot.press("ctrl+b")
    await wait_for(pilot, lambda: app.built_package == out)
    return {str(s.path): s.value for s in read_package(out).settings}


def cli_settings(project_file, out) -> dict[str, str]:
    built = cli("build", project_file, "-o", out)
    assert built.returncode == 0, built.stderr
    inspected = cli("inspect", out, "--json")
    assert inspected.returncode == 0, inspected.stderr
    return {s["path"]: s["value"] for s in json.loads(inspected.stdout)["settings"]}


async def test_each_choice_reaches_the_project_file_and_the_package(tmp_path):
    path = saved_project(tmp_path / "wave")
    out = tmp_path / "wave" / "Wave4.ppkg"
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "device", "DeviceScreen")
        assert shows(app, drawn(CONSUMER, "Not set"))
        assert shows(app, drawn(SIGNATURE, "Not set"))
        await choose(app, pilot, CONSUMER, ("right",), "Allow")
        await choose(app, pilot, SIGNATURE, ("end",), "No")
        assert app.save_now() == path
        text = path.read_text()
        assert "allow_windows_consumer_features = true" in text
        assert "require_provisioning_package_signature = false" in text
        assert summary(app.project)[-2:] == [
            ("Policy", f"{CONSUMER.label}: Allow"),
            ("Policy", f"{SIGNATURE.label}: No"),
        ]
        listed = [text for _, text in package_settings(app.project)]
        assert f"{PATHS[CONSUMER]} = Yes" in listed and f"{PATHS[SIGNATURE]} = No" in listed
        built = await build_in_app(app, pilot, out)
        assert (built[PATHS[CONSUMER]], built[PATHS[SIGNATURE]]) == ("Yes", "No")

        await goto(app, pilot, "device", "DeviceScreen")  # rebuilt from the model
        assert shows(app, drawn(CONSUMER, "Allow"))
        await choose(app, pilot, CONSUMER, ("home",), "Not set")
        await choose(app, pilot, SIGNATURE, ("left",), "Yes")
        await wait_for(pilot, lambda: "consumer" not in path.read_text())  # autosave
        built = await build_in_app(app, pilot, out)
        assert PATHS[CONSUMER] not in built and built[PATHS[SIGNATURE]] == "Yes"

    saved = load_project(path)
    assert saved.allow_windows_consumer_features is None
    assert saved.require_provisioning_package_signature is True
    reopened = make_app(tmp_path, open_path=path)
    async with reopened.run_test(size=(80, 24)) as pilot:
        await goto(reopened, pilot, "device", "DeviceScreen")
        assert shows(reopened, drawn(CONSUMER, "Not set"))
        assert shows(reopened, drawn(SIGNATURE, "Yes"))


async def test_the_command_line_builds_and_inspects_what_the_app_chose(tmp_path):
    path = saved_project(tmp_path / "wave")
    app = make_app(tmp_path, open_path=path)
    async with app.run_test(size=(80, 24)) as pilot:
        await goto(app, pilot, "device", "DeviceScreen")
        await choose(app, pilot, CONSUMER, ("end",), "Block")
        await choose(app, pilot, SIGNATURE, ("right",), "Yes")
        assert app.save_now() == path
    by_cli = cli_settings(path, tmp_path / "cli.ppkg")
    assert (by_cli[PATHS[CONSUMER]], by_cli[PATHS[SIGNATURE]]) == ("No", "Yes")


def test_the_device_step_owns_every_policy_field():
    from tui.screens.steps import owns, step

    device = step("device").fields
    assert all(owns(device, row.field) for row in policy_rows())
    assert not any(owns(step("network").fields, row.field) for row in policy_rows())
