"""The officers' page holds to its catalogues: the same keys and placeholders in Spanish and
English, every key the page uses, a message for every reason, instruction and error the server
can send, Peruvian usted, and nothing that a strict Content-Security-Policy would block."""

from __future__ import annotations

import json
import re

import pytest

from impostor.document.findings import CODES as FINDING_CODES
from impostor.document.findings import FIELD_NAMES
from impostor.i18n import SCHEMA, placeholders
from impostor.records.audit import EVENT_KINDS
from impostor.stages.quality import MEASURES
from impostor.station.counter import CATALOGUES, LOCALES
from impostor.station.guidance import INSTRUCTIONS
from impostor.station.service import STATUS
from tests.pages import Page, parse_page, script_keys, script_without_comments

STATIC = LOCALES.parent / "static"
INDEX, APP, STYLE = STATIC / "index.html", STATIC / "app.js", STATIC / "style.css"
# the web kit's script and style, which the page loads first (the catalogue, the language buttons)
KIT = LOCALES.parent.parent / "web" / "static"
KIT_SCRIPT, KIT_STYLE = KIT / "kit.js", KIT / "kit.css"
LANGUAGES = CATALOGUES.languages

REASONS = (
    "document_no_face",
    "live_no_face",
    "document_rotated",
    "live_rotated",
    "live_multiple_faces",
    "document_damaged",
    "live_damaged",
    "different_person",
    "inconclusive",
    "profile_weak",
    "document_examine",
    *(f"{side}_{spec.name}" for side in ("document", "live") for spec in MEASURES),
)
ERRORS = (
    *{code for _, code in STATUS.values()},
    "station_unavailable",
    "signed_out",
    "session_expired",
    "wrong_pin",
    "locked",
    "rate_limited",
    "too_slow",
    "no_document",
    "no_scan",
    "no_scanner",
    # the chip on the station's reader
    "no_chip_reader",
    "chip_no_reader",
    "chip_no_card",
    "chip_card_removed",
    "chip_timeout",
    "chip_access_denied",
    "chip_typed_refused",
    "chip_no_keys",
    "chip_unreadable",
    "chip_fields",
    "chip_reading",
    "chip_too_late",
    "reader_busy",
    "no_verdict",
    "already_judged",
    "note_required",
    "cross_origin",
    "not_found",
    "bad_request",
    "network",
    "camera_denied",
    "camera_missing",
    "server",
)
DYNAMIC_PREFIXES: dict[str, tuple[str, ...]] = {
    "error.": ERRORS,
    "guide.": INSTRUCTIONS,
    "reason.": REASONS,
    "decision.": ("match", "no_match", "refer"),
    "judgement.": EVENT_KINDS["judgement"],
    "outcome.": EVENT_KINDS["outcome"],
    "language.": LANGUAGES,
    "finding.": FINDING_CODES,
    "reading.kind.": ("page", "chip"),
    "reading.step.": ("hashes", "signature", "chain"),
    "reading.status.": ("passed", "failed", "not_done"),
    "mrz_field.": tuple(FIELD_NAMES),
    "mrz_role.": ("issuing_state", "nationality"),
}
TEST_IDS = {
    "chip-read",
    "chip-status",
    "chip-face",
    "chip-form",
    "operator-id",
    "pin",
    "signin",
    "signout",
    "alert",
    "screen-signin",
    "screen-counter",
    "document-file",
    "document-scanner",
    "document-face",
    "guidance",
    "video",
    "shoot",
    "live-file",
    "live-face",
    "result",
    "result-decision",
    "result-probability",
    "reasons",
    "judgement-same",
    "outcome-admitted",
    "outcome-other",
    "outcome-note",
    "outcome-recorded",
    "next",
    "zoom",
}


def _messages(language: str) -> dict[str, str]:
    return dict(CATALOGUES.catalogue(language))


@pytest.fixture(scope="module")
def page() -> Page:
    return parse_page(INDEX)


def test_the_catalogues_are_the_files_and_agree() -> None:
    assert {path.stem for path in LOCALES.glob("*.json")} == set(LANGUAGES)
    english = _messages("en")
    for language in LANGUAGES:
        document = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
        assert (document["schema"], document["language"]) == (SCHEMA, language)
        messages = _messages(language)
        assert messages.keys() == english.keys(), language
        for key, text in messages.items():
            assert text.strip() and re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", key), (language, key)
            assert placeholders(text) == placeholders(english[key]), (language, key)


