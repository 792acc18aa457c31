"""A trainee's whole session in real headless Chromium against ``impostor practice serve``.

The server is the command a trainer runs, in its own process; the browser is Debian's
Chromium driven by Playwright (its own browser download is never used). Screenshots of every
screen, desktop and phone, Spanish and English, go to the test's folder (and to
``IMPOSTOR_SCREENSHOTS`` when set, for review and the README).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from impostor.practice.build import build_set
from impostor.practice.classroom import Classroom
from impostor.practice.scoring import score_trials
from impostor.practice.sets import PracticeSet
from impostor.practice.store import PracticeStore
from impostor.qa.cache import EmbeddingCache
from tests.servers import command, free_port

# the machine's network is closed: without these Chromium keeps dialling Google's services
_CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def ten(
    faces_dev: Path, embedding_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PracticeSet, Path]:
    folder = tmp_path_factory.mktemp("set")
    out = folder / "ten.json"
    cache = EmbeddingCache(embedding_cache)
    return build_set(faces_dev, out, items=10, seed=11, cache=cache, progress=False, workers=1), out


def _serve(set_file: Path, db: Path, mode: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    arguments = ["practice", "serve", str(set_file), "--port", str(port), "--db", str(db), "--mode", mode]
    with command(arguments, f"{url}/api/set"):
        yield url


@pytest.fixture
def practice_url(ten: tuple[PracticeSet, Path], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "practice.db"
    for url in _serve(ten[1], db, "practice"):
        yield url, db


@pytest.fixture
def test_url(ten: tuple[PracticeSet, Path], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "test.db"
    for url in _serve(ten[1], db, "test"):
        yield url, db


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=_CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _answer(page: Page, position: int, *, feedback: bool) -> None:
    """Answer the item on screen: "same" on every third, confidence cycling 1-5."""
    for side in ("item-left", "item-right"):
        expect(page.get_by_test_id(side)).to_have_js_property("complete", True, timeout=30_000)
    page.get_by_test_id("answer-same" if position % 3 == 0 else "answer-different").click()
    page.get_by_test_id(f"confidence-{1 + position % 5}").click()
    page.get_by_test_id("confirm").click()
    if feedback:
        expect(page.get_by_test_id("feedback")).to_be_visible()
        page.get_by_test_id("next").click()


def _shown(page: Page, test_id: str) -> float:
    return float(page.get_by_test_id(test_id).get_attribute("data-value") or "nan")


def _check_score_against_database(page: Page, db: Path) -> None:
    """The result screen's figures are those computed from the answers in the database."""
    expect(page.get_by_test_id("result")).to_be_visible()
    store = PracticeStore(db)
    (session,) = store.sessions()
    answers = store.answers(session.id)
    assert len(answers) == 10 and session.finished is not None
    score = score_trials([a.trial() for a in answers]).trainee
    assert _shown(page, "score-accuracy") == pytest.approx(score.accuracy)
    assert f"{score.accuracy:.0%}".rstrip("%") in page.get_by_test_id("score-accuracy").inner_text()
    assert _shown(page, "score-hit-rate") == pytest.approx(score.hit_rate)
    assert _shown(page, "score-false-accept-rate") == pytest.approx(score.false_accept_rate)
    assert _shown(page, "score-d-prime") == pytest.approx(score.d_prime)
    assert _shown(page, "score-criterion") == pytest.approx(score.criterion)


def test_a_trainee_signs_in_answers_ten_items_and_sees_the_score_the_database_gives(
    browser: Browser, practice_url: tuple[str, Path]
) -> None:
    url, db = practice_url
    page = browser.new_page(locale="en-GB")
    page.goto(url)
    page.get_by_test_id("trainee-id").fill("OFC-0042")
    page.get_by_test_id("start").click()
    for position in range(10):
        _answer(page, position, feedback=True)
    _check_score_against_database(page, db)
    # each pair is there again, small, beside its answer: both pictures load
    thumbs = page.locator('[data-testid="review-0"] img')
    assert thumbs.count() == 2
    for k in range(2):
        thumbs.nth(k).scroll_into_view_if_needed()
        expect(thumbs.nth(k)).to_have_js_property("complete", True)
        assert thumbs.nth(k).evaluate("(image) => image.naturalWidth") > 0
    _screenshot(page, "practice-result-en-desktop")
    page.close()


