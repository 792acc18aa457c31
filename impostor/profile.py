"""Calibration profiles: the versioned JSON that turns a distance into a probability and a decision.

A profile holds the fitted distance-to-probability model, the accept and reject distances with
the error rates they were chosen for, quality limits, and the provenance of all of it (data,
pair counts, fit date, pipeline version). It is JSON, never a pickle, and is validated when
loaded; evaluating it needs only numpy, so scikit-learn is imported only to fit one.

Scores are Euclidean distances between embeddings: **smaller means more alike**, and a
comparison is accepted when ``distance <= accept_distance``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from impostor import settings
from impostor.errors import ProfileError
from impostor.types import ProfileRef

__all__ = ["SCHEMA", "Calibration", "Profile", "default_profile_path", "load_profile"]

SCHEMA = "impostor.profile/1"


@dataclass(frozen=True)
class Calibration:
    """Distance → probability that both faces are the same person.

    ``logistic``: ``p = 1 / (1 + exp(-(coef · d + intercept)))``. ``isotonic``: a
    non-increasing step function through ``x`` (distances) and ``y`` (probabilities),
    interpolated linearly and held flat beyond its ends.
    """

    method: str
    coef: float = 0.0
    intercept: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    def probability(self, distance: ArrayLike) -> NDArray[np.float64]:
        d = np.asarray(distance, dtype=np.float64)
        if self.method == "logistic":
            return 1.0 / (1.0 + np.exp(-(self.coef * d + self.intercept)))
        return np.interp(d, self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        if self.method == "logistic":
            return {"method": "logistic", "input": "distance", "coef": self.coef, "intercept": self.intercept}
        return {"method": "isotonic", "input": "distance", "x": list(self.x), "y": list(self.y)}


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    calibration: Calibration
    accept_distance: float  # distance at or below which the faces MATCH
    reject_distance: float  # distance above which they do NOT MATCH; between the two: REFER
    limits: dict[str, float] = field(default_factory=dict)
    pipeline: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    operating_points: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def probability(self, distance: float) -> float:
        return float(self.calibration.probability(distance))

    def limit(self, name: str, default: float) -> float:
        return float(self.limits.get(name, default))

    @property
    def ref(self) -> ProfileRef:
        return ProfileRef(self.name, self.version, self.path)

    def to_dict(self) -> dict[str, Any]:
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
            "provenance": self.provenance,
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

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
        calibration = _calibration(_field(data, "calibration", dict, where), where)
        thresholds = _field(data, "thresholds", dict, where)
        accept = _number(thresholds, "accept_distance", f"{where}: thresholds")
        reject = _number(thresholds, "reject_distance", f"{where}: thresholds")
        if not 0.0 <= accept <= reject:
            raise ProfileError(
                f"{where}: thresholds need 0 <= accept_distance <= reject_distance, got {accept} and {reject}"
            )
        limits = data.get("limits", {})
        if not isinstance(limits, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in limits.values()
        ):
            raise ProfileError(f"{where}: limits must map names to finite numbers, found {limits!r}")
        provenance = data.get("provenance", {})
        if not isinstance(provenance, dict):
            raise ProfileError(f"{where}: provenance must be an object")
        pipeline = data.get("pipeline", {})
        if not isinstance(pipeline, dict):
            raise ProfileError(f"{where}: pipeline must be an object")
        others = {k: v for k, v in thresholds.items() if k not in ("accept_distance", "reject_distance")}
        return cls(
            name=name,
            version=version,
            calibration=calibration,
            accept_distance=accept,
            reject_distance=reject,
            limits={k: float(v) for k, v in limits.items()},
            pipeline=dict(pipeline),
            provenance=provenance,
            operating_points=others,
            path=path,
        )


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise ProfileError(f"{where}: missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise ProfileError(f"{where}: field {key!r} should be {kind.__name__}, found {value!r}")
    return value


def _number(data: dict[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProfileError(f"{where}: {key!r} should be a finite number, found {value!r}")
    return float(value)


def _calibration(data: dict[str, Any], where: str) -> Calibration:
    method = data.get("method")
    if method == "logistic":
        coef = _number(data, "coef", f"{where}: calibration")
        if coef >= 0:
            raise ProfileError(
                f"{where}: calibration coef is {coef}; "
                "it must be negative (larger distance, lower probability)"
            )
        return Calibration(
            "logistic", coef=coef, intercept=_number(data, "intercept", f"{where}: calibration")
        )
    if method == "isotonic":
        x, y = data.get("x"), data.get("y")
        if not isinstance(x, list) or not isinstance(y, list) or len(x) != len(y) or len(x) < 2:
            raise ProfileError(
                f"{where}: isotonic calibration needs lists x and y of equal length (2 or more)"
            )
        try:
            xs = np.asarray(x, dtype=np.float64)
            ys = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ProfileError(f"{where}: isotonic x and y must be lists of numbers") from None
        if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
            raise ProfileError(f"{where}: isotonic x and y must be finite numbers")
        if np.any(np.diff(xs) < 0) or np.any((ys < 0) | (ys > 1)):
            raise ProfileError(f"{where}: isotonic x must be sorted and y must lie in [0, 1]")
        if np.any(np.diff(ys) > 0):
            raise ProfileError(
                f"{where}: isotonic y must not increase with distance (larger distance, lower probability)"
            )
        return Calibration("isotonic", x=tuple(map(float, xs)), y=tuple(map(float, ys)))
    raise ProfileError(f"{where}: calibration method {method!r} is not 'logistic' or 'isotonic'")


def default_profile_path() -> Path:
    """The profile used when none is named: the IMPOSTOR_PROFILE setting, else the shipped one."""
    configured = str(settings.get("profile"))
    if configured:
        return Path(configured)
    here = Path(__file__).resolve().parent
    for candidate in (here / "models" / "default.json", here.parent / "models" / "default.json"):
        if candidate.is_file():
            return candidate
    return here.parent / "models" / "default.json"


def load_profile(path: str | Path | None = None) -> Profile:
    """Read and validate a profile; the default one when ``path`` is None."""
    target = Path(path) if path is not None else default_profile_path()
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"{target}: no such profile file") from None
    except OSError as exc:
        raise ProfileError(f"{target}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{target}: not a JSON profile (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"{target}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return Profile.from_dict(data, str(target))
