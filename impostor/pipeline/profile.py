"""Calibration profiles: the versioned JSON that turns a distance into a probability and a decision.

A profile holds a fitted calibrator (``impostor.stages.calibrate``), the accept and reject distances
with the error rates they were chosen for, limits that override the default quality and
detection limits (``impostor/data/limits.json``), and the provenance of all of it (data, pair
counts, fit date, pipeline version). It is JSON, never a pickle, and is validated when loaded.
The shipped profile is package data (``impostor/data/default_profile.json``), read through
``importlib.resources``.

Scores are Euclidean distances between embeddings: **smaller means more alike**, and a
comparison is accepted when ``distance <= accept_distance``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from impostor import resources, settings
from impostor.errors import ProfileError, quoted
from impostor.jsonio import read_json_file
from impostor.stages.calibrate import Calibrator, calibrator_from_dict
from impostor.stages.quality import default_limits, limit_names
from impostor.types import ProfileRef, Thresholds

__all__ = [
    "COMPARISONS",
    "SCHEMA",
    "SHIPPED",
    "Profile",
    "default_profile_path",
    "load_profile",
    "profile_for",
]

SCHEMA = "impostor.profile/1"
# dlib's embeddings have a length of about 1, so two of them lie at most about 2 apart; a
# threshold beyond this would accept every face in the world
MAX_DISTANCE = 4.0
# the shipped profiles, by the name --profile takes: "default" compares two photos (fitted on
# LFW), "document" a document portrait with a live photo (fitted on LFW View 1 with the left
# photo printed, bench/bench_documents.py), "chip" a chip's DG2 portrait with a live photo
# (models/fit_chip.py; where a build ships it); a file of such a name is given as ./document
SHIPPED = {
    "default": "default_profile.json",
    "document": "document_profile.json",
    "chip": "chip_profile.json",
}
# what a profile was fitted to compare (its pipeline's "comparison"; "photo" when not said)
COMPARISONS = ("photo", "document")


@dataclass(frozen=True, eq=False)
class Profile:
    """A calibration profile: how distances become probabilities and decisions, with its provenance.

    Distances are Euclidean between 128-d embeddings (smaller is more alike): at or below
    ``accept_distance`` the faces MATCH, above ``reject_distance`` they do not, between the two
    the comparison is REFERred. Read with :func:`load_profile`; written by ``impostor calibrate``."""

    name: str
    version: str
    calibration: Calibrator
    accept_distance: float  # distance at or below which the faces MATCH
    reject_distance: float  # distance above which they do NOT MATCH; between the two: REFER
    limits: dict[str, float] = field(default_factory=dict)  # overrides of the default limits
    pipeline: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    operating_points: dict[str, Any] = field(default_factory=dict)
    weak: tuple[str, ...] = ()  # why the fit cannot keep its promises, when it was allowed anyway
    path: str = ""

    def probability(self, distance: float) -> float:
        """P(same person) at ``distance``, by the profile's calibrator."""
        return float(self.calibration.probability(distance))

    def limit(self, name: str) -> float:
        """A limit's value: the profile's own, else the default (``KeyError`` for an unknown name)."""
        if name in self.limits:
            return self.limits[name]
        return default_limits()[name]

    @property
    def comparison(self) -> str:
        """What the profile was fitted to compare: ``photo`` (photo against photo) or
        ``document`` (a document portrait against a live photo)."""
        return str(self.pipeline.get("comparison", "photo"))

    @property
    def thresholds(self) -> Thresholds:
        """The accept and reject distances as one value."""
        return Thresholds(self.accept_distance, self.reject_distance)

    @property
    def ref(self) -> ProfileRef:
        """What a verdict records of the profile that decided it."""
        return ProfileRef(self.name, self.version, self.path, self.comparison)

    def to_dict(self) -> dict[str, Any]:
        """The profile as its JSON file holds it (schema ``impostor.profile/1``)."""
        return {
            "schema": SCHEMA,
            "name": self.name,
            "version": self.version,
            "pipeline": self.pipeline,
            "calibration": self.calibration.to_dict(),
            "thresholds": {
                "accept_distance": self.accept_distance,
                "reject_distance": self.reject_distance,
                **self.operating_points,
            },
            "limits": self.limits,
            **({"weak": list(self.weak)} if self.weak else {}),
            "provenance": self.provenance,
        }

    def save(self, path: str | Path) -> None:
        """Write the profile as JSON; raises ``OSError`` when it cannot be written."""
        from impostor.jsonio import write_json

        write_json(self.to_dict(), path)

    @classmethod
    def from_dict(cls, data: Any, path: str = "") -> Profile:
        """Validate and build; raises ``ProfileError`` naming the first bad field."""
        where = path or "profile"
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: expected a JSON object, found {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise ProfileError(f"{where}: schema is {data.get('schema')!r}, expected {SCHEMA!r}")
        name = _field(data, "name", str, where)
        version = _field(data, "version", str, where)
        calibration = calibrator_from_dict(_field(data, "calibration", dict, where), f"{where}: calibration")
        thresholds = _field(data, "thresholds", dict, where)
        accept = _number(thresholds, "accept_distance", f"{where}: thresholds")
        reject = _number(thresholds, "reject_distance", f"{where}: thresholds")
        if not 0.0 <= accept <= reject <= MAX_DISTANCE:
            raise ProfileError(
                f"{where}: thresholds need 0 <= accept_distance <= reject_distance <= {MAX_DISTANCE:g}, "
                f"got {accept} and {reject}"
            )
        limits = _limits(data.get("limits", {}), where)
        provenance = data.get("provenance", {})
        if not isinstance(provenance, dict):
            raise ProfileError(f"{where}: provenance must be an object")
        pipeline = data.get("pipeline", {})
        if not isinstance(pipeline, dict):
            raise ProfileError(f"{where}: pipeline must be an object")
        if pipeline.get("comparison", "photo") not in COMPARISONS:
            raise ProfileError(
                f"{where}: pipeline: comparison is {quoted(pipeline.get('comparison'))}; "
                f"give one of {', '.join(COMPARISONS)}"
            )
        weak = data.get("weak", [])
        if not isinstance(weak, list) or not all(isinstance(item, str) for item in weak):
            raise ProfileError(f"{where}: weak must be a list of reasons, found {quoted(weak)}")
        others = {k: v for k, v in thresholds.items() if k not in ("accept_distance", "reject_distance")}
        return cls(
            name=name,
            version=version,
            calibration=calibration,
            accept_distance=accept,
            reject_distance=reject,
            limits=limits,
            pipeline=dict(pipeline),
            provenance=provenance,
            operating_points=others,
            weak=tuple(weak),
            path=path,
        )


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise ProfileError(f"{where}: missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise ProfileError(f"{where}: field {key!r} should be {kind.__name__}, found {quoted(value)}")
    return value


def _is_finite(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits
        return False


def _number(data: Mapping[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if not _is_finite(value):
        raise ProfileError(f"{where}: {key!r} should be a finite number, found {quoted(value)}")
    return float(value)  # type: ignore[arg-type]


def _limits(limits: Any, where: str) -> dict[str, float]:
    if not isinstance(limits, dict) or not all(_is_finite(v) for v in limits.values()):
        raise ProfileError(f"{where}: limits must map names to finite numbers, found {quoted(limits)}")
    known = limit_names()
    for name, value in limits.items():
        if name not in known:
            raise ProfileError(f"{where}: limits: unknown limit {name!r}; known: {', '.join(sorted(known))}")
        if value < 0:
            raise ProfileError(f"{where}: limits: {name} is {value}; a limit is never negative")
    return {name: float(value) for name, value in limits.items()}


def profile_for(kind: str, given: str | Path | None = None) -> str | Path | None:
    """The profile a comparison uses for a document side of ``kind`` (``"page"``, ``"chip"`` or
    ``"portrait"``): ``given``, or the IMPOSTOR_PROFILE setting, when a site named one (its
    thresholds then hold for every document); else the shipped document profile for a whole
    data page, the shipped chip profile for a chip's portrait (the default where none is
    shipped: a chip's DG2 is an enrolment photo), and the shipped default (None) for a photo."""
    if given is not None or default_profile_path() is not None:
        return given
    if kind == "chip":
        return "chip" if resources.data_file(SHIPPED["chip"]).is_file() else None
    return "document" if kind == "page" else None


def default_profile_path() -> Path | None:
    """The profile named by the IMPOSTOR_PROFILE setting, or None for the shipped one."""
    configured = str(settings.get("profile"))
    return Path(configured) if configured else None


def load_profile(path: str | Path | None = None) -> Profile:
    """Read and validate a profile: ``path`` (a file, or a shipped profile's name: ``SHIPPED``),
    else the IMPOSTOR_PROFILE setting, else the shipped default."""
    target = Path(path) if path is not None else default_profile_path()
    if target is None or str(target) in SHIPPED:
        shipped = resources.data_file(SHIPPED[str(target) if target is not None else "default"])
        try:
            return Profile.from_dict(json.loads(shipped.read_text(encoding="utf-8")), str(shipped))
        except (OSError, ValueError) as exc:
            raise ProfileError(
                f"{shipped}: the shipped profile cannot be read ({exc}); reinstall impostor"
            ) from None
    data = read_json_file(
        target,
        "profile",
        ProfileError,
        missing=f"the shipped profiles are named {' and '.join(SHIPPED)}",
        limit=int(float(settings.get("max_file_mb")) * 2**20),
    )
    return Profile.from_dict(data, str(target))
