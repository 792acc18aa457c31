"""A document-against-live profile: fitted on document portraits against live photos (its
thresholds chosen on those comparisons only), recorded as such, and named in every verdict."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor.pipeline.profile import load_profile
from impostor.pipeline.verifier import Verifier
from impostor.printing import WEARS, DocumentStyle, render_document
from impostor.qa import EvaluationConfig, run_calibration

SAMPLES = Path(__file__).resolve().parent.parent.parent / "samples"


@pytest.fixture(scope="module")
def printed(verifier: Verifier, faces_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """faces-dev laid out one folder a person, each pair's left photo printed as an ID card's
    portrait beside the live photos; the pair list names document, then live photo."""
    root = tmp_path_factory.mktemp("printed")
    with (faces_dev / "pairs.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    listed = []
    for number, row in enumerate(rows):
        left, right = Path(row["a"]), Path(row["b"])
        document = root / left.parent / f"{left.stem}-card.png"
        if not document.exists():
            located = verifier.locate(faces_dev / left, "document")
            assert located.boxes and located.landmarks is not None
            eyes = (located.landmarks.left_eye, located.landmarks.right_eye)
            portrait = render_document(
                located.image.pixels,
                located.boxes[0],
                DocumentStyle(colour=number % 2 == 0, seed=number),
                eyes=eyes,
                wear=WEARS["card"],
            )
            document.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(document), cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR))
        live = root / right
        if not live.exists():
            live.parent.mkdir(parents=True, exist_ok=True)
            live.symlink_to(faces_dev / right)
        listed.append([document.relative_to(root).as_posix(), right.as_posix(), row["same"]])
    with (root / "pairs.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same"])
        writer.writerows(listed)
    return root


def test_a_document_profile_is_fitted_on_document_against_live_comparisons(
    printed: Path, tmp_path: Path
) -> None:
    config = EvaluationConfig(cache="", workers=1, progress=False, comparison="document", grey_match=True)
    out = tmp_path / "document.json"
    profile = run_calibration(printed, out, pairs_file=printed / "pairs.csv", config=config, allow_weak=True)
    assert profile.comparison == "document" and profile.pipeline["grey_match"] is True
    saved = json.loads(out.read_text())
    assert saved["pipeline"]["comparison"] == "document"
    photo = run_calibration(
        printed,
        tmp_path / "photo.json",
        pairs_file=printed / "pairs.csv",
        allow_weak=True,
        config=EvaluationConfig(cache="", workers=1, progress=False, grey_match=True),
    )
    assert photo.comparison == "photo"
    # documents against live photos lie further apart than photos among themselves: the
    # document profile accepts at a larger distance for the same false-match rate
    assert profile.accept_distance > photo.accept_distance
    counts = profile.provenance["calibration_pairs"]
    assert counts["genuine"] > 50 and counts["impostor"] > 50


def test_the_verdict_names_the_profile_and_what_it_compares(verifier: Verifier) -> None:
    verdict = Verifier(load_profile(), embedder=verifier.embedder).verify(
        SAMPLES / "document.png", SAMPLES / "live_genuine.jpg"
    )
    assert verdict.to_dict()["profile"]["comparison"] == "photo"
    assert load_profile("default").name == "default"
    shipped = load_profile("document")
    assert shipped.comparison == "document" and shipped.pipeline["grey_match"] is True
    assert shipped.provenance["heldout"]["at_accept"]["threshold"] == shipped.accept_distance
    with pytest.raises(Exception, match="comparison"):
        from impostor.pipeline.profile import Profile

        Profile.from_dict({**load_profile().to_dict(), "pipeline": {"comparison": "sketch"}}, "x.json")
    assert np.isfinite(load_profile("default").accept_distance)
