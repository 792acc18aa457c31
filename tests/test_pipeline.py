"""The whole pipeline on real faces: samples, real photographs, odd inputs, results and pictures."""

from __future__ import annotations

import csv
import dataclasses
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

import impostor
from impostor.engine.detectors import Backend, Detector, Effort, Pass, detector_named
from impostor.errors import OutputError
from impostor.pipeline import composite
from impostor.pipeline.verifier import Verifier, _cached_verifier
from impostor.stages.capture import load_image
from impostor.types import Decision, FaceBox, RGBImage, Verdict

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
DOCUMENT = SAMPLES / "document.png"


def codes(verdict: Verdict) -> list[str]:
    return [reason.code for reason in verdict.reasons]


def read_rgb(path: Path) -> RGBImage:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def pairs(faces_dev: Path, same: bool) -> list[tuple[str, str]]:
    with (faces_dev / "pairs.csv").open(newline="") as handle:
        return [
            (row["a"], row["b"]) for row in csv.DictReader(handle) if row["same"] == ("1" if same else "0")
        ]


# -- the bundled samples -------------------------------------------------------------------


def test_genuine_samples_match(verifier: Verifier) -> None:
    for name in ("live_genuine.jpg", "live_genuine_dim.jpg"):
        verdict = verifier.verify(DOCUMENT, SAMPLES / name)
        assert verdict.decision is Decision.MATCH, (name, verdict.distance, codes(verdict))
        assert verdict.distance is not None and verdict.distance <= verdict.accept_distance
        assert verdict.probability is not None and verdict.probability > 0.5
        assert verdict.reasons == ()


def test_impostor_sample_does_not_match(verifier: Verifier) -> None:
    verdict = verifier.verify(DOCUMENT, SAMPLES / "live_impostor.jpg")
    assert verdict.decision is Decision.NO_MATCH, (verdict.distance, codes(verdict))
    assert verdict.distance is not None and verdict.distance > verdict.reject_distance
    assert verdict.probability is not None and verdict.probability < 0.5
    assert "different_person" in codes(verdict)


def test_two_faces_in_view_refer(verifier: Verifier) -> None:
    verdict = verifier.verify(DOCUMENT, SAMPLES / "live_two_faces.jpg")
    assert verdict.decision is Decision.REFER
    assert "live_multiple_faces" in codes(verdict)
    assert verdict.live.faces_found == 2
    # the faces were still compared: the refusal is about who stands there, not the likeness
    assert verdict.distance is not None and verdict.distance <= verdict.accept_distance


# -- real photographs ----------------------------------------------------------------------


def test_genuine_pairs_match_or_fall_short_of_rejection(verifier: Verifier, faces_dev: Path) -> None:
    # the first pair of each of the first eight identities in pairs.csv
    chosen: dict[str, tuple[str, str]] = {}
    for a, b in pairs(faces_dev, same=True):
        chosen.setdefault(a.split("/")[0], (a, b))
    assert len(chosen) >= 8
    failures = []
    for a, b in list(chosen.values())[:8]:
        verdict = verifier.verify(faces_dev / a, faces_dev / b)
        if verdict.distance is None or verdict.distance > verdict.reject_distance:
            failures.append((a, b, verdict.decision.value, verdict.distance, codes(verdict)))
        elif verdict.decision is not Decision.MATCH:
            # short of MATCH only for want of evidence: an inconclusive distance, or a failed
            # quality gate (Katy_Perry/deepface_img27.jpg has 46 px between the eyes, under the
            # live limit of 50)
            gates = {
                f"{side.name}_{measure.name}"
                for side in (verdict.document, verdict.live)
                if side.quality
                for measure in side.quality.failures
            }
            assert codes(verdict) and set(codes(verdict)) <= {"inconclusive", *gates}, (a, b, codes(verdict))
    assert not failures, failures


