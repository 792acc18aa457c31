"""The chip at the officers' page, through a real virtual card on a real reader (Debian's pcscd,
vpcd and vicc: ``tests/card/conftest.py``): the page is read, then its chip with the page's MRZ
as the key, with progress; the three portraits and the chip's checks are shown, alerts first.

The passport is one of our own (``tests/card/virtual.py``): Eileen Collins's public-domain NASA
portrait (scikit-image's ``astronaut``, as ``samples/`` uses it) as DG2, a TD3 MRZ in DG1, an
EF.SOD under a test CSCA the station trusts. Its data page is that photo printed by
``impostor.printing.render_page`` with the same MRZ set in OCR-B (Debian's ``fonts-ocr-b``,
installed here when missing and allowed, as the card stack is); the camera sees
``samples/live_genuine.jpg``. All public domain, so the screenshots can go into the README
(``IMPOSTOR_SCREENSHOTS=docs/screenshots``). The browser test signs in, takes
the page from the scanner folder, reads the chip, photographs the traveller from a fake webcam
and shows the result in es-PE; screenshots at 1366×768 and 360×740 go to the test's folder and
to ``IMPOSTOR_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from impostor.printing import MRZ_ROWS_MM, PAGE_DPI, PAPER_TONE, DocumentStyle, render_page
from impostor.station.accounts import Accounts
from impostor.station.app import create_app
from impostor.station.counter import CATALOGUES
from impostor.station.service import StationConfig
from tests.card import virtual
from tests.card.conftest import PcscStack, RunningCard, insert
from tests.servers import running

PIN = "482916"
OPERATOR = "OFC-0042"
LIVE = Path(__file__).resolve().parents[2] / "samples" / "live_genuine.jpg"
MRZ = virtual.td3_mrz(surname="COLLINS", given="EILEEN<MARIE", nationality="PER", expiry="340101")
OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
MRZ_FONT_PX = 42  # 44 OCR-B characters across a 125 mm page at 300 dpi, with its margins


@pytest.fixture(scope="module")
def ocr_b() -> Path:
    """OCR-B, the MRZ's typeface (Debian's fonts-ocr-b), installed with apt-get when missing."""
    if not OCR_B.exists() and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "fonts-ocr-b"]):
            subprocess.run(command, check=False, capture_output=True, env=env)  # a new machine has no lists
    if not OCR_B.exists():
        message = "the MRZ is set in OCR-B: apt-get install fonts-ocr-b"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return OCR_B


def data_page(rgb: np.ndarray, mrz: str, font: Path) -> bytes:
    """The photo ``rgb`` printed as a TD3 data page's portrait (``render_page``) with ``mrz``
    set in OCR-B on its two MRZ rows; PNG bytes."""
    from PIL import Image, ImageDraw, ImageFont

    from impostor.stages.detect import detect_faces

    pixels = render_page(rgb, detect_faces(rgb)[0], DocumentStyle(colour=True, seed=11)).pixels.copy()
    pixels[round((MRZ_ROWS_MM[0] - 6) / 25.4 * PAGE_DPI) :] = PAPER_TONE  # the rows render_page made up
    image = Image.fromarray(pixels)
    draw, typeface = ImageDraw.Draw(image), ImageFont.truetype(str(font), MRZ_FONT_PX)
    for line, baseline in zip(mrz.split("\n"), MRZ_ROWS_MM, strict=True):
        draw.text(
            (60, round(baseline / 25.4 * PAGE_DPI)), line, font=typeface, fill=(30, 30, 30), anchor="ls"
        )
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR))
    assert ok
    return png.tobytes()


def enrolment_jpeg(rgb: np.ndarray) -> bytes:
    """The photo ``rgb`` as a chip holds its portrait: cut to the head and shoulders (3:4), 360
    px high, a JPEG of some 20 kB (vicc loses the card past 32 kB, where READ BINARY's offset
    no longer fits in P1-P2)."""
    from impostor.stages.detect import detect_faces

    face = detect_faces(rgb)[0]
    width = min(1.8 * face.width, rgb.shape[1])
    height = min(width * 4 / 3, rgb.shape[0])
    left = int(np.clip(face.center[0] - width / 2, 0, rgb.shape[1] - width))
    top = int(np.clip(face.center[1] - height * 0.45, 0, rgb.shape[0] - height))
    crop = rgb[top : top + int(height), left : left + int(width)]
    scale = 360 / crop.shape[0]
    small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return jpeg.tobytes()


@pytest.fixture(scope="module")
def passport(astronaut: np.ndarray) -> virtual.Passport:
    return virtual.personalise(enrolment_jpeg(astronaut), MRZ)


@pytest.fixture(scope="module")
def page_png(astronaut: np.ndarray, ocr_b: Path) -> bytes:
    return data_page(astronaut, MRZ, ocr_b)


@pytest.fixture(scope="module")
def wrong_png(astronaut: np.ndarray, ocr_b: Path) -> bytes:
    """The same page with another document number printed: its MRZ does not open the chip."""
    return data_page(astronaut, virtual.td3_mrz(number="PE7654321", expiry="340101"), ocr_b)


@pytest.fixture(scope="module")
def csca_file(passport: virtual.Passport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert passport.csca is not None
    path = tmp_path_factory.mktemp("csca") / "csca.pem"
    path.write_bytes(passport.csca.pem)
    return path


@pytest.fixture(scope="module")
def on_reader(pcsc_stack: PcscStack, passport: virtual.Passport) -> Iterator[RunningCard]:
    running_card = insert(pcsc_stack, passport, "station-passport", slot=0)
    yield running_card
    running_card.stop()


@contextmanager
def counter(folder: Path, reader: str, csca: Path) -> Iterator[str]:
    """A station in this process with the virtual reader, trusting the passport's CSCA."""
    config = StationConfig(
        accounts=folder / "station.sqlite",
        audit_db=folder / "audit.sqlite",
        station="lim-t1-07",
        chip_reader=reader,
        chip_wait_seconds=3,
    )
    Accounts(config.accounts).add_operator(OPERATOR, PIN)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMPOSTOR_CSCA", str(csca))
        with running(create_app(config)) as url:
            yield url


def signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120, headers={"Origin": url})
    assert client.post("/counter/signin", json={"operator": OPERATOR, "pin": PIN}).status_code == 200
    return client


def read_chip(client: httpx.Client, body: dict[str, str] | None = None, within: float = 60) -> dict:
    """Start the chip's reading and ask for its progress until it ends; the last reply and
    every stage seen."""
    reply = client.post("/counter/chip", json=body) if body is not None else client.post("/counter/chip")
    assert reply.status_code == 200, reply.text
    seen = [reply.json()["chip"]["stage"]]
    deadline = time.monotonic() + within
    while reply.json()["chip"]["stage"] not in ("done", "failed"):
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
        reply = client.get("/counter/chip")
        assert reply.status_code == 200, reply.text
        seen.append(reply.json()["chip"]["stage"])
    return {**reply.json(), "seen": seen}


def test_the_chip_is_read_with_the_pages_mrz_and_decides(
    on_reader: RunningCard, page_png: bytes, csca_file: Path, tmp_path: Path
) -> None:
    with counter(tmp_path, on_reader.reader, csca_file) as url:
        client = signed_in(url)
        assert client.get("/counter/settings").json()["chip_reader"] is True
        document = client.post("/counter/document", files={"image": ("page.png", page_png)}).json()[
            "document"
        ]
        assert document["reading"]["mrz"]["document_number"] == "PE1234567", document["reading"]
        assert document["portrait"] == "page"
        done = read_chip(client)
        assert done["chip"]["stage"] == "done", (done["chip"]["code"], done["chip"].get("message"))
        order = ["waiting", "opening", "reading", "checking", "done"]
        assert done["seen"] == sorted(done["seen"], key=order.index) and done["chip"]["code"] is None
        # the portrait's progress was followed to its last byte (the poll may not have seen it run)
        assert done["chip"]["file"] == "DG2" and done["chip"]["done"] == done["chip"]["total"] > 10_000
        view = done["view"]
        assert view["access"] == "BAC" and view["password"] == "mrz" and view["tries"] == 1
        assert {check["check"]: check["status"] for check in view["checks"]}["passive"] == "passed"
        assert view["decides"] and done["document"]["portrait"] == "chip"
        assert client.get(view["image"]).headers["content-type"] == "image/jpeg"
        live = client.post("/counter/live", files={"image": ("l.jpg", LIVE.read_bytes())}).json()
        verdict = live["verdict"]
        assert verdict["portrait"] == "chip" and verdict["decision"] == "MATCH", verdict["reason_codes"]
        # the comparison is made: a chip now would change a verdict already logged
        assert client.post("/counter/chip").json()["error"]["code"] == "chip_too_late"


