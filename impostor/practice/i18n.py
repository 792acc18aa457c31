"""The practice page's text in each language (``locales/<language>.json``), and which language a
request gets: the catalogues mechanism of ``impostor.i18n``, bound to this page's folder.

Keys are grouped by screen (``signin.*``, ``item.*``, ``result.*`` …); see ``impostor.i18n`` for
the catalogue format and the negotiation rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from impostor.i18n import SCHEMA, Catalogues, placeholders

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LOCALES",
    "SCHEMA",
    "catalogue",
    "negotiate",
    "placeholders",
    "translate",
]

LOCALES = Path(__file__).resolve().parent / "locales"
# Listed rather than globbed so that importing reads no files; a test checks it against LOCALES.
LANGUAGES: tuple[str, ...] = ("en", "es")
DEFAULT_LANGUAGE = "en"
CATALOGUES = Catalogues(LOCALES, LANGUAGES, DEFAULT_LANGUAGE)


def catalogue(language: str) -> Mapping[str, str]:
    """The messages of ``language`` (one of ``LANGUAGES``), read once and kept (read-only)."""
    return CATALOGUES.catalogue(language)


def translate(language: str, key: str, **values: object) -> str:
    """The message ``key`` in ``language`` with its ``{name}`` placeholders filled."""
    return CATALOGUES.translate(language, key, **values)


def negotiate(accept_language: str | None, requested: str | None = None) -> str:
    """The language to answer in: one of ``LANGUAGES`` (``impostor.i18n.negotiate``)."""
    return CATALOGUES.negotiate(accept_language, requested)
