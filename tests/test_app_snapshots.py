"""Every screen at 80x24 (a few at their size in ``SIZES``) as an SVG snapshot (syrupy).
Update with --snapshot-update after an intended change, and look at the pictures before
committing them."""

from __future__ import annotations

import pytest
from app_pilot import no_blink, screen_text  # noqa: F401 (fixture)
from app_scenes import SCENES, SIZE, SIZES, scene_app
from syrupy.extensions.image import SVGImageSnapshotExtension


@pytest.fixture
def snapshot(snapshot):
    return snapshot.use_extension(SVGImageSnapshotExtension)


@pytest.mark.parametrize("scene", sorted(SCENES))
async def test_screen(scene, snapshot, tmp_path, no_blink):  # noqa: F811
    app = scene_app(tmp_path / "config")
    async with app.run_test(size=SIZES.get(scene, SIZE)) as pilot:
        await SCENES[scene](pilot)
        text = screen_text(app)
        assert "Traceback" not in text
        for secret in ("correct horse", "Passw0rd", "join-secret", "not-a-real-token"):
            assert secret not in text
        assert app.export_screenshot(title=scene) == snapshot


async def test_screen_without_colour(snapshot, tmp_path, no_blink, monkeypatch):  # noqa: F811
    """The network step with NO_COLOR set in the app's environment: Textual draws greys only,
    and the state of every choice and the focused field are still readable."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = scene_app(tmp_path / "config")
    async with app.run_test(size=SIZE) as pilot:
        await SCENES["network"](pilot)
        assert app.no_color
        assert "(•) Wi-Fi, WPA2-Personal" in screen_text(app)
        assert app.export_screenshot(title="network_no_color") == snapshot
