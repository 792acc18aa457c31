"""An officer's shift in real headless Chromium against ``impostor station``, with a fake webcam.

The station is the command an administrator runs, in its own process; the browser is Debian's
Chromium driven by Playwright, its camera a Y4M clip this test writes from real faces (Chromium's
``--use-file-for-fake-video-capture``). One clip per browser: the traveller A whose document is
scanned, a stranger B, and an empty room. Screenshots of each screen at 1366×768 go to the test's
folder (and to ``IMPOSTOR_SCREENSHOTS`` when set, for the README); the test that holds the page
to one screen with the longest findings adds 1280×720, in both languages.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from impostor.records.audit import AuditLog
from impostor.station.accounts import Accounts
from impostor.station.counter import CATALOGUES
from tests.servers import command, free_port

LANGUAGES = CATALOGUES.languages
PIN = "482916"
OPERATOR = "OFC-0042"
# a genuine pair that MATCHes and a stranger, from faces-dev; each live photo passes the live gates
DOCUMENT_A = "Jeff_Bezos/deepface_img20.jpg"
LIVE_A = "Jeff_Bezos/deepface_img21.jpg"
LIVE_B = "Sundar_Pichai/deepface_img24.jpg"
FRAME = (640, 480)
_CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SLOW = 60_000  # ms: a comparison on a busy two-core CI machine
FACE = {side: re.compile(rf"^/counter/faces/{side}\?v=\d+$") for side in ("document", "live")}
expect.set_options(timeout=SLOW)


def write_y4m(path: Path, rgb: np.ndarray, frames: int = 10, fps: int = 10) -> Path:
    """A Y4M clip (4:2:0, what Chromium's fake camera reads) of ``rgb`` held still, as a camera
    held on a traveller gives it: the same face in every frame, with the sensor's faint noise."""
    height, width = rgb.shape[:2]
    rng = np.random.default_rng(7)
    with path.open("wb") as clip:
        clip.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            noisy = np.clip(rgb.astype(np.int16) + rng.integers(-2, 3, rgb.shape), 0, 255).astype(np.uint8)
            clip.write(b"FRAME\n" + cv2.cvtColor(noisy, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def framed(path: Path) -> np.ndarray:
    """A photo on a 640×480 camera frame, whole, on a plain wall."""
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    height, width = bgr.shape[:2]
    scale = min(FRAME[0] / width, FRAME[1] / height)
    small = cv2.resize(bgr, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.full((FRAME[1], FRAME[0], 3), 90, np.uint8)
    top, left = (FRAME[1] - small.shape[0]) // 2, (FRAME[0] - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)


def empty_room() -> np.ndarray:
    """A wall and a door, no one in front of the camera: a public-domain texture from scikit-image."""
    from skimage import data

    brick = cv2.resize(data.brick(), FRAME, interpolation=cv2.INTER_AREA)
    return np.dstack([brick, brick, (brick * 0.9).astype(np.uint8)])


@pytest.fixture(scope="module")
def clips(faces_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "A": write_y4m(folder / "a.y4m", framed(faces_dev / LIVE_A)),
        "B": write_y4m(folder / "b.y4m", framed(faces_dev / LIVE_B)),
        "empty": write_y4m(folder / "empty.y4m", empty_room()),
    }


@contextmanager
def serving(folder: Path) -> Iterator[tuple[str, Path, Path]]:
    """``impostor station`` on a free loopback port with its files in ``folder``: (address, audit
    log, scanner folder)."""
    scans, audit = folder / "scans", folder / "audit.sqlite"
    scans.mkdir()
    Accounts(folder / "station.sqlite").add_operator(OPERATOR, PIN)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    arguments = ["station", "--port", str(port), "--db", str(folder / "station.sqlite")]
    arguments += ["--audit-db", str(audit), "--scanner-dir", str(scans), "--name", "lim-t1-07"]
    with command(arguments, f"{url}/api/v1/health"):
        yield url, audit, scans


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    with serving(tmp_path_factory.mktemp("station")) as found:
        yield found


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folders = [tmp_path_factory.mktemp("screens")]
    if os.environ.get("IMPOSTOR_SCREENSHOTS"):
        folders.append(Path(os.environ["IMPOSTOR_SCREENSHOTS"]))
        folders[-1].mkdir(parents=True, exist_ok=True)
    return folders


@contextmanager
def camera(chromium: Path, clip: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            args=[*_CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={clip}"],
        )
        try:
            yield browser
        finally:
            browser.close()


# every instruction the guidance shows, in order, for the test to read afterwards
_RECORD_INSTRUCTIONS = """
window.shownInstructions = [];
document.addEventListener("DOMContentLoaded", () => {
  const guidance = document.querySelector('[data-testid="guidance"]');
  new MutationObserver(() => {
    const shown = guidance.dataset.instruction;
    if (shown && shown !== window.shownInstructions.at(-1)) window.shownInstructions.push(shown);
  }).observe(guidance, { attributes: true, attributeFilter: ["data-instruction"] });
});
"""


def open_page(browser: Browser, url: str, locale: str) -> Page:
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale=locale, permissions=["camera"]
    )
    context.add_init_script(_RECORD_INSTRUCTIONS)
    page = context.new_page()
    page.set_default_timeout(SLOW)
    page.goto(url)
    expect(page.get_by_test_id("screen-signin")).to_be_visible()
    return page


def screenshot(page: Page, shots: list[Path], name: str) -> None:
    for folder in shots:
        page.screenshot(path=str(folder / f"station-{name}.png"), full_page=True)


def sign_in_by_keyboard(page: Page) -> None:
    expect(page.get_by_test_id("operator-id")).to_be_focused()
    page.keyboard.type(OPERATOR)
    page.keyboard.press("Tab")
    page.keyboard.type(PIN)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("screen-counter")).to_be_visible()


def scan(scans: Path, source: Path, name: str) -> None:
    """The passport scanner drops a new image into its folder."""
    shutil.copy(source, scans / name)


def text(language: str, key: str) -> str:
    return CATALOGUES.catalogue(language)[key]


def last_record(audit: Path) -> tuple[str, str, list[tuple[str, str]]]:
    with AuditLog(audit) as log:
        record = list(log.records())[-1]
        assert log.verify().ok
        return record.decision, record.operator, [(e.kind, e.value) for e in log.events(record.seq)]


def test_a_match_in_spanish_by_keyboard_alone(
    chromium: Path,
    clips: dict[str, Path],
    station: tuple[str, Path, Path],
    faces_dev: Path,
    shots: list[Path],
) -> None:
    url, audit, scans = station
    with camera(chromium, clips["A"]) as browser:
        page = open_page(browser, url, "es-PE")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        screenshot(page, shots, "1-signin")
        sign_in_by_keyboard(page)
        scan(scans, faces_dev / DOCUMENT_A, "pasaporte-0001.jpg")
        page.keyboard.press("d")  # the newest scan
        expect(page.get_by_test_id("document-face")).to_have_attribute("src", FACE["document"])
        screenshot(page, shots, "2-document")
        # the camera's frames pass every live gate: the photo is taken without a key
        result = page.get_by_test_id("result")
        expect(result).to_have_attribute("data-decision", "MATCH")
        expect(page.get_by_test_id("result-decision")).to_have_text(text("es", "decision.match"))
        expect(page.get_by_test_id("live-face")).to_have_attribute("src", FACE["live"])
        # a face was in view from the first frame: the guidance never asked for one
        assert "face_camera" not in page.evaluate("window.shownInstructions")
        screenshot(page, shots, "3-match")
        assert last_record(audit) == ("MATCH", OPERATOR, [])

        page.keyboard.press("a")  # admitted
        expect(page.get_by_test_id("outcome-recorded")).to_be_visible()
        assert last_record(audit) == ("MATCH", OPERATOR, [("outcome", "admitted")])
        screenshot(page, shots, "4-outcome")

        page.keyboard.press("n")  # the next traveller: nothing of this one stays
        expect(result).to_have_attribute("data-decision", "")
        for face in ("document-face", "live-face"):
            assert not page.get_by_test_id(face).get_attribute("src")
        stored = page.evaluate("() => Object.keys(localStorage).concat(Object.keys(sessionStorage))")
        assert stored == ["impostor.station.language"] or stored == []
        assert httpx.get(f"{url}/counter/faces/document").status_code == 401  # no cookie, no face
        screenshot(page, shots, "5-next")


def test_a_stranger_gives_no_match(
    chromium: Path,
    clips: dict[str, Path],
    station: tuple[str, Path, Path],
    faces_dev: Path,
    shots: list[Path],
) -> None:
    url, audit, _ = station
    with camera(chromium, clips["B"]) as browser:
        page = open_page(browser, url, "en-GB")
        page.get_by_test_id("operator-id").fill(OPERATOR)
        page.get_by_test_id("pin").fill(PIN)
        page.get_by_test_id("signin").click()
        expect(page.get_by_test_id("document-file")).to_be_enabled()
        page.get_by_test_id("document-file").set_input_files(str(faces_dev / DOCUMENT_A))
        expect(page.get_by_test_id("result")).to_have_attribute("data-decision", "NO_MATCH")
        expect(page.get_by_test_id("result-decision")).to_have_text(text("en", "decision.no_match"))
        screenshot(page, shots, "6-no-match")
        page.get_by_test_id("outcome-secondary").click()
        expect(page.get_by_test_id("outcome-recorded")).to_be_visible()
        assert last_record(audit) == ("NO_MATCH", OPERATOR, [("outcome", "secondary")])
        page.get_by_test_id("signout").click()  # signing out clears the screen
        expect(page.get_by_test_id("screen-signin")).to_be_visible()
        expect(page.get_by_test_id("result")).to_have_attribute("data-decision", "")
        assert not page.get_by_test_id("document-face").get_attribute("src")


def test_no_one_at_the_camera_asks_to_face_it_then_refers(
    chromium: Path,
    clips: dict[str, Path],
    station: tuple[str, Path, Path],
    faces_dev: Path,
    shots: list[Path],
) -> None:
    url, audit, scans = station
    with camera(chromium, clips["empty"]) as browser:
        page = open_page(browser, url, "es-PE")
        sign_in_by_keyboard(page)
        scan(scans, faces_dev / DOCUMENT_A, "pasaporte-0002.jpg")
        page.keyboard.press("d")
        guidance = page.get_by_test_id("guidance")
        expect(guidance).to_have_attribute("data-instruction", "face_camera")
        expect(guidance).to_have_text(text("es", "guide.face_camera"))
        screenshot(page, shots, "7-guidance")
        page.keyboard.press(" ")  # the officer takes the photo anyway
        expect(page.get_by_test_id("result")).to_have_attribute("data-decision", "REFER")
        expect(page.get_by_test_id("reasons")).to_contain_text(text("es", "reason.live_no_face"))
        # the photo alone is at fault: the banner asks for another, it does not send the traveller away
        expect(page.get_by_test_id("result-decision")).to_have_text(text("es", "decision.retake"))
        screenshot(page, shots, "8-refer")
        page.keyboard.press("r")  # photo retaken: recorded, and the camera starts again
        expect(guidance).to_have_attribute("data-instruction", "face_camera")
        assert last_record(audit) == ("REFER", OPERATOR, [("outcome", "retaken")])


def test_a_data_page_shows_what_was_read_beside_the_face(
    chromium: Path,
    clips: dict[str, Path],
    station: tuple[str, Path, Path],
    data_dir: Path,
    shots: list[Path],
) -> None:
    url, audit, scans = station
    page_scan = data_dir / "documents" / "images" / "td3_nld_meulendijk.jpg"
    with camera(chromium, clips["B"]) as browser:
        page = open_page(browser, url, "es-PE")
        sign_in_by_keyboard(page)
        scan(scans, page_scan, "pagina-de-datos.jpg")
        page.keyboard.press("d")
        reading = page.get_by_test_id("document-reading")
        expect(reading).to_be_visible()
        expect(reading).to_contain_text(text("es", "reading.kind.page"))
        expect(reading).to_contain_text("MEULENDIJK, LOES ALBERTINE")
        expect(reading).to_contain_text(text("es", "reading.checks_ok"))
        expired = page.get_by_test_id("reading-findings").locator(".finding-alert")
        expect(expired).to_contain_text(text("es", "finding.document_expired").split("{")[0].strip())
        expect(expired).to_contain_text("2006")  # 12 abr. 2006, as es-PE writes it
        screenshot(page, shots, "9-data-page-read")
        # another traveller at the camera: the verdict says once that the document needs examining
        expect(page.get_by_test_id("result")).not_to_have_attribute("data-decision", "")
        reasons = page.get_by_test_id("reasons")
        expect(reasons.locator(".finding-alert")).to_contain_text("2006")  # the expiry leads the reasons
        screenshot(page, shots, "10-data-page-verdict")
    with AuditLog(audit) as log:
        record = list(log.records())[-1]
        assert record.document_ref == log.document_ref("NLD", "XA0000014")


# a counter screen and a laptop's: everything the officer needs must fit on them unscrolled
SCREENS = (ViewportSize(width=1366, height=768), ViewportSize(width=1280, height=720))
# the longest document there is to show: the Maltese card's MRZ fails three check digits, its
# name and digits were read with doubt, it expired, and its small blurred face fails two gates
LONGEST = "td1_mlt_spiteri_bad.png"
_OUT_OF_VIEW = """(selectors) => {
  const out = [];
  const page = document.scrollingElement;
  if (page.scrollHeight > window.innerHeight) out.push(`the page scrolls: ${page.scrollHeight} px`);
  if (page.scrollWidth > window.innerWidth) out.push(`the page scrolls sideways: ${page.scrollWidth} px`);
  for (const selector of selectors) {
    const found = [...document.querySelectorAll(selector)];
    if (!found.length) out.push(`${selector}: missing`);
    for (const node of found) {
      const box = node.getBoundingClientRect();
      const name = `${selector} ${JSON.stringify(node.textContent.trim().slice(0, 30))}`;
      if (!box.width || !box.height) out.push(`${name}: not shown`);
      else if (box.bottom > window.innerHeight + 0.5 || box.right > window.innerWidth + 0.5 || box.top < 0)
        out.push(`${name}: at ${Math.round(box.top)}-${Math.round(box.bottom)} px`);
    }
  }
  return out;
}"""
ON_THE_DOCUMENT_SCREEN = [
    "#document-face",
    "#document-verdict",
    "#document-reasons li",
    "#reading-kind",
    "#reading-holder",
    "#reading-number",
    "#reading-dates",
    "#reading-checks",
    "#reading-findings li",
    "#video",
    "#guidance",
    "#shoot",
    "#live-file-label",
    "#document-file + label",
    "#next",
]
ON_THE_VERDICT_SCREEN = [
    "#result-decision",
    "#result-probability",
    "#result-record",
    "#document-face",
    "#live-face",
    "#reasons li",
    *(f"#outcome-{outcome}" for outcome in ("admitted", "secondary", "retaken", "other")),
    "#outcome-note",
    "#outcome-save",
    "#zoom",
    "#next",
]


def out_of_view(page: Page, selectors: list[str], shots: list[Path], name: str) -> list[str]:
    """What of ``selectors`` is not wholly on screen, in each language at each screen size
    (a screenshot of each goes to ``shots``)."""
    found = []
    for language in LANGUAGES:
        page.get_by_test_id(f"language-{language}").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
        for size in SCREENS:
            page.set_viewport_size(size)
            page.wait_for_timeout(100)  # a layout pass and the camera's overlay redrawn
            where = f"{language} {size['width']}x{size['height']}"
            found += [f"{where}: {problem}" for problem in page.evaluate(_OUT_OF_VIEW, selectors)]
            screenshot(page, shots, f"fit-{name}-{language}-{size['width']}x{size['height']}")
    return found


def test_everything_for_the_decision_fits_the_screen_unscrolled(
    chromium: Path,
    clips: dict[str, Path],
    station: tuple[str, Path, Path],
    data_dir: Path,
    shots: list[Path],
) -> None:
    url, _, _ = station
    with camera(chromium, clips["empty"]) as browser:
        page = open_page(browser, url, "es-PE")
        sign_in_by_keyboard(page)
        page.get_by_test_id("document-file").set_input_files(str(data_dir / "documents" / "images" / LONGEST))
        expect(page.get_by_test_id("document-reading")).to_be_visible()
        expect(page.get_by_test_id("reading-findings").locator(".finding-alert").first).to_be_visible()
        assert out_of_view(page, ON_THE_DOCUMENT_SCREEN, shots, "document") == []
        page.keyboard.press(" ")  # no one at the camera: the longest list of reasons
        expect(page.get_by_test_id("result")).to_have_attribute("data-decision", "REFER")
        assert out_of_view(page, ON_THE_VERDICT_SCREEN, shots, "verdict") == []
        page.keyboard.press("z")  # the faces alone, enlarged inside their frames; the way back on screen
        frames = [".document-area .frame", "#live-figure .frame", "#zoom", "#next"]
        assert out_of_view(page, frames, shots, "zoomed") == []