def test_a_wrong_key_asks_for_the_typed_fields_and_they_open_the_chip(
    on_reader: RunningCard, wrong_png: bytes, csca_file: Path, tmp_path: Path
) -> None:
    with counter(tmp_path, on_reader.reader, csca_file) as url:
        client = signed_in(url)
        client.post("/counter/document", files={"image": ("page.png", wrong_png)})
        failed = read_chip(client)
        assert failed["chip"]["stage"] == "failed" and failed["chip"]["code"] == "chip_access_denied"
        typed = {"number": "PE1234567", "birth": "850312", "expiry": "340101"}
        bad = client.post("/counter/chip", json={**typed, "birth": "85O312"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "chip_fields"
        done = read_chip(client, typed)
        assert done["chip"]["stage"] == "done", (done["chip"]["code"], done["chip"].get("message"))
        # the page's MRZ differs from the chip's: an alert, first among the findings
        codes = [f["code"] for f in done["document"]["reading"]["findings"] if f["severity"] == "alert"]
        assert "chip_mrz_differs" in codes, codes


def test_without_a_card_the_officer_is_told_to_lay_it_on_the_reader(
    pcsc_stack: PcscStack,
    page_png: bytes,
    csca_file: Path,
    tmp_path: Path,
) -> None:
    with counter(tmp_path, pcsc_stack.readers[1], csca_file) as url:
        client = signed_in(url)
        client.post("/counter/document", files={"image": ("page.png", page_png)})
        failed = read_chip(client)
        assert failed["chip"]["stage"] == "failed" and failed["chip"]["code"] == "chip_no_card", failed
        for language in CATALOGUES.languages:
            assert CATALOGUES.catalogue(language)["error.chip_no_card"]


# --- the page, in a real browser --------------------------------------------------------------

# every stage the chip's status shows, in order, for the test to read afterwards
_RECORD_CHIP_STAGES = """
window.chipStages = [];
document.addEventListener("DOMContentLoaded", () => {
  const status = document.querySelector('[data-testid="chip-status"]');
  new MutationObserver(() => {
    const stage = status.dataset.stage;
    if (stage && stage !== window.chipStages.at(-1)) window.chipStages.push(stage);
  }).observe(status, { attributes: true, attributeFilter: ["data-stage"] });
});
"""


@contextmanager
def station_command(folder: Path, reader: str, csca: Path) -> Iterator[str]:
    """``impostor station --chip-reader READER`` on a free loopback port, trusting ``csca``."""
    from tests.servers import command, free_port

    Accounts(folder / "station.sqlite").add_operator(OPERATOR, PIN)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    arguments = ["station", "--port", str(port), "--db", str(folder / "station.sqlite")]
    arguments += ["--audit-db", str(folder / "audit.sqlite"), "--name", "lim-t1-07", "--chip-reader", reader]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IMPOSTOR_CSCA", str(csca))
        with command(arguments, f"{url}/api/v1/health"):
            yield url


def test_page_chip_live_result_with_three_portraits_in_spanish(
    chromium: Path,
    on_reader: RunningCard,
    page_png: bytes,
    csca_file: Path,
    wrong_png: bytes,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    from tests.station.test_browser import _OUT_OF_VIEW, camera, framed, sign_in_by_keyboard, write_y4m

    messages = CATALOGUES.catalogue("es")
    shots = [tmp_path / "screens"]
    if os.environ.get("IMPOSTOR_SCREENSHOTS"):
        shots.append(Path(os.environ["IMPOSTOR_SCREENSHOTS"]))
    for folder in shots:
        folder.mkdir(parents=True, exist_ok=True)

    def shot(page: object, name: str) -> None:
        for folder in shots:
            page.screenshot(path=str(folder / f"station-chip-{name}.png"), full_page=True)  # type: ignore[attr-defined]

    (tmp_path / "page.png").write_bytes(page_png)
    (tmp_path / "wrong.png").write_bytes(wrong_png)
    clip = write_y4m(tmp_path / "live.y4m", framed(LIVE))
    with station_command(tmp_path, on_reader.reader, csca_file) as url, camera(chromium, clip) as browser:
        context = browser.new_context(
            viewport={"width": 1366, "height": 768}, locale="es-PE", permissions=["camera"]
        )
        context.add_init_script(_RECORD_CHIP_STAGES)
        page = context.new_page()
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        page.goto(url)
        sign_in_by_keyboard(page)
        chip = page.get_by_test_id("chip")
        expect(chip).to_be_hidden()  # no document yet: nothing to read
        # the page, then its chip by itself (a reader is configured), then the traveller's photo
        page.get_by_test_id("document-file").set_input_files(str(tmp_path / "page.png"))
        expect(page.get_by_test_id("chip-status")).to_have_attribute("data-stage", "done")
        # the stages shown, in order (the virtual card reads its 20 kB portrait in under a second,
        # so a poll may miss "reading": the HTTP test above sees it)
        stages = page.evaluate("window.chipStages")
        order = ["waiting", "opening", "reading", "checking", "done"]
        assert stages[0] == "waiting" and stages[-1] == "done" and stages == sorted(stages, key=order.index)
        expect(page.get_by_test_id("chip-face")).to_have_attribute(
            "src", re.compile(r"^/counter/faces/chip\?v=\d+$")
        )
        result = page.get_by_test_id("result")
        expect(result).to_have_attribute("data-decision", "MATCH")
        expect(page.get_by_test_id("result-portrait")).to_have_text(messages["portrait.chip"])
        for face in ("document-face", "chip-face", "live-face"):
            expect(page.get_by_test_id(face)).to_be_visible()
        boxes = [
            page.get_by_test_id(face).bounding_box() for face in ("document-face", "chip-face", "live-face")
        ]
        assert all(box is not None for box in boxes)
        lefts = [box["x"] for box in boxes if box is not None]
        assert lefts == sorted(lefts), "page, chip and live portraits side by side, in that order"
        checks = page.get_by_test_id("verdict-checks")
        expect(checks.locator('[data-check="passive"]')).to_contain_text(messages["chip.check.passive"])
        expect(checks.locator('[data-check="passive"]')).to_have_class("check-passed")
        # everything for the decision on one counter screen, unscrolled, the chip's checks too
        on_screen = ["#result-decision", "#result-portrait", "#document-face", "#chip-face", "#live-face"]
        on_screen += ["#verdict-checks li", "#outcome-admitted", "#outcome-other", "#next"]
        assert page.evaluate(_OUT_OF_VIEW, on_screen) == []
        shot(page, "match-counter")
        page.set_viewport_size({"width": 360, "height": 740})
        page.wait_for_timeout(200)
        shot(page, "match-phone")
        page.set_viewport_size({"width": 1366, "height": 768})

        # another document whose page does not open its chip: the officer types the number
        page.keyboard.press("n")
        expect(result).to_have_attribute("data-decision", "")
        page.get_by_test_id("document-file").set_input_files(str(tmp_path / "wrong.png"))
        form = page.get_by_test_id("chip-form")
        expect(form).to_be_visible()
        expect(page.get_by_test_id("alert")).to_have_text(messages["error.chip_access_denied"])
        expect(page.get_by_test_id("chip-number")).to_have_value("PE7654321")  # the page's, to correct
        expect(page.get_by_test_id("chip-number")).to_be_focused()
        expect(result).to_have_attribute(
            "data-decision", ""
        )  # no verdict yet: the page decides nothing alone
        shot(page, "typed-form")
        page.get_by_test_id("next").focus()
        page.keyboard.press("c")  # C tries the page's MRZ again: refused again, never locked
        expect(page.get_by_test_id("chip-status")).to_have_attribute("data-stage", "failed")
        page.get_by_test_id("chip-number").fill("PE1234567")
        page.keyboard.press("Enter")
        expect(page.get_by_test_id("chip-status")).to_have_attribute("data-stage", "done")
        # the chip opens; its MRZ is not the page's: an alert, first among the reasons
        expect(result).to_have_attribute("data-decision", "REFER")
        first = page.get_by_test_id("reasons").locator("li").first
        expect(first).to_have_text(messages["finding.chip_mrz_differs"])
        shot(page, "typed-refer")
        context.close()