def test_impostor_pairs_do_not_match(verifier: Verifier, faces_dev: Path) -> None:
    impostors = pairs(faces_dev, same=False)[::20]
    assert len(impostors) >= 8
    outcomes = [(a, b, verifier.verify(faces_dev / a, faces_dev / b)) for a, b in impostors]
    wrong = [
        (a, b, v.decision.value, v.distance) for a, b, v in outcomes if v.decision is not Decision.NO_MATCH
    ]
    assert not wrong, wrong


# -- the forms an image can take -----------------------------------------------------------


def test_path_bytes_and_array_give_the_same_distance(verifier: Verifier) -> None:
    live = SAMPLES / "live_genuine.jpg"
    by_path = verifier.verify(DOCUMENT, live)
    by_bytes = verifier.verify(DOCUMENT.read_bytes(), live.read_bytes())
    by_array = verifier.verify(read_rgb(DOCUMENT), read_rgb(live))
    # face_recognition's convention: an RGB array decoded by Pillow
    by_pillow = verifier.verify(np.asarray(Image.open(DOCUMENT).convert("RGB")), np.asarray(Image.open(live)))
    assert by_path.distance is not None
    assert by_bytes.distance == pytest.approx(by_path.distance, abs=1e-6)
    assert by_array.distance == pytest.approx(by_path.distance, abs=1e-6)
    # two JPEG decoders may round a few pixels differently; the face must not notice
    assert by_pillow.distance == pytest.approx(by_path.distance, abs=0.02)
    assert {v.decision for v in (by_path, by_bytes, by_array, by_pillow)} == {Decision.MATCH}
    assert by_bytes.live.image.info.source == "image bytes"
    assert by_array.live.image.info.format == "array"


def test_photo_on_its_side_is_turned_to_find_the_face(verifier: Verifier, tmp_path: Path) -> None:
    upright = read_rgb(SAMPLES / "live_genuine.jpg")
    for turn, expected in ((cv2.ROTATE_90_CLOCKWISE, 270), (cv2.ROTATE_90_COUNTERCLOCKWISE, 90)):
        path = tmp_path / f"sideways_{expected}.png"  # PNG written by OpenCV: no EXIF orientation
        cv2.imwrite(str(path), cv2.cvtColor(cv2.rotate(upright, turn), cv2.COLOR_RGB2BGR))
        verdict = verifier.verify(DOCUMENT, path)
        assert verdict.live.image.info.exif_orientation == 1
        assert verdict.live.rotated_degrees == expected
        assert verdict.live.image.shape == upright.shape[:2]  # reported in the turned frame
        assert "live_rotated" in codes(verdict)
        # informational: the turn does not change the decision
        assert verdict.decision is Decision.MATCH, (expected, verdict.distance, codes(verdict))


def gradient(height: int = 96, width: int = 128) -> RGBImage:
    """A faceless image. Small on purpose: a faceless image is searched in every rotation and by
    the CNN, whose cost grows with the pixels, and a small one proves the same."""
    ramp = np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1))
    return np.ascontiguousarray(np.dstack([ramp, ramp[:, ::-1], np.full_like(ramp, 128)]))


def test_live_without_a_face_refers(verifier: Verifier) -> None:
    verdict = verifier.verify(DOCUMENT, gradient())
    assert verdict.decision is Decision.REFER
    assert codes(verdict) == ["live_no_face"]
    assert verdict.probability is None and verdict.distance is None
    assert verdict.live.face is None and verdict.live.faces_found == 0
    assert verdict.document.face is not None


@dataclass(frozen=True, eq=False)
class Watched:
    """A real detector that notes each look it takes (the ``Detector`` seam: nothing replaced)."""

    real: Detector
    seen: list[tuple[str, tuple[int, ...], int]]

    @property
    def name(self) -> Backend:
        return self.real.name

    @property
    def fast(self) -> bool:
        return self.real.fast

    @property
    def margin_scores(self) -> bool:
        return self.real.margin_scores

    def passes(self, effort: Effort, side: int, longest: int) -> list[Pass]:
        return self.real.passes(effort, side, longest)

    def find(self, image: np.ndarray, upsample: int) -> list[FaceBox]:
        self.seen.append((self.name, image.shape[:2], upsample))
        return self.real.find(image, upsample)