def test_spanish_addresses_the_officer_as_usted() -> None:
    informal = re.compile(r"\b(tú|tu|tus|ti|contigo|eres|puedes|tienes|mira|acércate|toma)\b", re.IGNORECASE)
    assert not {key: text for key, text in _messages("es").items() if informal.search(text)}


def test_every_key_the_page_uses_exists(page: Page) -> None:
    literal, prefixes, indirect = script_keys(APP)
    kit_literal, kit_prefixes, kit_indirect = script_keys(KIT_SCRIPT)
    literal, prefixes, indirect = literal | kit_literal, prefixes | kit_prefixes, indirect | kit_indirect
    assert indirect <= {"node.dataset.i18n", "attributeKey"}, indirect
    assert prefixes <= DYNAMIC_PREFIXES.keys(), prefixes - DYNAMIC_PREFIXES.keys()
    built = {prefix + suffix for prefix, suffixes in DYNAMIC_PREFIXES.items() for suffix in suffixes}
    for language in LANGUAGES:
        assert not (page.keys | literal | built) - _messages(language).keys(), language


def test_the_page_has_no_text_of_its_own_and_carries_the_test_ids(page: Page) -> None:
    assert not page.stray_text and not page.literal_attributes and not page.i18n_with_children
    assert not TEST_IDS - page.test_ids


def test_nothing_a_strict_policy_blocks_and_nothing_from_outside() -> None:
    html = INDEX.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html) and "<style" not in html, "inline style"
    for path in (INDEX, APP, STYLE, KIT_SCRIPT, KIT_STYLE):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", text), path.name
        assert "@import" not in text and "@font-face" not in text, path.name
    script, kit = script_without_comments(APP), script_without_comments(KIT_SCRIPT)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script + kit, sink
    # nothing of a traveller in the browser's storage: only the language choice, which the kit
    # saves under the key the page gives it
    stored = r"(localStorage|sessionStorage)\.setItem\(\s*(\w+)"
    assert re.findall(stored, script) == [] and re.findall(stored, kit) == [("localStorage", "storageKey")]
    assert "storageKey: STORAGE_KEY" in script


def test_language_names_are_written_in_their_own_language() -> None:
    for language in LANGUAGES:
        assert {code: _messages(language)[f"language.{code}"] for code in LANGUAGES} == {
            "en": "English",
            "es": "Español",
        }


def test_the_decision_words_differ_by_more_than_colour() -> None:
    for language in LANGUAGES:
        words = {_messages(language)[f"decision.{d}"] for d in ("match", "no_match", "refer")}
        assert len(words) == 3, language


def test_each_mrz_field_brings_its_own_article() -> None:
    # "incorrecto en el fecha de nacimiento": the article agrees with the field, so it is the field's
    articles = {"es": ("el ", "la ", "los ", "las "), "en": ("the ",)}
    for language in LANGUAGES:
        messages = _messages(language)
        for name in FIELD_NAMES:
            field = messages[f"mrz_field.{name}"]
            assert field.startswith(articles[language]), (language, name, field)
            said = CATALOGUES.translate(language, "finding.mrz_check_digit", field=field)
            assert not re.search(r"\b(el|la|los|las|the) (el|la|los|las|the)\b", said), said
        assert "el fecha" not in " ".join(messages.values()) and "el datos" not in " ".join(messages.values())


def test_a_count_is_written_in_both_forms() -> None:
    # "{count} carácter(es)": a message with a count has its singular form beside it
    for language in LANGUAGES:
        messages = _messages(language)
        assert not {key: text for key, text in messages.items() if re.search(r"\w\((s|es)\)", text)}, language
        for key, text in messages.items():
            if "count" in placeholders(text) and not key.endswith(".one"):
                assert f"{key}.one" in messages, (language, key)


def test_a_photo_to_take_again_is_not_worded_as_a_referral() -> None:
    # REFER sends the traveller to secondary inspection; a photo to take again sends no one
    for language in LANGUAGES:
        messages = _messages(language)
        assert messages["decision.retake"] not in {
            messages[f"decision.{d}"] for d in ("match", "no_match", "refer")
        }
