"""The QA report end to end on synthetic scored pairs with the shipped profile: the figures it
computes (checked against metrics and direct counts), and the files it writes (JSON, CSV, PNG,
one self-contained HTML page)."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
from dataclasses import replace
from html import escape as html_escape
from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor.errors import DatasetError, OutputError
from impostor.pipeline.profile import Profile, load_profile
from impostor.qa import metrics
from impostor.qa.error_sources import CAUSES, PairAttributes
from impostor.qa.outputs import write_report
from impostor.qa.report import Context, PairScores, Report, build_report

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile()


def synthetic_scores(
    profile: Profile, *, pairs: int = 400, people: int = 40, folds: bool = True, lost: int = 12, seed: int = 0
) -> PairScores:
    """Genuine distances near 0.45 and impostor near 0.70 (overlapping, like a weak camera),
    ``lost`` pairs with no face, and one image path carrying a script tag."""
    rng = np.random.default_rng(seed)
    a_id = rng.integers(0, people, pairs)
    same = np.arange(pairs) % 2 == 0
    b_id = np.where(same, a_id, (a_id + rng.integers(1, people, pairs)) % people)
    distance = np.where(same, rng.normal(0.45, 0.08, pairs), rng.normal(0.70, 0.08, pairs)).clip(0.05)
    distance[rng.choice(pairs, lost, replace=False)] = np.nan
    a = [f"person_{p:03d}/photo_{k}.jpg" for k, p in enumerate(a_id)]
    b = [f"person_{p:03d}/photo_{k + 1}.jpg" for k, p in enumerate(b_id)]
    # the hardest impostor pair (smallest distance) is always listed: give it the script tag
    hardest = int(np.nanargmin(np.where(same, np.nan, distance)))
    a[hardest] = f"{EVIL}/photo.jpg"
    return PairScores(
        a=tuple(a),
        b=tuple(b),
        a_identity=a_id,
        b_identity=b_id,
        same=same,
        fold=np.arange(pairs) % 10 if folds else None,
        distance=distance,
        probability=profile.calibration.probability(distance),
    )


def context(profile: Profile, title: str = "Synthetic counter photos") -> Context:
    return Context(
        title=title,
        dataset={
            "root": "/data/counter",
            "images": 500,
            "people": 40,
            "skipped": 2,
            "skipped_examples": [
                {"path": f"person_001/{EVIL}.jpg", "reason": "not an image"},
                {"path": "person_002/tiny.png", "reason": "smaller than 32 px"},
            ],
        },
        pairs_source="pairs.csv",
        pairs_skipped=3,
        images=500,
        people=40,
        fta_images=7,
        profile=profile,
        pipeline={"impostor": "0.1.0", "detector": "hog", "jitters": 0},
        command=f"impostor benchmark data --out 'out {EVIL}'",
        created="2026-11-23T10:00:00+00:00",
    )


@pytest.fixture(scope="module")
def scores(profile: Profile) -> PairScores:
    return synthetic_scores(profile)


@pytest.fixture(scope="module")
def report(scores: PairScores, profile: Profile) -> Report:
    return build_report(scores, context(profile), bootstrap_rounds=200)


@pytest.fixture(scope="module")
def written(report: Report, scores: PairScores, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_report(report, scores, tmp_path_factory.mktemp("report") / "new" / "folder")


# --- figures ------------------------------------------------------------------------------


def test_counts_include_lost_pairs_and_failures_to_acquire(report: Report, scores: PairScores) -> None:
    c = report.counts
    lost = np.isnan(scores.distance)
    assert (c.pairs, c.genuine_pairs, c.impostor_pairs) == (400, 200, 200)
    assert c.lost_genuine == int((lost & scores.same).sum())
    assert c.lost_impostor == int((lost & ~scores.same).sum())
    assert c.lost_genuine + c.lost_impostor == 12
    assert (c.images, c.people, c.fta_images, c.pairs_skipped) == (500, 40, 7, 3)
    assert c.scored_genuine == c.genuine_pairs - c.lost_genuine


def test_figures_agree_with_metrics_on_the_scored_pairs(report: Report, scores: PairScores) -> None:
    found = ~np.isnan(scores.distance)
    g, i = scores.distance[found & scores.same], scores.distance[found & ~scores.same]
    assert report.eer == metrics.eer(g, i)
    for target, row in zip((1e-2, 1e-3, 1e-4), report.operating_points, strict=True):
        assert row.point == metrics.fnmr_at_fmr(g, i, target)
        assert row.fnmr_ci is not None and row.fnmr_ci.rounds > 0
        assert row.fnmr_ci.low <= row.fnmr_ci.high
    accept, reject = report.profile_thresholds
    assert (accept.name, reject.name) == ("accept", "reject")
    assert (accept.fmr, accept.fnmr) == metrics.rates_at(g, i, report.context.profile.accept_distance)
    assert (reject.fmr, reject.fnmr) == metrics.rates_at(g, i, report.context.profile.reject_distance)
    assert report.min_cllr <= report.cllr < 1
    assert report.folds is not None
    expected = metrics.fold_accuracy(scores.distance, scores.same, scores.fold)
    assert report.folds.accuracy.tolist() == expected.accuracy.tolist()


def test_system_rates_count_lost_genuine_pairs_as_rejections(report: Report, scores: PairScores) -> None:
    """FRR = (lost genuine + rejected genuine) / genuine pairs; FAR = accepted / impostor pairs."""
    d, same = scores.distance, scores.same
    for row in report.profile_thresholds:
        accepted = d <= row.threshold  # False for NaN: a lost pair is never accepted
        assert row.frr == pytest.approx(np.sum(same & ~accepted) / np.sum(same))
        assert row.far == pytest.approx(np.sum(~same & accepted) / np.sum(~same))
    assert report.profile_thresholds[0].frr > report.profile_thresholds[0].fnmr


def test_outcomes_follow_the_counters_three_way_rule(report: Report, scores: PairScores) -> None:
    p = report.context.profile
    genuine, impostor = report.outcomes
    assert (genuine.truth, impostor.truth) == ("genuine", "impostor")
    d = scores.distance[scores.same]
    assert genuine.match == np.sum(d <= p.accept_distance)
    assert genuine.no_match == np.sum(d > p.reject_distance)
    assert genuine.refer_no_face == np.sum(np.isnan(d))
    assert genuine.total == 200 and impostor.total == 200


def test_cllr_removes_the_profiles_fitting_prior(report: Report, profile: Profile) -> None:
    fitted = profile.provenance["calibration_pairs"]
    assert report.prior == fitted["genuine"] / (fitted["genuine"] + fitted["impostor"])


def test_hardest_pairs_are_the_largest_genuine_and_smallest_impostor_distances(report: Report) -> None:
    genuine = [x.distance for x in report.hardest_genuine]
    impostor = [x.distance for x in report.hardest_impostor]
    assert genuine == sorted(genuine, reverse=True) and len(genuine) == 10
    assert impostor == sorted(impostor)
    assert report.hardest_impostor[0].a.startswith(EVIL)
    assert all(math.isnan(x.distance) for x in report.lost_examples) and len(report.lost_examples) == 10


def test_no_folds_and_no_bootstrap(profile: Profile) -> None:
    scores = synthetic_scores(profile, folds=False, lost=0, seed=1)
    report = build_report(scores, context(profile), bootstrap_rounds=0)
    assert report.folds is None and report.to_dict()["folds"] is None
    assert all(row.fnmr_ci is None for row in report.operating_points)
    assert report.counts.lost_genuine == report.counts.lost_impostor == 0
    assert "folds" not in report.summary()


def test_a_report_needs_scored_pairs_of_both_kinds(profile: Profile) -> None:
    scores = synthetic_scores(profile, lost=0)
    distance = np.where(scores.same, scores.distance, np.nan)
    only_genuine = PairScores(
        scores.a,
        scores.b,
        scores.a_identity,
        scores.b_identity,
        scores.same,
        scores.fold,
        distance,
        profile.calibration.probability(distance),
    )
    with pytest.raises(DatasetError, match="0 impostor pairs have a distance"):
        build_report(only_genuine, context(profile), bootstrap_rounds=0)


def test_pair_scores_are_validated(profile: Profile) -> None:
    scores = synthetic_scores(profile)
    with pytest.raises(ValueError, match="400 pairs in a but"):
        PairScores(
            scores.a,
            scores.b[:-1],
            scores.a_identity,
            scores.b_identity,
            scores.same,
            None,
            scores.distance,
            scores.probability,
        )
    with pytest.raises(ValueError, match="probability"):
        PairScores(
            scores.a,
            scores.b,
            scores.a_identity,
            scores.b_identity,
            scores.same,
            None,
            scores.distance,
            np.nan_to_num(scores.probability),
        )


def test_summary_names_the_key_figures(report: Report) -> None:
    text = report.summary()
    assert "EER" in text and "FNMR at FMR 0.001" in text and "accuracy over 10 folds" in text
    scored_impostors = report.counts.scored_impostor
    assert f"not enough impostor pairs: {scored_impostors} < 3/FMR = 30,000" in text


# --- files --------------------------------------------------------------------------------


def test_every_file_is_written(written: dict[str, Path]) -> None:
    names = {"report.json", "scores.csv", "histogram.png", "det.png", "roc.png", "report.html"}
    assert set(written) == names
    assert all(path.is_file() and path.stat().st_size > 0 for path in written.values())


def test_json_round_trips_and_holds_the_figures(report: Report, written: dict[str, Path]) -> None:
    data = json.loads(written["report.json"].read_text(encoding="utf-8"))
    assert data == report.to_dict()
    assert data["schema"] == "impostor.report/1"
    assert data["title"] == "Synthetic counter photos"
    shipped = load_profile()
    assert data["profile"]["name"] == "default"
    assert data["profile"]["accept_distance"] == shipped.accept_distance
    assert data["counts"]["lost_genuine"] + data["counts"]["lost_impostor"] == 12
    assert set(data["eer"]) == {"rate", "threshold"}
    targets = {row["target_fmr"]: row for row in data["operating_points"]}
    assert set(targets) == {1e-2, 1e-3, 1e-4}
    for row in targets.values():
        assert {"threshold", "fmr", "fnmr", "fnmr_ci", "far", "frr", "enough_data", "note"} <= set(row)
        assert row["fmr"] <= row["target_fmr"]
    assert targets[1e-4]["enough_data"] is False
    assert targets[1e-4]["note"].startswith("not enough impostor pairs: ")
    assert [t["name"] for t in data["profile_thresholds"]] == ["accept", "reject"]
    assert set(data["calibration"]) == {"cllr", "min_cllr", "prior"}
    assert len(data["folds"]["folds"]) == 10 and 0.5 < data["folds"]["mean"] <= 1
    assert data["lost_examples"][0]["distance"] is None  # NaN is written as null
    assert data["dataset"]["skipped_examples"][0]["reason"] == "not an image"
    assert len(data["det"]["fmr"]) == len(data["det"]["fnmr"]) <= 256
    assert data["conventions"]


def test_csv_rows_match_the_scores(scores: PairScores, written: dict[str, Path]) -> None:
    with written["scores.csv"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["a", "b", "same", "fold", "distance", "probability"]
    assert len(rows) == len(scores)
    for k, row in enumerate(rows):
        assert (row["a"], row["b"]) == (scores.a[k], scores.b[k])
        assert row["same"] == str(int(scores.same[k]))
        assert scores.fold is not None and row["fold"] == str(scores.fold[k])
        if math.isnan(scores.distance[k]):
            assert row["distance"] == row["probability"] == ""
        else:
            assert float(row["distance"]) == scores.distance[k]  # written to round-trip exactly
            assert float(row["probability"]) == scores.probability[k]


FORMULAS = (
    "=cmd|' -c calc'!A0.jpg",
    "+SUM(1+1)*cmd|' -c calc'!A0.jpg",
    '@HYPERLINK("http://example.com/x","photo").jpg',
    "-2+3+cmd|' -c calc'!A0.jpg",
)


def test_csv_cells_never_open_as_formulas(
    report: Report, scores: PairScores, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Image paths come from whoever named the files: a spreadsheet must show them, not run them."""
    a, b = list(scores.a), list(scores.b)
    a[: len(FORMULAS)] = [f"{name}" for name in FORMULAS]
    b[len(FORMULAS) : 2 * len(FORMULAS)] = [f"{name}" for name in FORMULAS]
    hostile = replace(scores, a=tuple(a), b=tuple(b))
    written = write_report(report, hostile, tmp_path_factory.mktemp("hostile"))
    with written["scores.csv"].open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    assert all(cell[:1] not in ("=", "+", "-", "@") for row in rows for cell in row)
    assert [row[0] for row in rows[: len(FORMULAS)]] == [f"'{name}" for name in FORMULAS]
    assert [row[1] for row in rows[len(FORMULAS) : 2 * len(FORMULAS)]] == [f"'{name}" for name in FORMULAS]
    assert rows[-1][0] == scores.a[-1]  # an ordinary path is written as it is