def test_spanish_follows_the_browser_switches_and_a_reload_resumes_the_test(
    browser: Browser, test_url: tuple[str, Path]
) -> None:
    url, db = test_url
    page = browser.new_page(locale="es-PE")
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    spanish_start = page.get_by_test_id("start").inner_text()
    page.get_by_test_id("language-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.get_by_test_id("start").inner_text() != spanish_start
    page.get_by_test_id("language-es").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_test_id("trainee-id").fill("OFC-0099")
    page.get_by_test_id("start").click()
    for position in range(4):
        _answer(page, position, feedback=False)
        expect(page.get_by_test_id("feedback")).to_be_hidden()  # test mode: nothing until the end
    page.reload()  # the browser is closed mid-test; the trainee signs in again
    page.get_by_test_id("trainee-id").fill("OFC-0099")
    page.get_by_test_id("start").click()
    expect(page.get_by_test_id("resumed")).to_be_visible()
    for position in range(4, 10):
        _answer(page, position, feedback=False)
    _check_score_against_database(page, db)
    # a test keeps its answer key: the score, no pair-by-pair truth
    expect(page.get_by_test_id("review-withheld")).to_be_visible()
    expect(page.get_by_test_id("review")).to_be_hidden()
    assert "review-0" not in page.content()
    page.close()


def _eye_distance_on_screen(page: Page, test_id: str) -> float | None:
    """The distance between the eyes of the face shown in ``test_id``, in screen pixels: the
    image's part of a screenshot, read by the pipeline's own landmarks (None: no face there)."""
    from impostor.pipeline.verifier import Verifier

    box = page.get_by_test_id(test_id).bounding_box()
    assert box is not None
    located = Verifier().locate(page.screenshot(clip=box), test_id)
    return None if located.landmarks is None else float(located.landmarks.inter_eye_distance)


def test_both_faces_at_one_scale_enter_on_a_focused_answer_and_the_whole_photos(
    browser: Browser, practice_url: tuple[str, Path]
) -> None:
    url, _ = practice_url
    page = browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.get_by_test_id("trainee-id").fill("OFC-0043")
    page.get_by_test_id("start").click()
    # on every pair whose two faces can be read back from the screen, the eyes are as far apart
    measured = []
    for position in range(10):
        expect(page.locator("#item-progress")).to_contain_text(str(position + 1))
        for side in ("item-left", "item-right"):
            expect(page.get_by_test_id(side)).to_have_js_property("complete", True, timeout=30_000)
        expect(page.locator("#photos")).not_to_have_class(re.compile("is-loading"), timeout=30_000)
        left, right = _eye_distance_on_screen(page, "item-left"), _eye_distance_on_screen(page, "item-right")
        if left is not None and right is not None:
            assert abs(left - right) <= 0.1 * max(left, right), (position, left, right)
            measured.append(position)
        if len(measured) == 3:
            break
        _answer(page, position, feedback=True)
    assert len(measured) == 3, measured
    assert page.get_by_test_id("item-left-caption").inner_text() in ("Document portrait", "First photo")
    _screenshot(page, "practice-item-one-scale")
    # Enter on a focused answer selects that answer; it does not confirm
    page.get_by_test_id("answer-different").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("answer-different")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("feedback")).to_be_hidden()
    # Z shows both whole photos, and back
    page.locator("#item-progress").focus()
    page.keyboard.press("z")
    expect(page.get_by_test_id("item-left")).to_have_attribute("src", re.compile(r"view=full$"))
    expect(page.get_by_test_id("zoom")).to_have_attribute("aria-pressed", "true")
    for side in ("item-left", "item-right"):
        expect(page.get_by_test_id(side)).to_have_js_property("complete", True, timeout=30_000)
    _screenshot(page, "practice-item-whole")
    page.get_by_test_id("zoom").click()
    expect(page.get_by_test_id("item-left")).not_to_have_attribute("src", re.compile(r"view=full$"))
    page.close()


_SHOTS: list[Path] = []  # where screenshots go: set once per module by ``shots``