def test_each_search_makes_a_bounded_set_of_passes_on_an_empty_photo(
    verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The passes each search makes when there is no face: a live photo's rescue looks at a
    quarter of the pixels, and only a document's search looks for a small face."""
    seen: list[tuple[str, tuple[int, ...], int]] = []
    finder = dataclasses.replace(
        verifier.finder,
        first=Watched(detector_named("hog"), seen),
        fallback=Watched(detector_named("cnn"), seen),
    )
    empty = cv2.resize(gradient(), (1600, 1200))
    expected = {
        "upright": [("hog", (480, 640), 0), ("hog", (480, 640), 1)],
        "thorough": [
            ("hog", (480, 640), 0),
            ("hog", (480, 640), 0),  # the colour pass
            ("hog", (320, 240), 0),
            ("hog", (320, 240), 0),
            ("hog", (240, 320), 0),
            ("cnn", (240, 320), 0),
        ],
        "exhaustive": [
            ("hog", (480, 640), 0),
            ("hog", (480, 640), 0),
            ("hog", (640, 480), 0),
            ("hog", (640, 480), 0),
            ("hog", (480, 640), 0),
            ("cnn", (480, 640), 0),
            ("hog", (960, 1280), 0),  # a small face in a large photo
        ],
    }
    monkeypatch.setenv("IMPOSTOR_RESCUE", "none")  # a document's own rescue steps: below
    for search, passes in expected.items():
        seen.clear()
        located = finder.locate(load_image(empty), "live", search=search)  # type: ignore[arg-type]
        assert located.chip is None
        assert seen == passes, (search, seen)
    monkeypatch.delenv("IMPOSTOR_RESCUE")
    seen.clear()  # two restored copies (HOG, then the CNN, each) and six tilted ones, before the last
    finder.locate(load_image(empty), "document")
    rescue = seen[len(expected["exhaustive"]) - 1 : -1]
    assert [detector for detector, _, _ in rescue] == ["hog", "cnn"] * 2 + ["hog"] * 6, seen
    assert all(max(size) < 800 for _, size, _ in rescue) and seen[-1] == expected["exhaustive"][-1]
    seen.clear()  # an image with no finer pixels than the search size is upsampled instead
    finder.locate(load_image(cv2.resize(empty, (400, 300))), "document")
    assert ("cnn", (300, 400), 0) in seen and seen[-1] == ("hog", (300, 400), 1), seen


def test_an_upright_live_search_neither_turns_nor_calls_the_cnn(verifier: Verifier, tmp_path: Path) -> None:
    station = Verifier(live_search="upright", embedder=verifier.embedder)
    sideways = tmp_path / "sideways.png"
    cv2.imwrite(
        str(sideways), cv2.rotate(cv2.imread(str(SAMPLES / "live_genuine.jpg")), cv2.ROTATE_90_CLOCKWISE)
    )
    verdict = station.verify(DOCUMENT, sideways)  # a counter camera is never on its side
    assert verdict.decision is Decision.REFER and codes(verdict) == ["live_no_face"]
    assert station.verify(DOCUMENT, SAMPLES / "live_genuine.jpg").decision is Decision.MATCH
    # the document side is still searched thoroughly
    assert station.verify(sideways, SAMPLES / "live_genuine.jpg").document.rotated_degrees == 270
    with pytest.raises(ValueError, match="'sideways'"):
        Verifier(live_search="sideways")  # type: ignore[arg-type]


def test_a_frame_check_gives_the_faces_and_the_live_gates(verifier: Verifier) -> None:
    frame = verifier.check_frame(SAMPLES / "live_genuine.jpg")
    assert len(frame.boxes) == 1 and frame.quality is not None and frame.passed
    empty = verifier.check_frame(gradient())
    assert empty.boxes == () and empty.quality is None and not empty.passed
    crowd = verifier.check_frame(SAMPLES / "live_two_faces.jpg")
    assert len(crowd.boxes) == 2 and not crowd.passed


def test_compare_reuses_located_sides(verifier: Verifier) -> None:
    document = verifier.locate(DOCUMENT, "document")
    live = verifier.locate(SAMPLES / "live_impostor.jpg", "live", search="upright")
    assert verifier.compare(document, live).decision is Decision.NO_MATCH


def test_document_without_a_face_refers(verifier: Verifier) -> None:
    from skimage import data

    coffee = cv2.resize(data.coffee(), (150, 100), interpolation=cv2.INTER_AREA)  # small: see gradient()
    verdict = verifier.verify(np.ascontiguousarray(coffee), SAMPLES / "live_genuine.jpg")
    assert verdict.decision is Decision.REFER
    assert codes(verdict) == ["document_no_face"]
    assert verdict.probability is None and verdict.distance is None
    assert verdict.document.face is None


def test_neither_side_with_a_face_gives_both_reasons(verifier: Verifier) -> None:
    verdict = verifier.verify(gradient(), gradient()[:, ::-1].copy())
    assert verdict.decision is Decision.REFER
    assert codes(verdict) == ["document_no_face", "live_no_face"]


# -- several faces -------------------------------------------------------------------------


MULTI_FACE = (
    "fr_two_people.jpg",
    "fr_kit_with_rose.jpg",
    "openface_longoria-cooper.jpg",
    "deepface_selfie-many-people.jpg",
)


@pytest.mark.parametrize("name", MULTI_FACE)
def test_several_live_faces_are_reported(verifier: Verifier, extras: Path, name: str) -> None:
    verdict = verifier.verify(DOCUMENT, extras / "multi_face" / name)
    assert verdict.live.faces_found >= 2
    assert "live_multiple_faces" in codes(verdict)
    assert verdict.decision is not Decision.MATCH  # none of them is the document's holder
    widths = verdict.live.face_widths
    assert list(widths) == sorted(widths, reverse=True)


def test_document_takes_its_largest_face(verifier: Verifier, faces_dev: Path, extras: Path) -> None:
    # Kit Harington stands nearer the camera than Rose Leslie in this photo
    document = extras / "multi_face" / "fr_kit_with_rose.jpg"
    kit = verifier.verify(document, faces_dev / "Kit_Harington" / "fr_john1.jpeg")
    rose = verifier.verify(document, faces_dev / "Rose_Leslie" / "fr_img1.jpg")
    assert kit.document.faces_found == 2
    assert kit.document.face is not None
    assert kit.document.face.box.width == max(kit.document.face_widths)
    # Kit's face was the one compared: within the accept distance. A second face is no reason
    # to refuse a document (data pages carry a ghost portrait), but this group photo is small
    # for a portrait, so any REFER is for the document's size alone
    assert kit.distance is not None and kit.distance <= kit.accept_distance, (kit.distance, codes(kit))
    assert "document_single_face" not in codes(kit)
    assert all(reason.side == "document" for reason in kit.reasons), codes(kit)
    assert rose.distance is not None and rose.distance > rose.reject_distance, (rose.distance, codes(rose))


def side_by_side(big: RGBImage, big_scale: float, small: RGBImage, small_scale: float) -> RGBImage:
    """Two photos, each resized by its scale, side by side on a grey page."""
    left = cv2.resize(big, None, fx=big_scale, fy=big_scale, interpolation=cv2.INTER_CUBIC)
    right = cv2.resize(small, None, fx=small_scale, fy=small_scale, interpolation=cv2.INTER_AREA)
    height, width = max(left.shape[0], right.shape[0]), left.shape[1] + 40 + right.shape[1]
    canvas = np.full((height, width, 3), 200, dtype=np.uint8)
    canvas[: left.shape[0], : left.shape[1]] = left
    canvas[: right.shape[0], left.shape[1] + 40 :] = right
    return canvas


def test_document_largest_face_on_a_made_up_page(verifier: Verifier, grace_hopper: RGBImage) -> None:
    # search the whole page at full size so that both faces are found and the choice is real
    whole_page = Verifier(verifier.profile, detect_side=1400)
    live = SAMPLES / "live_genuine.jpg"
    collins = read_rgb(DOCUMENT)  # her face is 151 px wide here; Hopper's is 216 px in her photo
    collins_large = whole_page.verify(side_by_side(collins, 1.0, grace_hopper, 0.45), live)
    hopper_large = whole_page.verify(side_by_side(grace_hopper, 1.0, read_rgb(live), 0.8), live)
    for verdict in (collins_large, hopper_large):
        widths = verdict.document.face_widths
        assert len(widths) == 2 and widths[0] > 1.5 * widths[1], widths
        assert verdict.document.face is not None and verdict.document.face.box.width == widths[0]
    # the largest face is the one compared; a second face on a page (a ghost portrait, say) is
    # no reason to refuse the document
    assert collins_large.distance is not None and collins_large.distance <= collins_large.accept_distance
    assert hopper_large.distance is not None and hopper_large.distance > hopper_large.reject_distance
    assert collins_large.decision is Decision.MATCH, codes(collins_large)
    assert hopper_large.decision is Decision.NO_MATCH, codes(hopper_large)


# -- the result ----------------------------------------------------------------------------


def test_verdict_to_dict_has_the_fields_and_is_json(verifier: Verifier) -> None:
    verdict = verifier.verify(DOCUMENT, SAMPLES / "live_genuine.jpg")
    record = json.loads(json.dumps(verdict.to_dict()))
    assert record["decision"] == "MATCH"
    assert isinstance(record["probability"], float) and 0.0 <= record["probability"] <= 1.0
    assert isinstance(record["distance"], float) and record["distance"] == round(verdict.distance or 0, 4)
    assert isinstance(record["reasons"], list)
    for side in ("document", "live"):
        part = record[side]
        assert set(part["box"]) >= {"left", "top", "right", "bottom", "width", "height"}
        assert len(part["landmarks"]) == 5
        assert all(len(point) == 2 for point in part["landmarks"].values())
        assert part["face_size_px"]["width"] > 0 and part["face_size_px"]["inter_eye_distance"] > 0
    assert record["profile"]["name"] == verdict.profile.name == "default"
    assert record["profile"]["version"] == verdict.profile.version
    assert record["timings_ms"]["total"] >= 0


def test_verdict_to_dict_without_a_face(verifier: Verifier) -> None:
    record = json.loads(json.dumps(verifier.verify(DOCUMENT, gradient()).to_dict()))
    assert record["decision"] == "REFER"
    assert record["probability"] is None and record["distance"] is None
    assert all(isinstance(reason, str) and reason for reason in record["reasons"])
    assert record["reason_codes"] == ["live_no_face"]
    assert record["live"]["box"] is None and record["live"]["landmarks"] is None
    assert record["live"]["face_size_px"] is None


def test_verify_reuses_its_cached_verifier() -> None:
    live = SAMPLES / "live_genuine.jpg"
    first = impostor.verify(DOCUMENT, live)
    before = _cached_verifier.cache_info()
    second = impostor.verify(DOCUMENT, live)
    after = _cached_verifier.cache_info()
    assert after.hits == before.hits + 1
    assert after.misses == before.misses
    assert first.decision is second.decision is Decision.MATCH
    assert first.distance == second.distance


# -- the embedder seam ---------------------------------------------------------------------


class GapEmbedder:
    """Stands in for the engine: the n-th chip it is given lies ``n * gap`` from the first,
    whether the two come in one batch or (``parallel``) one a thread, in either order."""

    name = "fake-gap"

    def __init__(self, gap: float, parallel: bool = False) -> None:
        self.gap, self.parallel = gap, parallel
        self.calls: list[tuple[int, int]] = []  # (chips, jitters)
        self._lock = threading.Lock()

    def embed(self, chips: Sequence[RGBImage], jitters: int = 0) -> NDArray[np.float64]:
        for chip in chips:
            assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
        with self._lock:
            first = sum(count for count, _ in self.calls)
            self.calls.append((len(chips), jitters))
        vectors = np.zeros((len(chips), 128))
        vectors[:, 0] = self.gap * (first + np.arange(len(chips)))
        return vectors


@pytest.mark.parametrize(
    ("where", "decision", "reason"),
    [
        ("below accept", Decision.MATCH, None),
        ("between", Decision.REFER, "inconclusive"),
        ("above reject", Decision.NO_MATCH, "different_person"),
    ],
)
@pytest.mark.parametrize("parallel", [False, True])
def test_decision_follows_the_distance_from_the_embedder(
    verifier: Verifier, where: str, decision: Decision, reason: str | None, parallel: bool
) -> None:
    profile = verifier.profile
    gap = {
        "below accept": profile.accept_distance - 0.05,
        "between": (profile.accept_distance + profile.reject_distance) / 2,
        "above reject": profile.reject_distance + 0.05,
    }[where]
    fake = GapEmbedder(gap, parallel)
    verdict = Verifier(profile, embedder=fake, jitters=3, flip=False).verify(
        DOCUMENT, SAMPLES / "live_genuine.jpg"
    )
    # both chips in one batch, or (an engine that lets go of the lock) one a side; jitters passed
    assert fake.calls == ([(1, 3), (1, 3)] if parallel else [(2, 3)])
    assert verdict.distance == pytest.approx(gap)
    assert verdict.probability == pytest.approx(profile.probability(gap))
    assert verdict.decision is decision
    assert codes(verdict) == ([reason] if reason else [])


def test_fake_embedder_sees_only_the_faces_found(verifier: Verifier) -> None:
    fake = GapEmbedder(0.1)
    verdict = Verifier(verifier.profile, embedder=fake, flip=False).verify(DOCUMENT, gradient())
    assert fake.calls == [(1, 0)]
    assert verdict.decision is Decision.REFER and verdict.distance is None
    assert verdict.document.face is not None and verdict.document.face.embedding[0] == 0.0


# -- the composite picture -----------------------------------------------------------------


def test_composite_render_is_a_picture_with_a_banner(verifier: Verifier) -> None:
    for live in (SAMPLES / "live_genuine.jpg", SAMPLES / "live_impostor.jpg", gradient()):
        picture = composite.render(verifier.verify(DOCUMENT, live))
        assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
        assert picture.shape[1] == 640  # two 320-px panels
        banner = picture[:90].reshape(-1, 3)
        background = banner[0]
        written = np.any(banner != background, axis=1).mean()
        assert 0.01 < written < 0.5  # lettering on a plain coloured band


def test_composite_banner_colour_follows_the_decision(verifier: Verifier) -> None:
    match = composite.render(verifier.verify(DOCUMENT, SAMPLES / "live_genuine.jpg"))
    no_match = composite.render(verifier.verify(DOCUMENT, SAMPLES / "live_impostor.jpg"))
    red, green = (no_match[0, 0].astype(int), match[0, 0].astype(int))
    assert green[1] > green[0] and red[0] > red[1]


def test_composite_write_and_read_back(verifier: Verifier, tmp_path: Path) -> None:
    verdict = verifier.verify(DOCUMENT, SAMPLES / "live_genuine.jpg")
    written = composite.write(verdict, tmp_path / "comparison.png")
    back = cv2.imread(str(written))
    assert back is not None and back.shape == composite.render(verdict).shape


def test_composite_write_to_a_missing_folder_raises(verifier: Verifier, tmp_path: Path) -> None:
    verdict = verifier.verify(DOCUMENT, SAMPLES / "live_genuine.jpg")
    with pytest.raises(OutputError, match="does not exist"):
        composite.write(verdict, tmp_path / "missing" / "comparison.png")
    with pytest.raises(OutputError, match=".png or .jpg"):
        composite.write(verdict, tmp_path / "comparison.gif")
    assert list(tmp_path.iterdir()) == []