@pytest.mark.parametrize("name", ["histogram.png", "det.png", "roc.png"])
def test_plots_decode_at_a_readable_size(written: dict[str, Path], name: str) -> None:
    image = cv2.imread(str(written[name]))
    assert image is not None, name
    height, width = image.shape[:2]
    assert width >= 800 and height >= 600
    assert image.std() > 20  # drawn on, not blank


def test_html_is_self_contained(written: dict[str, Path]) -> None:
    page = written["report.html"].read_text(encoding="utf-8")
    # the base64 payloads are data, not references: drop them before looking for links
    text = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page)
    assert "http" not in text.lower()
    assert "<script" not in text.lower() and "<link" not in text.lower()
    assert "url(" not in text and "@import" not in text and 'src="data:' in text


def test_html_embeds_the_plots(written: dict[str, Path]) -> None:
    page = written["report.html"].read_text(encoding="utf-8")
    payloads = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(payloads) == 3
    files = {written[name].read_bytes() for name in ("histogram.png", "det.png", "roc.png")}
    assert {base64.b64decode(p) for p in payloads} == files


def test_html_escapes_strings_from_data(written: dict[str, Path]) -> None:
    page = written["report.html"].read_text(encoding="utf-8")
    assert EVIL not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert page.count(escaped) >= 3  # the skipped file, the hardest impostor pair, the command


