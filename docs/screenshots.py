"""The README's pictures of the officers' page, made with the public-domain samples.

    uv run python docs/screenshots.py [--out docs/screenshots]

Starts ``impostor station`` on loopback with a scanner folder, feeds Debian's Chromium a fake
webcam clip of ``samples/live_genuine.jpg`` (Grace Hopper; the document is ``samples/document.png``)
and photographs each screen at 1366×768 (the counter screen), 1920×1080 and a phone's 360×740.
The browser tests (tests/station/test_browser.py) make the same screens from real faces.

The chip's screens (the page, its chip read on the reader, the three portraits side by side,
and the fields an officer types when the page's MRZ does not open the chip) need a reader with
a card on it: the chip's browser test makes them with a virtual card in a real PC/SC stack
(pcscd, vpcd, vicc) and the same public-domain faces, at 1366×768 and 360×740:

    IMPOSTOR_SCREENSHOTS=docs/screenshots uv run pytest tests/station/test_chip_page.py -k portraits
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect  # noqa: E402

from tests.station.test_browser import (  # noqa: E402
    OPERATOR,
    PIN,
    SLOW,
    camera,
    framed,
    serving,
    write_y4m,
)

SAMPLES = ROOT / "samples"
SIZES = {"counter": (1366, 768), "wide": (1920, 1080), "phone": (360, 740)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="impostor-screens-") as scratch:
        folder = Path(scratch)
        clip = write_y4m(folder / "live.y4m", framed(SAMPLES / "live_genuine.jpg"))
        with serving(folder) as (url, _, scans), camera(args.chromium, clip) as browser:
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height}, locale="es-PE", permissions=["camera"]
                )
                page = context.new_page()
                page.set_default_timeout(SLOW)
                page.goto(url)
                expect(page.get_by_test_id("screen-signin")).to_be_visible()
                page.get_by_test_id("operator-id").fill(OPERATOR)
                page.screenshot(path=str(args.out / f"station-signin-{size}.png"))
                page.get_by_test_id("pin").fill(PIN)
                page.keyboard.press("Enter")
                expect(page.get_by_test_id("screen-counter")).to_be_visible()
                shutil.copy(SAMPLES / "document.png", scans / f"scan-{size}.png")
                page.keyboard.press("d")
                expect(page.get_by_test_id("result")).to_have_attribute("data-decision", "MATCH")
                page.screenshot(path=str(args.out / f"station-match-{size}.png"))
                page.keyboard.press("n")
                context.close()
    print(f"wrote {len(SIZES) * 2} screenshots to {args.out}")


if __name__ == "__main__":
    main()
