"""Catalogues, language negotiation, and the page's promise that every string it shows is a catalogue key.

The page (static/index.html and static/app.js) is read as text here: keys in data-i18n attributes and in
t("...") calls must exist in every catalogue, and index.html must hold no visible text of its own.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest

from impostor.practice import i18n
from impostor.practice.classroom import State
from impostor.practice.scoring import load_norms
from tests.pages import Page, parse_page, script_keys, script_without_comments

STATIC = Path(i18n.__file__).resolve().parent / "static"
INDEX = STATIC / "index.html"
APP = STATIC / "app.js"
STYLE = STATIC / "style.css"
# the web kit's script and style, which the page loads first (the catalogue, the language buttons)
KIT = Path(i18n.__file__).resolve().parent.parent / "web" / "static"
KIT_SCRIPT, KIT_STYLE = KIT / "kit.js", KIT / "kit.css"

# the HTTP contract's error codes, plus the two failures the page detects itself
API_ERROR_CODES = (
    "bad_trainee",
    "bad_position",
    "bad_request",
    "too_large",
    "unknown_session",
    "not_current",
    "already_answered",
    "not_finished",
    "bad_answer",
    "not_found",
    "server",
    "wrong_code",
    "not_assigned",
    "too_many_attempts",
    "wrong_pin",
    "no_trainer_pin",
    "trainer_signed_out",
)
CLIENT_ERROR_CODES = ("network", "image")
MODES = ("practice", "test")
LIVE_STATES = typing.get_args(State)

# app.js builds keys only from these prefixes (documented at its top); each maps to the suffixes it uses
DYNAMIC_PREFIXES: dict[str, tuple[str, ...]] = {
    "error.": API_ERROR_CODES + CLIENT_ERROR_CODES,
    "mode.": MODES,
    "signin.help.": MODES,
    "confidence.": ("1", "2", "3", "4", "5"),
    "norm.": tuple(norm.key for norm in load_norms()),
    "language.": i18n.LANGUAGES,
    "live.state.": LIVE_STATES,
    "live.count.": LIVE_STATES,
    "difficulty.": ("hard", "mixed", "easy", "trainees"),
}
# t() arguments that are not literals: keys read from index.html's data-i18n attributes, checked there
FROM_MARKUP = {"node.dataset.i18n", "attributeKey"}

TEST_IDS = (
    "trainee-id",
    "start",
    "item-left",
    "item-right",
    "answer-same",
    "answer-different",
    "confidence-1",
    "confidence-2",
    "confidence-3",
    "confidence-4",
    "confidence-5",
    "confirm",
    "feedback",
    "next",
    "result",
    "score-accuracy",
    "score-hit-rate",
    "score-false-accept-rate",
    "score-d-prime",
    "score-criterion",
    "alert",
)
# made by app.js when they apply: the verdict only when right, the notice only after a resume
SCRIPTED_TEST_IDS = ("feedback-correct", "resumed")


def _messages(language: str) -> dict[str, str]:
    return dict(i18n.catalogue(language))


@pytest.fixture(scope="module")
def page() -> Page:
    return parse_page(INDEX)


# --- catalogues --------------------------------------------------------------------------------------


def test_languages_are_the_catalogue_files() -> None:
    # <language>.json only: other files in the folder (drafts of keys to merge) are not catalogues
    assert {path.stem for path in i18n.LOCALES.glob("*.json") if "." not in path.stem} == set(i18n.LANGUAGES)
    assert i18n.DEFAULT_LANGUAGE in i18n.LANGUAGES


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_catalogue_file_declares_schema_and_language(language: str) -> None:
    document = json.loads((i18n.LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    assert document["schema"] == i18n.SCHEMA
    assert document["language"] == language
    assert all(text.strip() for text in document["messages"].values())


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    reference = _messages(i18n.DEFAULT_LANGUAGE)
    for language in i18n.LANGUAGES:
        messages = _messages(language)
        assert messages.keys() == reference.keys(), (
            f"{language}: missing {sorted(reference.keys() - messages.keys())}, "
            f"extra {sorted(messages.keys() - reference.keys())}"
        )
        for key, text in messages.items():
            assert i18n.placeholders(text) == i18n.placeholders(reference[key]), (language, key)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_placeholders_are_plain_names_the_page_can_fill(language: str) -> None:
    # app.js fills only {name}; a format spec, index or literal brace would read differently there
    for key, text in _messages(language).items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+", key), key
        rest = re.sub(r"\{[A-Za-z_][A-Za-z0-9_]*\}", "", text)
        assert "{" not in rest and "}" not in rest, (language, key, text)


def test_spanish_addresses_the_officer_as_usted() -> None:
    informal = re.compile(r"\b(tú|tu|tus|ti|contigo|eres|puedes|tienes)\b", re.IGNORECASE)
    found = {key: text for key, text in _messages("es").items() if informal.search(text)}
    assert not found


def test_catalogue_is_read_only_and_refuses_unknown_languages() -> None:
    messages = i18n.catalogue("es")
    with pytest.raises(TypeError):
        messages["item.question"] = "x"  # type: ignore[index]
    with pytest.raises(ValueError, match="'fr'"):
        i18n.catalogue("fr")
    with pytest.raises(ValueError, match="'ES'"):
        i18n.catalogue("ES")


# --- the page uses only catalogue keys -----------------------------------------------------------------


def test_every_key_in_index_html_exists(page: Page) -> None:
    assert page.keys, "index.html has no data-i18n keys"
    for language in i18n.LANGUAGES:
        assert not page.keys - _messages(language).keys(), language


def test_index_html_has_no_visible_text_of_its_own(page: Page) -> None:
    assert not page.stray_text
    assert not page.literal_attributes


def test_data_i18n_elements_have_no_children_to_lose(page: Page) -> None:
    # textContent replaces an element's children, so a translated element must be a leaf
    assert not page.i18n_with_children


def test_every_key_in_app_js_exists() -> None:
    literal, prefixes, indirect = script_keys(APP)
    kit_literal, kit_prefixes, kit_indirect = script_keys(KIT_SCRIPT)
    prefixes, indirect = prefixes | kit_prefixes, indirect | kit_indirect
    assert len(literal) > 30, "app.js looks like it no longer calls t() with literal keys"
    assert indirect <= FROM_MARKUP, f"t() called with keys the test cannot see: {indirect - FROM_MARKUP}"
    assert prefixes <= DYNAMIC_PREFIXES.keys(), (
        f"undocumented key prefixes: {prefixes - DYNAMIC_PREFIXES.keys()}"
    )
    built = {prefix + suffix for prefix in prefixes for suffix in DYNAMIC_PREFIXES[prefix]}
    for language in i18n.LANGUAGES:
        assert not (literal | built) - _messages(language).keys(), language


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_error_code_and_built_key_has_a_message(language: str) -> None:
    messages = _messages(language)
    for prefix, suffixes in DYNAMIC_PREFIXES.items():
        for suffix in suffixes:
            assert prefix + suffix in messages, (language, prefix + suffix)


def test_language_names_are_written_in_their_own_language() -> None:
    # the switcher must read the same whatever language is showing
    names = {language: _messages(language)[f"language.{language}"] for language in i18n.LANGUAGES}
    for language in i18n.LANGUAGES:
        assert {code: _messages(language)[f"language.{code}"] for code in i18n.LANGUAGES} == names


def test_page_carries_the_test_ids(page: Page) -> None:
    assert not set(TEST_IDS) - page.test_ids
    script = script_without_comments(APP)
    for test_id in SCRIPTED_TEST_IDS:
        assert f'"{test_id}"' in script, test_id
    assert "testid = `language-${code}`" in script_without_comments(KIT_SCRIPT)


def test_page_needs_nothing_from_outside_and_never_parses_html() -> None:
    for path in (INDEX, APP, STYLE, KIT_SCRIPT, KIT_STYLE):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}", text), path.name
        assert "@import" not in text, path.name
    script = APP.read_text(encoding="utf-8") + KIT_SCRIPT.read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in script, sink


# --- negotiate ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("es", "es"),
        ("es-PE,es;q=0.9,en;q=0.8", "es"),
        ("en-GB,en;q=0.9", "en"),
        ("fr", "en"),
        ("fr-FR,fr;q=0.9,es;q=0.5", "es"),
        ("en;q=0.5,es;q=0.8", "es"),  # q-values, not order, decide
        ("es;q=0.8,en;q=0.8", "es"),  # a tie keeps header order
        ("EN-us", "en"),
        ("en;q=0,es;q=0.1", "es"),
        ("en;q=0", "es"),  # English refused, Spanish not
        ("es-PE;q=0, es", "es"),  # refusing one variety is not refusing the language
        ("*", "en"),
        ("fr,*;q=0.5", "en"),
        ("*,en;q=0.1", "es"),  # "*" means a language the header does not name
        ("*;q=0.9,es;q=0.1", "en"),
        ("es,*;q=0", "es"),
        ("fr,*;q=0", "en"),  # everything refused: the default after all
        ("es;q=2,en", "en"),  # malformed weights skip their entry
        ("es;q=abc", "en"),
        ("es;level=1", "en"),
        ("e s,es-419", "es"),
        (",, ;,es", "es"),
        ("es;Q=0.500", "es"),
    ],
)
def test_negotiate_reads_accept_language(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("es", "es"), ("es-PE", "es"), ("ES", "es"), ("es_PE", "es"), ("EN", "en"), (" en ", "en")],
)
def test_requested_language_wins_when_available(requested: str, expected: str) -> None:
    header = "es-PE,es;q=0.9" if expected == "en" else "en-US,en;q=0.9"
    assert i18n.negotiate(header, requested) == expected


@pytest.mark.parametrize("requested", ["fr", "", "x-klingon", "-"])
def test_unavailable_request_falls_back_to_the_header(requested: str) -> None:
    assert i18n.negotiate("es-PE,es;q=0.9", requested) == "es"
    assert i18n.negotiate(None, requested) == i18n.DEFAULT_LANGUAGE


def test_negotiate_survives_a_huge_header() -> None:
    assert i18n.negotiate("fr;q=0.1," * 5000 + "es") == "en"  # read only up to its limit


# --- translate -----------------------------------------------------------------------------------------


def test_translate_fills_placeholders() -> None:
    assert i18n.translate("en", "item.progress", position=3, total=20) == "Pair 3 of 20"
    assert i18n.translate("es", "item.progress", position=3, total=20) == "Par 3 de 20"
    assert i18n.translate("es", "item.question") == "¿Es la misma persona?"
    assert i18n.translate("en", "signin.set", name="{total} <b>", unused=1) == "Set: {total} <b>"


def test_translate_names_what_is_missing() -> None:
    with pytest.raises(LookupError, match=r"'item\.nope'.*'es'"):
        i18n.translate("es", "item.nope")
    with pytest.raises(ValueError, match="total"):
        i18n.translate("en", "item.progress", position=1)
    with pytest.raises(ValueError, match="'de'"):
        i18n.translate("de", "item.question")


def test_placeholders_lists_names() -> None:
    assert i18n.placeholders("{answered} of {total}") == {"answered", "total"}
    assert i18n.placeholders("no placeholders") == frozenset()
