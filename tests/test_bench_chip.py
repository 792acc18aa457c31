"""The e-passport benchmark's parts (bench/bench_chip.py) and the substitution rule it fits
(impostor/pipeline/substitution.py): the chip portrait's geometry and size, the alert fit, the
shipped rule and its loader, and a tiny run on a handful of faces-dev people."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor.errors import ProfileError
from impostor.pipeline.profile import load_profile
from impostor.pipeline.substitution import SCHEMA, SCHEMA_VERSION, SubstitutionRule, load_substitution

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import bench_chip  # noqa: E402

# -- the substitution rule ---------------------------------------------------------------------


def test_the_shipped_rule_loads_with_its_provenance() -> None:
    rule = load_substitution()
    assert 0.0 < rule.alert_distance < 2.0
    for key in ("fitted", "command", "code", "data", "targets", "fitted_on", "heldout"):
        assert key in rule.provenance, key
    assert rule.provenance["fitted_on"]["genuine_pages"] > 1000
    # on worn pages no distance keeps false alerts under 1% and alerts on 95% of strangers
    assert rule.weak == rule.provenance["targets"].get("weak", "")
    assert SubstitutionRule(0.5, "v", {"targets": {"weak": "why"}}).weak == "why"


def test_a_rule_alerts_above_its_distance_only() -> None:
    rule = SubstitutionRule(0.6, "test")
    assert rule.alert(0.61) and rule.alert(1.3)
    assert not rule.alert(0.6) and not rule.alert(0.2) and not rule.alert(0)


@pytest.mark.parametrize("distance", [math.nan, math.inf, -0.1, True, "0.7", None])
def test_a_rule_refuses_what_is_not_a_distance(distance: object) -> None:
    with pytest.raises(ValueError, match="distance"):
        SubstitutionRule(0.6, "test").alert(distance)  # type: ignore[arg-type]


def test_a_rule_survives_its_file(tmp_path: Path) -> None:
    rule = SubstitutionRule(0.5432, "2026.12.07", {"data": "somewhere"})
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(rule.to_dict()), encoding="utf-8")
    again = load_substitution(path)
    assert again == rule and again.provenance == {"data": "somewhere"} and again.path == str(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": "impostor.profile/1"}, "schema is"),
        ({"schema_version": 2}, "schema_version is 2"),
        ({"alert_distance": -1}, "must lie in"),
        ({"alert_distance": "0.5"}, "finite number"),
        ({"version": ""}, "'version'"),
        ({"provenance": []}, "'provenance'"),
    ],
)
def test_a_bad_rule_file_names_its_fault(tmp_path: Path, change: dict[str, object], message: str) -> None:
    data = {**SubstitutionRule(0.5, "v").to_dict(), **change}
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match=message) as caught:
        load_substitution(path)
    assert str(path) in str(caught.value)


def test_a_missing_or_garbled_rule_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no such substitution rule"):
        load_substitution(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid JSON"):
        load_substitution(tmp_path / "bad.json")
    assert SubstitutionRule(0.5, "v").to_dict()["schema"] == SCHEMA
    assert SubstitutionRule(0.5, "v").to_dict()["schema_version"] == SCHEMA_VERSION


# -- the chip portrait and the fit --------------------------------------------------------------


def test_the_chip_portrait_puts_the_eyes_where_iso_19794_5_says() -> None:
    photo = np.full((300, 260, 3), 200, np.uint8)
    eyes = ((100.0, 140.0), (150.0, 120.0))  # a tilted face: the eye line is levelled
    for x, y in eyes:
        cv2.circle(photo, (int(x), int(y)), 3, (0, 0, 0), -1)
    portrait = bench_chip.chip_portrait(photo, eyes)
    assert portrait.shape == (bench_chip.CHIP_HEIGHT, bench_chip.CHIP_WIDTH, 3) == (551, 413, 3)
    dark = portrait[..., 0] < 100
    labels, spots = cv2.connectedComponents(dark.astype(np.uint8))[1], []
    for label in range(1, labels.max() + 1):
        ys, xs = np.nonzero(labels == label)
        spots.append((xs.mean(), ys.mean()))
    (lx, ly), (rx, ry) = sorted(spots)
    assert lx == pytest.approx(0.375 * 413, abs=2) and rx == pytest.approx(0.625 * 413, abs=2)
    assert ly == pytest.approx(0.6 * 413, abs=2) and ry == pytest.approx(0.6 * 413, abs=2)


def test_the_chip_jpeg_is_as_large_as_chips_carry_and_no_larger() -> None:
    rng = np.random.default_rng(0)
    busy = cv2.GaussianBlur(rng.integers(0, 256, (551, 413, 3), dtype=np.uint8), (0, 0), 1.5)
    data, quality = bench_chip.chip_jpeg(busy)
    assert len(data) <= bench_chip.CHIP_MAX_BYTES and 10 <= quality <= 95
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == busy.shape
    larger, _ = bench_chip.chip_jpeg(busy, max_bytes=10**7)
    assert len(larger) > len(data)  # the limit, not the image, chose the quality


def test_the_alert_distance_sits_midway_when_both_targets_leave_room() -> None:
    rng = np.random.default_rng(1)
    found = bench_chip.Substitution(
        rng.normal(0.2, 0.03, 2000), rng.normal(0.8, 0.05, 20000).astype(np.float32), np.empty(0), 0
    )
    chosen, limits = bench_chip.fit_alert(found)
    assert limits["false_alert_limit"] < chosen < limits["alert_limit"] and "weak" not in limits
    rates = bench_chip.alert_rates(found, chosen)
    assert rates["false_alerts"] <= 0.01 and rates["alerts"] >= 0.95


def test_crossing_limits_keep_the_false_alerts_and_say_so() -> None:
    rng = np.random.default_rng(2)
    found = bench_chip.Substitution(
        rng.normal(0.5, 0.08, 2000), rng.normal(0.7, 0.08, 20000).astype(np.float32), np.empty(0), 0
    )
    chosen, limits = bench_chip.fit_alert(found)
    assert chosen == limits["false_alert_limit"] and "weak" in limits
    assert bench_chip.alert_rates(found, chosen)["false_alerts"] <= 0.01


# -- a tiny run ----------------------------------------------------------------------------------


def test_a_tiny_e_passport_set_of_faces_dev_people(faces_dev: Path, tmp_path: Path) -> None:
    people = ["Barack_Obama", "George_Clooney", "Leonardo_DiCaprio", "Matt_Damon"]
    photos = {name: sorted(p.name for p in (faces_dev / name).iterdir())[:2] for name in people}
    rows = []
    for at, name in enumerate(people):
        other = people[(at + 1) % len(people)]
        left = f"{name}/{photos[name][0]}"
        rows.append({"a": left, "b": f"{name}/{photos[name][1]}", "same": "1", "fold": str(at % 2)})
        rows.append({"a": left, "b": f"{other}/{photos[other][1]}", "same": "0", "fold": str(at % 2)})
    passports = bench_chip.build_set(faces_dev, rows, tmp_path / "set", workers=1)
    assert passports.chip_bytes.size == len(people) and np.all(passports.chip_bytes <= 20_000)
    for page in np.unique(passports.page):  # a page flagged grey was printed grey
        pixels = cv2.imread(str(passports.dataset.root / passports.dataset.images[page]))
        assert pixels is not None
        assert passports.grey[page] == bool(np.all(pixels[..., 0] == pixels[..., 2]))
    found = bench_chip.embed_set(passports, "", workers=1)
    substitution = bench_chip.substitution_distances(passports, found)
    assert substitution.lost == 0 and substitution.genuine.size == len(people)
    assert substitution.impostor.size == len(people) * (len(people) - 1)  # every stranger's page
    # a page printed from the chip's own photo lies nearer to it than most strangers' pages
    assert np.median(substitution.genuine) < np.median(substitution.impostor)
    chip_live = bench_chip.distances(found, passports.grey, passports.chip, passports.live, match=False)
    figures = bench_chip.verification(chip_live, passports.same, passports.fold, load_profile())
    assert figures["genuine_pairs"] == figures["impostor_pairs"] == len(people)
    assert 0.0 <= figures["genuine_not_matched"] <= 1.0 and figures["fmr_at_accept"] == 0.0
