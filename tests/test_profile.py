"""Profiles: the shipped one validates, profiles round-trip, and every bad one is refused
with a ``ProfileError`` that names the file and the problem."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impostor import resources
from impostor.errors import ProfileError
from impostor.pipeline.profile import SCHEMA, Profile, default_profile_path, load_profile
from impostor.stages.calibrate import Calibrator, calibrator_from_dict

SHIPPED = Path(str(resources.data_file("default_profile.json")))


def Calibration(method: str, **fitted: Any) -> Calibrator:  # noqa: N802 (reads like the old value type)
    return calibrator_from_dict(
        {"method": method, **{k: list(v) if isinstance(v, tuple) else v for k, v in fitted.items()}}
    )


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))


def _valid() -> dict[str, Any]:
    """A small complete profile, independent of the shipped file."""
    return {
        "schema": SCHEMA,
        "name": "test",
        "version": "1",
        "pipeline": {"detector": "hog"},
        "calibration": {"method": "logistic", "input": "distance", "coef": -40.0, "intercept": 24.0},
        "thresholds": {"accept_distance": 0.5, "reject_distance": 0.62, "accept_target_fmr": 0.001},
        "limits": {"credible_face_ratio": 0.5, "live_max_yaw_degrees": 30},
        "provenance": {"calibration_pairs": {"genuine": 10, "impostor": 10}},
    }


# --- the shipped profile ------------------------------------------------------------------


def test_shipped_profile_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPOSTOR_PROFILE", raising=False)  # the environment, not our code
    assert default_profile_path() is None  # no setting: the shipped one
    profile = load_profile()
    assert Path(profile.path).resolve() == SHIPPED.resolve()
    assert profile.name == "default"
    monkeypatch.setenv("IMPOSTOR_PROFILE", str(SHIPPED))
    assert default_profile_path() == SHIPPED


def test_shipped_profile_validates(shipped: dict[str, Any]) -> None:
    assert shipped["schema"] == SCHEMA
    profile = load_profile(SHIPPED)
    assert profile.version, "the profile needs a version"
    assert 0.0 < profile.accept_distance <= profile.reject_distance < 2.0, (
        profile.accept_distance,
        profile.reject_distance,
    )
    assert profile.calibration.method in ("logistic", "isotonic")
    # the thresholds say which error rates they were chosen for
    assert 0 < profile.operating_points["accept_target_fmr"] < 0.05
    assert 0 < profile.operating_points["reject_target_fnmr"] < 0.05
    # the probability agrees with the thresholds: high where we accept, low where we reject
    assert (
        profile.probability(profile.accept_distance)
        > 0.5
        > profile.probability(profile.reject_distance + 0.1)
    )
    assert profile.ref.name == "default" and profile.ref.path == str(SHIPPED)


def test_shipped_profile_states_its_provenance(shipped: dict[str, Any]) -> None:
    provenance = load_profile(SHIPPED).provenance
    for key in ("fitted", "command", "calibration_data", "threshold_data"):
        assert provenance.get(key), f"provenance lacks {key!r}"
    for key in ("calibration_pairs", "threshold_pairs"):
        pairs = provenance[key]
        assert isinstance(pairs["genuine"], int) and pairs["genuine"] > 0, (key, pairs)
        assert isinstance(pairs["impostor"], int) and pairs["impostor"] > 0, (key, pairs)
    # an FMR of 1e-3 means something only with roughly 3 / 1e-3 impostor pairs behind it
    target = shipped["thresholds"]["accept_target_fmr"]
    assert provenance["threshold_pairs"]["impostor"] >= 3 / target
    assert provenance["heldout"]["genuine_pairs"] > 0 and provenance["heldout"]["impostor_pairs"] > 0


# --- round trip ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["logistic", "isotonic"])
def test_profile_round_trips_through_save_and_load(tmp_path: Path, method: str) -> None:
    data = _valid()
    if method == "isotonic":
        data["calibration"] = {"method": "isotonic", "x": [0.3, 0.5, 0.6, 0.8], "y": [1.0, 0.9, 0.2, 0.0]}
    profile = Profile.from_dict(data, "in memory")
    path = tmp_path / "profile.json"
    profile.save(path)
    again = load_profile(path)
    assert again.path == str(path)
    assert again.to_dict() == profile.to_dict()
    assert again.calibration.to_dict() == profile.calibration.to_dict()
    assert (again.accept_distance, again.reject_distance) == (0.5, 0.62)
    assert again.operating_points == {"accept_target_fmr": 0.001}
    assert again.limit("credible_face_ratio") == 0.5  # its own
    assert again.limit("min_sharpness") == 40.0  # the default
    with pytest.raises(KeyError):
        again.limit("absent")


def test_shipped_profile_round_trips(tmp_path: Path) -> None:
    profile = load_profile(SHIPPED)
    profile.save(tmp_path / "copy.json")
    assert load_profile(tmp_path / "copy.json").to_dict() == profile.to_dict()


# --- bad profiles -------------------------------------------------------------------------


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert str(path) in message, f"message does not name the file: {message!r}"
    assert "\n" not in message, f"message is not one line: {message!r}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "absent.json", "no such profile")


def test_folder(tmp_path: Path) -> None:
    _refused(tmp_path, "not a profile file")


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text('{"schema": "impostor.profile/1",\n  "name": oops}', encoding="utf-8")
    _refused(path, "not valid JSON", "line 2")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_bytes(json.dumps(_valid()).encode("utf-16"))
    _refused(path, "not UTF-8")


def test_not_an_object(tmp_path: Path) -> None:
    _refused(_write(tmp_path, [_valid()]), "expected a JSON object", "list")


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_valid())
    change(data)
    return data


BAD_PROFILES = {
    "wrong schema": (lambda d: d.update(schema="impostor.profile/0"), ["schema", "'impostor.profile/0'"]),
    "no schema": (lambda d: d.pop("schema"), ["schema is None"]),
    "missing name": (lambda d: d.pop("name"), ["missing field 'name'"]),
    "name not text": (lambda d: d.update(name=7), ["'name'", "str", "7"]),
    "missing version": (lambda d: d.pop("version"), ["missing field 'version'"]),
    "missing calibration": (lambda d: d.pop("calibration"), ["missing field 'calibration'"]),
    "missing thresholds": (lambda d: d.pop("thresholds"), ["missing field 'thresholds'"]),
    "thresholds reversed": (
        lambda d: d["thresholds"].update(accept_distance=0.7, reject_distance=0.5),
        ["accept_distance <= reject_distance", "0.7", "0.5"],
    ),
    "negative accept": (
        lambda d: d["thresholds"].update(accept_distance=-0.1),
        ["0 <= accept_distance", "-0.1"],
    ),
    "threshold missing": (lambda d: d["thresholds"].pop("reject_distance"), ["'reject_distance'", "None"]),
    "threshold as text": (
        lambda d: d["thresholds"].update(accept_distance="0.5"),
        ["'accept_distance'", "'0.5'"],
    ),
    "threshold as bool": (
        lambda d: d["thresholds"].update(accept_distance=True),
        ["'accept_distance'", "True"],
    ),
    "threshold NaN": (
        lambda d: d["thresholds"].update(reject_distance=math.nan),
        ["'reject_distance'", "nan"],
    ),
    "threshold infinite": (lambda d: d["thresholds"].update(reject_distance=math.inf), ["finite", "inf"]),
    "coef NaN": (lambda d: d["calibration"].update(coef=math.nan), ["'coef'", "finite", "nan"]),
    "intercept infinite": (lambda d: d["calibration"].update(intercept=-math.inf), ["'intercept'", "-inf"]),
    "positive coef": (lambda d: d["calibration"].update(coef=3.5), ["coef is 3.5", "negative"]),
    "zero coef": (lambda d: d["calibration"].update(coef=0), ["coef is 0", "negative"]),
    "unknown method": (
        lambda d: d["calibration"].update(method="platt"),
        ["'platt'", "'logistic' or 'isotonic'"],
    ),
    "isotonic lengths differ": (
        lambda d: d.update(calibration={"method": "isotonic", "x": [0.2, 0.4, 0.6], "y": [1.0, 0.0]}),
        ["equal length"],
    ),
    "isotonic one point": (
        lambda d: d.update(calibration={"method": "isotonic", "x": [0.4], "y": [0.5]}),
        ["2 or more"],
    ),
    "isotonic not lists": (
        lambda d: d.update(calibration={"method": "isotonic", "x": "0.2 0.4", "y": [1.0, 0.0]}),
        ["lists x and y"],
    ),
    "isotonic x unsorted": (
        lambda d: d.update(calibration={"method": "isotonic", "x": [0.4, 0.2], "y": [1.0, 0.0]}),
        ["x must be sorted"],
    ),
    "isotonic y over 1": (
        lambda d: d.update(calibration={"method": "isotonic", "x": [0.2, 0.4], "y": [1.5, 0.0]}),
        ["[0, 1]"],
    ),
    "isotonic y increasing": (
        lambda d: d.update(calibration={"method": "isotonic", "x": [0.2, 0.4, 0.6], "y": [0.0, 0.5, 1.0]}),
        ["must not increase"],
    ),
    "isotonic NaN": (
        lambda d: d.update(calibration={"method": "isotonic", "x": [0.2, math.nan], "y": [1.0, 0.0]}),
        ["finite"],
    ),
    "isotonic text": (
        lambda d: d.update(calibration={"method": "isotonic", "x": [0.2, "far"], "y": [1.0, 0.0]}),
        ["lists of numbers"],
    ),
    "limits not numbers": (lambda d: d.update(limits={"credible_face_ratio": "0.6"}), ["limits", "numbers"]),
    "limits not an object": (lambda d: d.update(limits=[0.6]), ["limits", "numbers"]),
    "limit NaN": (lambda d: d.update(limits={"credible_face_ratio": math.nan}), ["limits", "finite"]),
    "limit of a huge integer": (lambda d: d.update(limits={"max_faces": 10**400}), ["limits", "finite"]),
    "unknown limit": (lambda d: d.update(limits={"min_sharpnes": 40}), ["unknown limit 'min_sharpnes'"]),
    "coef a huge integer": (lambda d: d["calibration"].update(coef=-(10**400)), ["'coef'", "finite"]),
    "provenance not an object": (lambda d: d.update(provenance="LFW"), ["provenance must be an object"]),
    "pipeline not an object": (lambda d: d.update(pipeline="hog"), ["pipeline must be an object"]),
}


@pytest.mark.parametrize("problem", list(BAD_PROFILES))
def test_bad_profile_is_refused_naming_the_problem(tmp_path: Path, problem: str) -> None:
    change, fragments = BAD_PROFILES[problem]
    # json.dumps writes NaN and Infinity, which json.loads reads back: that is how they arrive
    _refused(_write(tmp_path, _broken(change)), *fragments)


def test_valid_profile_is_accepted(tmp_path: Path) -> None:
    """The fixture the bad cases start from is itself good, so each case tests one fault."""
    profile = load_profile(_write(tmp_path, _valid()))
    assert profile.name == "test"


def test_equal_thresholds_are_allowed(tmp_path: Path) -> None:
    data = _broken(lambda d: d["thresholds"].update(accept_distance=0.6, reject_distance=0.6))
    assert load_profile(_write(tmp_path, data)).accept_distance == 0.6


# --- calibration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "calibration",
    [
        Calibration("logistic", coef=-49.8, intercept=30.8),
        Calibration("logistic", coef=-5.0, intercept=2.0),
        Calibration("isotonic", x=(0.3, 0.45, 0.5, 0.5, 0.62, 0.9), y=(1.0, 0.97, 0.8, 0.6, 0.1, 0.0)),
    ],
    ids=["shipped-like", "shallow", "isotonic"],
)
def test_probability_never_rises_with_distance(calibration: Calibrator) -> None:
    distances = np.linspace(-0.5, 2.5, 3001)
    p = calibration.probability(distances)
    assert p.shape == distances.shape
    assert np.all((p >= 0) & (p <= 1))
    steps = np.diff(p)
    assert np.all(steps <= 1e-12), f"probability rises by {steps.max():.3g} somewhere"
    assert p[0] > p[-1]


def test_shipped_probability_never_rises_with_distance() -> None:
    profile = load_profile(SHIPPED)
    distances = np.linspace(0.0, 1.5, 1501)
    p = profile.calibration.probability(distances)
    assert np.all(np.diff(p) <= 0)
    assert p[0] > 0.99 and p[-1] < 0.01


def test_isotonic_holds_flat_beyond_its_ends() -> None:
    calibration = Calibration("isotonic", x=(0.4, 0.6), y=(0.9, 0.1))
    assert calibration.probability(0.0) == pytest.approx(0.9)
    assert calibration.probability(5.0) == pytest.approx(0.1)
    assert calibration.probability(0.5) == pytest.approx(0.5)


def test_logistic_formula() -> None:
    calibration = Calibration("logistic", coef=-40.0, intercept=24.0)
    assert calibration.probability(0.6) == pytest.approx(0.5)
    assert calibration.probability(0.5) == pytest.approx(1 / (1 + math.exp(-4.0)))


def test_a_page_gets_the_document_profile_unless_the_site_named_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from impostor.pipeline.profile import profile_for

    monkeypatch.delenv("IMPOSTOR_PROFILE", raising=False)
    assert profile_for("page") == "document"
    assert profile_for("chip") == "chip" and profile_for("portrait") is None  # a chip: its own profile
    assert profile_for("page", "models/site.json") == "models/site.json"
    monkeypatch.setenv("IMPOSTOR_PROFILE", "models/site.json")
    assert profile_for("page") is None  # the setting's profile, for every document
