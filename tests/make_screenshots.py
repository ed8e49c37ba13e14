"""Write the README's SVG screenshots of the main screens into screenshots/.

    python tests/make_screenshots.py

The scenes are the snapshot tests' (tests/app_scenes.py): fixed project, dates and paths.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from app_scenes import SCENES, SCREENSHOTS, SIZE, SIZES, scene_app  # noqa: E402
from textual.widgets import Input  # noqa: E402

OUT = HERE.parent / "screenshots"


async def shoot(name: str, config_dir: Path) -> Path:
    app = scene_app(config_dir)
    async with app.run_test(size=SIZES.get(name, SIZE)) as pilot:
        await SCENES[name](pilot)
        path = OUT / f"{name}.svg"
        path.write_text(app.export_screenshot(title=f"bulk-enroll: {name}"), encoding="utf-8")
    return path


async def main() -> None:
    Input._toggle_cursor = lambda self: None  # a steady cursor in the pictures
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name in SCREENSHOTS:
            print(await shoot(name, Path(tmp) / name))


if __name__ == "__main__":
    asyncio.run(main())