@pytest.fixture(scope="module", autouse=True)
def shots(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    import os

    _SHOTS[:] = [tmp_path_factory.mktemp("screens")]
    if os.environ.get("IMPOSTOR_SCREENSHOTS"):
        _SHOTS.append(Path(os.environ["IMPOSTOR_SCREENSHOTS"]))
        _SHOTS[-1].mkdir(parents=True, exist_ok=True)
    return _SHOTS


def _screenshot(page: Page, name: str) -> None:
    """The whole page, saved for review (see the module's text)."""
    shot = page.screenshot(full_page=True)
    for folder in _SHOTS:
        (folder / f"{name}.png").write_bytes(shot)


def test_a_phone_fits_every_screen_without_sideways_scrolling(
    browser: Browser, practice_url: tuple[str, Path]
) -> None:
    url, _ = practice_url
    context = browser.new_context(
        locale="es-PE", viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.goto(url)
    _fits(page, "practice-phone-signin")
    page.get_by_test_id("trainee-id").fill("Ñuñez-Peña")  # letters, as the page says
    page.get_by_test_id("start").click()
    for side in ("item-left", "item-right"):
        expect(page.get_by_test_id(side)).to_have_js_property("complete", True, timeout=30_000)
    _fits(page, "practice-phone-item")
    confirm = page.get_by_test_id("confirm")
    assert page.evaluate("() => window.scrollY") == 0
    expect(confirm).to_be_in_viewport()  # Confirm is on the first screen, without scrolling
    expect(page.locator("kbd").first).to_be_hidden()  # no key hints on a touch screen
    page.get_by_test_id("answer-same").click()
    page.get_by_test_id("confidence-3").click()
    confirm.click()
    expect(page.get_by_test_id("feedback")).to_be_visible()
    _fits(page, "practice-phone-feedback")
    page.get_by_test_id("next").click()
    for position in range(1, 10):
        _answer(page, position, feedback=True)
    expect(page.get_by_test_id("result")).to_be_visible()
    # Peru writes a decimal point and a space before the percent sign: 89.3 %, +0.25
    expect(page.get_by_test_id("score-accuracy")).to_have_text(re.compile(r"^\d{1,3}(\.\d)? %$"))
    expect(page.get_by_test_id("score-criterion")).to_have_text(re.compile(r"^[+−-]?\d+\.\d\d$|^0$"))
    # the false-accept rate over a handful of pairs carries its interval
    expect(page.get_by_test_id("score-false-accept-interval")).to_contain_text("95 %")
    _fits(page, "practice-phone-result")
    context.close()


def _fits(page: Page, name: str) -> None:
    """No element is wider than the screen, and the page does not scroll sideways."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    _screenshot(page, name)
    wide = page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
              .filter((node) => node.getClientRects().length)
              .filter((node) => node.getBoundingClientRect().right > width + 0.5)
              .map((node) => node.id || node.dataset.testid || node.tagName)""",
        width,
    )
    assert not wide, (name, wide)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


def test_the_trainer_signs_in_with_the_pin_and_watches_a_coded_trainee_answer(
    browser: Browser, ten: tuple[PracticeSet, Path], tmp_path: Path
) -> None:
    db = tmp_path / "class.db"
    classroom = Classroom(PracticeStore(db))
    codes = classroom.add(["OFC-0050", "OFC-0051"], "LIM-2026-12")
    classroom.set_pin("482913")
    for url in _serve(ten[1], db, "test"):
        trainer = browser.new_page(locale="es-PE", viewport={"width": 1366, "height": 768})
        trainer.goto(url)
        trainer.get_by_test_id("to-trainer").click()
        trainer.get_by_test_id("trainer-pin").fill("000000")
        trainer.get_by_test_id("trainer-sign-in").click()
        expect(trainer.get_by_test_id("alert")).to_contain_text("PIN")
        trainer.get_by_test_id("trainer-pin").fill("482913")
        trainer.get_by_test_id("trainer-sign-in").click()
        expect(trainer.get_by_test_id("live")).to_be_visible()
        expect(trainer.get_by_test_id("live-OFC-0050")).to_have_attribute("data-state", "absent")
        expect(trainer.get_by_test_id("live-count-absent")).to_contain_text("2")

        trainee = browser.new_page(locale="es-PE")
        trainee.goto(url)
        expect(trainee.get_by_test_id("trainee-code")).to_be_visible()
        trainee.get_by_test_id("trainee-id").fill("OFC-0050")
        trainee.get_by_test_id("trainee-code").fill(codes["OFC-0051"])  # a classmate's code
        trainee.get_by_test_id("start").click()
        expect(trainee.get_by_test_id("alert")).to_contain_text("clave de acceso")
        trainee.get_by_test_id("trainee-code").fill(codes["OFC-0050"].lower())
        trainee.get_by_test_id("start").click()
        for position in range(2):
            _answer(trainee, position, feedback=False)

        # the live view refreshes by itself: the trainee is answering, two pairs in
        row = trainer.get_by_test_id("live-OFC-0050")
        expect(row).to_have_attribute("data-state", "answering", timeout=15_000)
        expect(row).to_contain_text("2 de 10")
        expect(trainer.get_by_test_id("live-count-answering")).to_contain_text("1")
        _screenshot(trainer, "practice-live-es-desktop")
        for position in range(2, 10):
            _answer(trainee, position, feedback=False)
        expect(trainee.get_by_test_id("result")).to_be_visible()
        expect(row).to_have_attribute("data-state", "finished", timeout=15_000)
        store = PracticeStore(db)
        (session,) = store.sessions()
        accuracy = sum(a.correct for a in store.answers(session.id)) / 10
        expect(row).to_contain_text(f"{accuracy * 100:.0f} %")
        trainer.get_by_test_id("live-sign-out").click()
        expect(trainer.get_by_test_id("trainee-id")).to_be_visible()
        trainee.close()
        trainer.close()


@pytest.fixture(scope="module")
def two(faces_dev: Path, embedding_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("two") / "two.json"
    cache = EmbeddingCache(embedding_cache)
    build_set(faces_dev, out, items=2, seed=2, cache=cache, progress=False, workers=1)
    return out


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_screen_in_both_languages_on_a_desktop_and_a_phone(
    browser: Browser, two: Path, tmp_path: Path, language: str
) -> None:
    db = tmp_path / "tour.db"
    classroom = Classroom(PracticeStore(db))
    codes = classroom.add(["OFC-0060", "OFC-0061"], "LIM-2026-12")
    classroom.set_pin("482913")
    sizes = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 360, "height": 740}}
    for url in _serve(two, db, "practice"):
        for size, viewport in sizes.items():
            phone = size == "phone"
            context = browser.new_context(
                locale="es-PE" if language == "es" else "en-GB",
                viewport=viewport,
                has_touch=phone,
                is_mobile=phone,
            )
            page = context.new_page()
            page.goto(url)
            expect(page.locator("html")).to_have_attribute("lang", language)
            expect(page.get_by_test_id("trainee-code")).to_be_visible()

            def shot(screen: str, page: Page = page, size: str = size) -> None:
                name = f"practice-{screen}-{language}-{size}"
                if size == "phone":
                    _fits(page, name)
                else:
                    _screenshot(page, name)

            shot("signin")
            trainee = "OFC-0060" if phone else "OFC-0061"
            page.get_by_test_id("trainee-id").fill(trainee)
            page.get_by_test_id("trainee-code").fill(codes[trainee])
            page.get_by_test_id("start").click()
            for side in ("item-left", "item-right"):
                expect(page.get_by_test_id(side)).to_have_js_property("complete", True, timeout=30_000)
            shot("item")
            page.get_by_test_id("answer-same").click()
            page.get_by_test_id("confidence-4").click()
            page.get_by_test_id("confirm").click()
            expect(page.get_by_test_id("feedback")).to_be_visible()
            shot("feedback")
            page.get_by_test_id("next").click()
            _answer(page, 1, feedback=True)
            expect(page.get_by_test_id("result")).to_be_visible()
            shot("result")
            page.get_by_test_id("again").click()
            page.get_by_test_id("to-trainer").click()
            shot("trainer")
            page.get_by_test_id("trainer-pin").fill("482913")
            page.get_by_test_id("trainer-sign-in").click()
            expect(page.get_by_test_id(f"live-{trainee}")).to_have_attribute("data-state", "finished")
            shot("live")
            context.close()


