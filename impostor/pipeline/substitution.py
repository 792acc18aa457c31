"""The substitution rule: when the page's portrait is not the chip's, the page was tampered with.

The classic impostor's forgery is a genuine passport with another person's photo printed or
glued on its data page. The chip's portrait (DG2) is the enrolment photo, signed by the issuing
state, and the page prints the same photo: the two are one picture, one of them printed and
scanned, so their embeddings lie very close. Another person's portrait lies far off. The rule
is one distance, fitted on LFW View 1 (``bench/bench_chip.py --write-substitution``) and shipped
as versioned JSON with its provenance (``impostor/data/substitution.json``).

Distances are Euclidean between embeddings of the page's portrait and the chip's (a grey page
compared with the chip in grey): **smaller means more alike**, and the rule alerts when the
distance is **above** ``alert_distance``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from impostor import resources, settings
from impostor.errors import ProfileError, quoted
from impostor.jsonio import read_json_file

__all__ = ["SCHEMA", "SCHEMA_VERSION", "SHIPPED", "SubstitutionRule", "load_substitution"]

SCHEMA = "impostor.substitution"
SCHEMA_VERSION = 1
SHIPPED = "substitution.json"
# embeddings have a length of about 1, so no two lie more than about 2 apart (as for profiles)
MAX_DISTANCE = 4.0


@dataclass(frozen=True)
class SubstitutionRule:
    """When a page's portrait and a chip's are too far apart to be one photo.

    ``alert_distance`` is the distance (Euclidean between embeddings, smaller is more alike)
    above which the page's portrait is alerted as not the chip's; ``version`` names the fit;
    ``provenance`` says on which data, how many pairs, when and with which code it was fitted,
    and the rates it reached there; ``path`` is the file it was read from.
    """

    alert_distance: float
    version: str
    provenance: dict[str, Any] = field(default_factory=dict, compare=False)
    path: str = field(default="", compare=False)

    def alert(self, distance: float) -> bool:
        """Whether a page portrait at ``distance`` from the chip's portrait is alerted (True when
        ``distance > alert_distance``). Raises ``ValueError`` for a negative or non-finite
        distance: with no face on either side there is no distance, and the caller says so."""
        if (
            isinstance(distance, bool)
            or not isinstance(distance, (int, float))
            or not math.isfinite(distance)
        ):
            raise ValueError(f"a distance must be a finite number, not {quoted(distance)}")
        if distance < 0:
            raise ValueError(f"a distance is never negative, got {distance}")
        return distance > self.alert_distance

    @property
    def weak(self) -> str:
        """Why the fit misses its targets (at most 1% false alerts, at least 95% alerts on
        strangers' pages), as its provenance says; empty when it met them."""
        targets = self.provenance.get("targets", {})
        return str(targets.get("weak", "")) if isinstance(targets, dict) else ""

    def to_dict(self) -> dict[str, Any]:
        """The rule as its JSON file holds it."""
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "version": self.version,
            "comparison": "page portrait against chip portrait",
            "alert_when": "distance > alert_distance",
            "alert_distance": self.alert_distance,
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> SubstitutionRule:
        """Validate and build; raises ``ProfileError`` naming the first bad field."""
        where = path or "substitution rule"
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: expected a JSON object, found {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ProfileError(f"{where}: schema is {quoted(data.get('schema'))}, expected {SCHEMA!r}")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ProfileError(
                f"{where}: schema_version is {quoted(data.get('schema_version'))}, and this impostor "
                f"reads version {SCHEMA_VERSION}; refit it with bench/bench_chip.py --write-substitution"
            )
        version = data.get("version")
        if not isinstance(version, str) or not version:
            raise ProfileError(f"{where}: 'version' should be a non-empty text, found {quoted(version)}")
        value = data.get("alert_distance")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ProfileError(f"{where}: 'alert_distance' should be a finite number, found {quoted(value)}")
        if not 0.0 < value <= MAX_DISTANCE:
            raise ProfileError(f"{where}: 'alert_distance' is {value}; it must lie in (0, {MAX_DISTANCE:g}]")
        provenance = data.get("provenance", {})
        if not isinstance(provenance, dict):
            raise ProfileError(f"{where}: 'provenance' must be an object, found {quoted(provenance)}")
        return cls(float(value), version, provenance, path)


def load_substitution(path: str | Path | None = None) -> SubstitutionRule:
    """Read and validate a substitution rule: the file at ``path``, else the shipped one
    (``impostor/data/substitution.json``). Raises ``ProfileError`` when it is missing, not
    JSON, or not a valid rule, saying which file and what to do."""
    if path is None:
        shipped = resources.data_file(SHIPPED)
        try:
            return SubstitutionRule.from_dict(json.loads(shipped.read_text(encoding="utf-8")), str(shipped))
        except (OSError, ValueError) as exc:
            raise ProfileError(
                f"{shipped}: the shipped substitution rule cannot be read ({exc}); reinstall impostor"
            ) from None
    target = Path(path)
    data = read_json_file(
        target,
        "substitution rule",
        ProfileError,
        missing="give its path, or none for the shipped one",
        limit=int(float(settings.get("max_file_mb")) * 2**20),
    )
    return SubstitutionRule.from_dict(data, str(target))
