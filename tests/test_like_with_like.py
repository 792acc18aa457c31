"""Comparing like with like: a grey document portrait against a colour photo is compared in grey,
in a verification and in a benchmark, and only when the profile (or the caller) asks."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from impostor.pipeline.verifier import Verifier, grey_chip, is_grey_chip
from impostor.qa import EvaluationConfig, run_benchmark

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DOCUMENT = SAMPLES / "document.png"  # a grey, printed-and-scanned portrait
LIVE = SAMPLES / "live_genuine.jpg"


def test_a_grey_document_turns_the_live_face_grey_when_asked(verifier: Verifier) -> None:
    plain = Verifier(verifier.profile, embedder=verifier.embedder, flip=False, grey_match=False)
    matched = Verifier(verifier.profile, embedder=verifier.embedder, flip=False, grey_match=True)
    before, after = plain.verify(DOCUMENT, LIVE), matched.verify(DOCUMENT, LIVE)
    assert before.document.face is not None and before.live.face is not None
    assert is_grey_chip(before.document.face.chip) and not is_grey_chip(before.live.face.chip)
    in_grey = verifier.embedder.embed([grey_chip(before.live.face.chip)])[0]
    assert after.live.face is not None
    np.testing.assert_allclose(after.live.face.embedding, in_grey, atol=1e-6)
    np.testing.assert_allclose(after.document.face.embedding, before.document.face.embedding, atol=1e-6)
    assert after.distance != before.distance
    # two colour photos are compared as they are
    both = matched.verify(LIVE, SAMPLES / "live_genuine_dim.jpg")
    assert both.distance == pytest.approx(plain.verify(LIVE, SAMPLES / "live_genuine_dim.jpg").distance)


def test_the_verifier_follows_the_profile_unless_told(verifier: Verifier) -> None:
    assert Verifier(verifier.profile).grey_match is bool(verifier.profile.pipeline.get("grey_match", False))
    assert Verifier(verifier.profile, grey_match=True).grey_match


def test_a_benchmark_scores_a_grey_pair_in_grey(verifier: Verifier, tmp_path: Path) -> None:
    for name in ("document.png", "live_genuine.jpg", "live_genuine_dim.jpg", "live_impostor.jpg"):
        folder = tmp_path / ("person" if "impostor" not in name else "other")
        folder.mkdir(exist_ok=True)
        shutil.copy(SAMPLES / name, folder / name)
    listed = tmp_path / "pairs.csv"
    with listed.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same"])
        writer.writerow(["person/document.png", "person/live_genuine.jpg", 1])
        writer.writerow(["person/live_genuine.jpg", "person/live_genuine_dim.jpg", 1])
        writer.writerow(["person/document.png", "other/live_impostor.jpg", 0])
    reports = {}
    for grey_match in (False, True):
        config = EvaluationConfig(cache="", workers=1, progress=False, grey_match=grey_match)
        report, paths = run_benchmark(None, tmp_path / f"out-{grey_match}", pairs_file=listed, config=config)
        with paths["scores.csv"].open(newline="") as handle:
            reports[grey_match] = [float(row["distance"]) for row in csv.DictReader(handle)]
        assert report.context.pipeline["grey_match"] is grey_match
    plain, matched = reports[False], reports[True]
    assert matched[1] == pytest.approx(plain[1])  # colour against colour: unchanged
    assert matched[0] != pytest.approx(plain[0]) and matched[2] != pytest.approx(plain[2])
    grey_verifier = Verifier(verifier.profile, embedder=verifier.embedder, flip=False, grey_match=True)
    assert matched[0] == pytest.approx(grey_verifier.verify(DOCUMENT, LIVE).distance, abs=1e-4)