def test_html_shows_the_reviewers_sections(report: Report, written: dict[str, Path]) -> None:
    page = written["report.html"].read_text(encoding="utf-8")
    for text in (
        "<h1>Synthetic counter photos</h1>",
        "Data set and pairs",
        "smaller than 32 px",
        "default",
        report.context.profile.version,
        html_escape(str(report.context.profile.provenance["calibration_data"])),
        "FNMR at target FMR",
        "95% CI",
        "The profile's thresholds",
        "REFER (no face)",
        "Cllr",
        "minCllr",
        "Accuracy per fold",
        "2026-11-23T10:00:00+00:00",
        "impostor benchmark data --out",
    ):
        assert text in page, text
    assert "not enough impostor pairs: " in page  # FMR 1e-4 on a few hundred impostor pairs


def test_html_without_folds_has_no_fold_table(profile: Profile, tmp_path: Path) -> None:
    scores = synthetic_scores(profile, folds=False, seed=2)
    report = build_report(scores, context(profile), bootstrap_rounds=0)
    paths = write_report(report, scores, tmp_path)
    page = paths["report.html"].read_text(encoding="utf-8")
    assert "Accuracy per fold" not in page
    with paths["scores.csv"].open(newline="") as handle:
        assert all(row["fold"] == "" for row in csv.DictReader(handle))