_FOCUSED = "() => document.activeElement?.closest('[data-testid]')?.dataset.testid"


def _tab_to(page: Page, test_id: str) -> None:
    """Press Tab until the element ``test_id`` (or a child of it) has the focus (at most a
    whole round of the page's controls, wherever the focus starts)."""
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate(_FOCUSED) == test_id:
            return
    raise AssertionError(f"Tab never reached {test_id}")


def test_the_whole_flow_works_with_the_tab_key_alone(browser: Browser, two: Path, tmp_path: Path) -> None:
    for url in _serve(two, tmp_path / "keys.db", "practice"):
        page = browser.new_page(locale="en-GB")
        page.goto(url)
        expect(page.get_by_test_id("trainee-id")).to_be_focused()
        page.keyboard.type("OFC-0070")
        page.keyboard.press("Enter")

        for position in range(2):
            expect(page.locator("#item-progress")).to_contain_text(str(position + 1))
            expect(page.locator("#photos")).not_to_have_class(re.compile("is-loading"), timeout=30_000)
            # the answers open once the pair is shown and no request is on its way: a Tab
            # pressed before then passes over them
            expect(page.get_by_test_id("answer-same")).to_be_enabled()
            _tab_to(page, "answer-same")
            page.keyboard.press("Space")
            expect(page.get_by_test_id("answer-same")).to_have_attribute("aria-pressed", "true")
            _tab_to(page, "confidence-1")
            page.keyboard.press("Space")
            _tab_to(page, "confirm")
            page.keyboard.press("Enter")
            expect(page.get_by_test_id("feedback")).to_be_visible()
            expect(page.get_by_test_id("next")).to_be_focused()
            page.keyboard.press("Enter")
        expect(page.get_by_test_id("result")).to_be_visible()
        page.close()
