"""Pages' text in each language, and which language a request gets.

Every string a page shows comes from a catalogue, ``<folder>/<language>.json``::

    {"schema": "impostor.catalogue/1", "language": "es",
     "messages": {"item.question": "¿Es la misma persona?", ...}}

Keys are dotted and grouped by screen (``signin.*``, ``result.*`` …). Placeholders are ``{name}``
and nothing else (no format specs, no attribute access, no literal braces), because a page fills
the same messages in JavaScript with its own numbers already formatted; the tests hold each
page's catalogues to the same keys and the same placeholders per key.

Language choice follows the page's order: an explicit request wins when it names an available
language, else the Accept-Language header by its q-values (RFC 9110, section 12.5.4) matched on
the primary subtag (``es-PE`` gets ``es``), else the default language.

``Catalogues`` holds one page's folder; the practice page and the station each have one.
"""

from __future__ import annotations

import json
import re
import string
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

__all__ = ["SCHEMA", "Catalogues", "negotiate", "placeholders"]

SCHEMA = "impostor.catalogue/1"

_WEIGHT = re.compile(r"^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$", re.IGNORECASE)
_RANGE = re.compile(r"^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)$")
_MAX_HEADER = 4096  # characters of Accept-Language looked at; real browsers send well under 200


class Catalogues:
    """The catalogues of one page: ``folder/<language>.json`` for each of ``languages``.

    Nothing is read until a language is first asked for; each file is then read once and kept.
    """

    def __init__(self, folder: Path, languages: tuple[str, ...], default: str) -> None:
        if default not in languages:
            raise ValueError(f"the default language {default!r} is not one of {languages}")
        self.folder = folder
        self.languages = languages
        self.default = default
        self._read: dict[str, Mapping[str, str]] = {}
        self._lock = threading.Lock()

    def catalogue(self, language: str) -> Mapping[str, str]:
        """The messages of ``language``, key → text (read-only).

        Raises ValueError for a language not in ``languages``, or a catalogue file that is not
        a valid ``impostor.catalogue/1`` document for that language.
        """
        if language not in self.languages:
            raise ValueError(f"unknown language {language!r}: expected one of {', '.join(self.languages)}")
        with self._lock:
            if language not in self._read:
                self._read[language] = _read(self.folder / f"{language}.json", language)
            return self._read[language]

    def translate(self, language: str, key: str, **values: object) -> str:
        """The message ``key`` in ``language`` with its ``{name}`` placeholders filled (str()).

        Values the message does not use are ignored. Raises LookupError naming the key and
        language when the catalogue has no such message, ValueError naming the placeholder when
        a value is missing, and ValueError for an unknown language.
        """
        messages = self.catalogue(language)
        if key not in messages:
            raise LookupError(f"no message {key!r} in the {language!r} catalogue")
        text = messages[key]
        missing = placeholders(text) - values.keys()
        if missing:
            raise ValueError(
                f"message {key!r} ({language!r}) needs a value for {', '.join(sorted(missing))}; "
                f"got {', '.join(sorted(values)) or 'none'}"
            )
        return text.format_map(values)

    def negotiate(self, accept_language: str | None, requested: str | None = None) -> str:
        """The language to answer in: see ``negotiate``."""
        return negotiate(accept_language, requested, self.languages, self.default)


def _read(path: Path, language: str) -> Mapping[str, str]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a {SCHEMA} document")
    if document.get("language") != language:
        raise ValueError(f"{path} says its language is {document.get('language')!r}, not {language!r}")
    messages = document.get("messages")
    if not isinstance(messages, dict) or not all(
        isinstance(key, str) and isinstance(text, str) for key, text in messages.items()
    ):
        raise ValueError(f"{path}: 'messages' must map keys to strings")
    return MappingProxyType(dict(messages))


def negotiate(
    accept_language: str | None, requested: str | None, languages: tuple[str, ...], default: str
) -> str:
    """The language to answer in: one of ``languages``.

    ``requested`` (a tag such as ``"es"``, ``"es-PE"`` or ``"EN"``, case-insensitive, ``_`` taken as
    ``-``) wins when its primary subtag is available. Otherwise ``accept_language`` is read as an
    HTTP Accept-Language value: ranges in order of their q-value (ties keep header order), each
    matched on its primary subtag; ``*`` stands for any available language the header does not
    name; ``q=0`` marks a language as not acceptable. Malformed entries are skipped, never an
    error. When nothing matches, the answer is ``default`` unless the header refused it with
    ``q=0`` and another language was not refused.
    """
    if requested:
        primary = _primary(requested)
        if primary in languages:
            return primary
    ranked: list[tuple[float, int, str]] = []
    for index, entry in enumerate((accept_language or "")[:_MAX_HEADER].split(",")):
        parsed = _parse_range(entry)
        if parsed is not None:
            ranked.append((-parsed[1], index, parsed[0]))
    ranked.sort()
    # only an exact "es;q=0" refuses our "es": "es-MX;q=0" refuses one variety, not the language
    refused = {tag for weight, _, tag in ranked if weight == 0 and tag in languages}
    named = {_primary(tag) for _, _, tag in ranked if tag != "*"}
    if any(weight == 0 and tag == "*" for weight, _, tag in ranked):
        refused |= set(languages) - named  # "*;q=0": nothing the header does not name
    for negative_weight, _, tag in ranked:
        if negative_weight == 0:
            break  # the rest are all q=0
        if tag == "*":
            for language in (default, *languages):
                if language not in named and language not in refused:
                    return language
            continue
        primary = _primary(tag)
        if primary in languages and primary not in refused:
            return primary
    if default not in refused:
        return default
    return next((language for language in languages if language not in refused), default)


def placeholders(text: str) -> frozenset[str]:
    """The placeholder names in a message: ``"{answered} of {total}"`` → ``{"answered", "total"}``.

    Raises ValueError for a message with an unbalanced brace.
    """
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def _primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-", 1)[0]


def _parse_range(entry: str) -> tuple[str, float] | None:
    """``"es-PE;q=0.9"`` → ``("es-pe", 0.9)``; None for an empty or malformed entry."""
    tag, *parameters = (part.strip() for part in entry.split(";"))
    if not _RANGE.match(tag):
        return None
    weight = 1.0
    for parameter in parameters:
        match = _WEIGHT.match(parameter.replace(" ", ""))
        if match is None:
            return None
        weight = float(match.group(1))
    return tag.lower(), weight
