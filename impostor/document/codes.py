"""The state codes an MRZ may carry: ISO 3166-1 alpha-3 and the codes ICAO 9303 part 3 adds.

The ISO list comes from pycountry (Debian's iso-codes data), so it stays current without a
copy kept here; ICAO's additions (Germany's ``D``, the British and UN categories, the
organisations and the stateless and refugee codes) are listed below. ``UTO`` is Utopia, the
fictitious state of ICAO's specimens: known, and said to be a specimen.
"""

from __future__ import annotations

import functools
import gettext

__all__ = ["ICAO_EXTRA", "SPECIMEN", "known", "name"]

ICAO_EXTRA = {
    "D": "Germany",
    "GBD": "British Overseas Territories Citizen",
    "GBN": "British National (Overseas)",
    "GBO": "British Overseas Citizen",
    "GBP": "British Protected Person",
    "GBS": "British Subject",
    "UNO": "United Nations Organization (official)",
    "UNA": "United Nations specialized agency (official)",
    "UNK": "Resident of Kosovo (UN interim administration)",
    "RKS": "Kosovo",
    "EUE": "European Union",
    "XBA": "African Development Bank",
    "XIM": "African Export-Import Bank",
    "XCC": "Caribbean Community",
    "XCE": "Council of Europe",
    "XCO": "Common Market for Eastern and Southern Africa",
    "XEC": "Economic Community of West African States",
    "XES": "Organisation of Eastern Caribbean States",
    "XMP": "Interparliamentary Union",
    "XOM": "Sovereign Military Order of Malta",
    "XDC": "Southern African Development Community",
    "XPO": "INTERPOL",
    "XXA": "Stateless person",
    "XXB": "Refugee (1951 Convention)",
    "XXC": "Refugee (other)",
    "XXX": "Unspecified nationality",
}
SPECIMEN = {"UTO": "Utopia (ICAO specimen)"}


@functools.cache
def _iso() -> dict[str, str]:
    import pycountry

    return {country.alpha_3: country.name for country in pycountry.countries}


def known(code: str) -> bool:
    """True for an ISO 3166-1 alpha-3 code, one of ICAO's additions, or ICAO's specimen state."""
    return code in _iso() or code in ICAO_EXTRA or code in SPECIMEN


@functools.cache
def _spanish() -> gettext.NullTranslations:
    import pycountry

    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["es"], fallback=True)


def name(code: str, language: str = "en") -> str:
    """The state's name in English or Spanish (``"es"``); the code itself when it is unknown."""
    english = _iso().get(code) or ICAO_EXTRA.get(code) or SPECIMEN.get(code)
    if english is None:
        return code
    return _spanish().gettext(english) if language.startswith("es") else english