def test_an_unwritable_folder_is_an_output_error(report: Report, scores: PairScores, tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write the report"):
        write_report(report, scores, blocker)


# --- where the errors come from ------------------------------------------------------------


def with_attributes(scores: PairScores, seed: int = 0) -> PairScores:
    rng = np.random.default_rng(seed)
    n = len(scores)
    attributes = PairAttributes(
        rng.choice([1, 1, 1, 1, 2], (n, 2)),
        rng.normal(0, 15, (n, 2)),
        rng.normal(40, 6, (n, 2)),
        rng.random((n, 2)) < 0.03,
        np.zeros((n, 2), dtype=np.int64),
    )
    return replace(scores, attributes=attributes)


def test_with_folds_the_errors_are_those_of_fold_accuracy(profile: Profile, tmp_path: Path) -> None:
    scores = with_attributes(synthetic_scores(profile))
    report = build_report(scores, context(profile), bootstrap_rounds=0)
    sources, folds = report.error_sources, report.folds
    assert sources is not None and folds is not None
    assert sources.errors == round(float(np.sum((1 - folds.accuracy) * folds.pairs)))
    assert sources.causes[0].errors == int(np.isnan(scores.distance).sum())  # every lost pair
    assert "errors (each fold at the threshold chosen on the other folds" in report.summary()

    paths = write_report(report, scores, tmp_path)
    data = json.loads(paths["report.json"].read_text(encoding="utf-8"))["error_sources"]
    assert data["errors"] == sources.errors and data["pairs"] == len(scores)
    assert [c["code"] for c in data["causes"]] == [code for code, _ in CAUSES]
    for cause in data["causes"]:
        assert cause["errors"] == cause["false_match"] + cause["false_non_match"] + cause["lost_impostor"]
        assert 0 <= cause["share_of_pairs_with_attribute"] <= 1
    page = paths["report.html"].read_text(encoding="utf-8")
    assert "<h2>Where the errors come from</h2>" in page and "share of errors" in page
    assert EVIL not in page


def test_without_folds_the_errors_are_at_the_accept_threshold(profile: Profile) -> None:
    scores = with_attributes(synthetic_scores(profile, folds=False, seed=3), seed=3)
    report = build_report(scores, context(profile), bootstrap_rounds=0)
    assert report.error_sources is not None
    d, same, accept = scores.distance, scores.same, profile.accept_distance
    accepted = d <= accept  # False for NaN: a lost pair is never accepted
    assert report.error_sources.errors == int(np.sum(~same & accepted) + np.sum(same & ~accepted))
    assert report.error_sources.causes[0].lost_impostor == 0
    assert f"accept threshold {accept:.4f}" in report.error_sources.rule


def test_scores_without_attributes_have_no_section(profile: Profile) -> None:
    report = build_report(synthetic_scores(profile), context(profile), bootstrap_rounds=0)
    assert report.error_sources is None and report.to_dict()["error_sources"] is None
    assert "errors (" not in report.summary()


def test_attributes_must_match_the_pairs(profile: Profile) -> None:
    scores = synthetic_scores(profile)
    short = with_attributes(synthetic_scores(profile, pairs=100, people=20, lost=2))
    with pytest.raises(ValueError, match="attributes"):
        replace(scores, attributes=short.attributes)
