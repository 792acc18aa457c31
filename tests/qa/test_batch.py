"""Embedding a data set: in this process, on two local processes, from the cache, on a Dask cluster.

The data set is built in tmp_path from links to a dozen small faces-dev photos, plus the odd
files a real folder holds: a copy of a photo, a blank picture, a file that is not an image, an
empty one, and a photo enlarged past the size at which JPEGs are decoded at reduced scale.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor.errors import ClusterError
from impostor.pipeline.verifier import Verifier
from impostor.qa.batch import EmbeddingSet, embed_dataset
from impostor.qa.cache import EmbeddingCache
from impostor.qa.dataset import Dataset, scan
from impostor.stages.quality import assess, unified_score, yaw_degrees

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

PHOTOS = (
    "Eric_Clapton/openface_clapton-2.jpg",
    "Jack_Dorsey/deepface_img16.jpg",
    "Jack_Dorsey/deepface_img62.jpg",
    "Jennifer_Aniston/deepface_img12.jpg",
    "Jennifer_Aniston/deepface_img55.jpg",
    "Katy_Perry/deepface_img44.jpg",
    "Katy_Perry/deepface_img46.jpg",
    "Scarlett_Johansson/deepface_img50.jpg",
    "Scarlett_Johansson/deepface_img51.jpg",
    "Sundar_Pichai/deepface_img25.jpg",
)
FAILURES = {
    "Blank/grey.png": "no face found",
    "Broken/empty.jpg": "the file is empty",
    "Broken/text.jpg": "not an image (no known image format)",
}
ENLARGED = 9  # Sundar_Pichai/deepface_img25.jpg, 400 × 400, saved at 3,600 × 3,600


@pytest.fixture(scope="module")
def dataset(faces_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    root = tmp_path_factory.mktemp("batch") / "set"
    for photo in PHOTOS:
        (root / photo).parent.mkdir(parents=True, exist_ok=True)
        (root / photo).symlink_to(faces_dev / photo)
    (root / "Copy").mkdir()
    (root / "Copy" / "clapton.jpg").write_bytes((faces_dev / PHOTOS[0]).read_bytes())
    (root / "Blank").mkdir()
    cv2.imwrite(str(root / "Blank" / "grey.png"), np.full((240, 320, 3), 128, dtype=np.uint8))
    (root / "Broken").mkdir()
    (root / "Broken" / "empty.jpg").write_bytes(b"")
    (root / "Broken" / "text.jpg").write_text("not a photograph\n")
    small = cv2.imread(str(faces_dev / "Sundar_Pichai/deepface_img25.jpg"))
    large = cv2.resize(small, None, fx=ENLARGED, fy=ENLARGED, interpolation=cv2.INTER_CUBIC)
    (root / "Large").mkdir()
    cv2.imwrite(str(root / "Large" / "pichai.jpg"), large, [cv2.IMWRITE_JPEG_QUALITY, 95])
    result = scan(root)
    assert len(result.images) == len(PHOTOS) + 5
    return result


@pytest.fixture(scope="module")
def in_process(dataset: Dataset) -> EmbeddingSet:
    return embed_dataset(dataset, workers=1, progress=False)


def assert_same(one: EmbeddingSet, other: EmbeddingSet) -> None:
    """Bit for bit: the same embeddings, failures, inter-eye distances and image attributes."""
    assert np.array_equal(one.found, other.found)
    assert one.failures == other.failures
    assert one.vectors.tobytes() == other.vectors.tobytes()
    assert one.inter_eye.tobytes() == other.inter_eye.tobytes()
    assert one.yaw.tobytes() == other.yaw.tobytes()
    assert one.quality.tobytes() == other.quality.tobytes()
    assert np.array_equal(one.faces_found, other.faces_found)
    assert np.array_equal(one.rotated, other.rotated)
    assert one.detector == other.detector


def position(dataset: Dataset, image: str) -> int:
    return dataset.index()[image]


def test_shapes_and_failures(dataset: Dataset, in_process: EmbeddingSet) -> None:
    n = len(dataset.images)
    assert in_process.vectors.shape == (n, 128) and in_process.vectors.dtype == np.float64
    assert in_process.found.shape == in_process.inter_eye.shape == (n,)
    assert in_process.from_cache == 0
    failures = {image: why for image, why in zip(dataset.images, in_process.failures, strict=True) if why}
    assert failures == FAILURES
    assert in_process.fta == pytest.approx(3 / n)
    missing = ~in_process.found
    assert np.isnan(in_process.vectors[missing]).all() and np.isnan(in_process.inter_eye[missing]).all()
    assert np.isfinite(in_process.vectors[~missing]).all() and (in_process.inter_eye[~missing] > 10).all()


def test_embeddings_are_the_verifiers(dataset: Dataset, in_process: EmbeddingSet) -> None:
    verifier = Verifier(detector="hog", flip=False)  # as the batch was asked
    for image in PHOTOS[:3]:
        side = verifier.analyse(dataset.root / image)
        assert side.face is not None
        at = position(dataset, image)
        assert in_process.vectors[at].tobytes() == side.face.embedding.astype(np.float64).tobytes()
        assert in_process.inter_eye[at] == side.face.landmarks.inter_eye_distance
        assert in_process.yaw[at] == yaw_degrees(side.face.landmarks)
        assert in_process.faces_found[at] == side.faces_found >= 1
        assert in_process.rotated[at] == side.rotated_degrees == 0
        assert in_process.detector[at] == side.detector == "hog"


def test_what_may_explain_an_error_is_recorded_per_image(dataset: Dataset, in_process: EmbeddingSet) -> None:
    found = in_process.found
    assert in_process.faces_found.shape == in_process.yaw.shape == in_process.rotated.shape == found.shape
    assert (in_process.faces_found[found] >= 1).all() and (in_process.faces_found[~found] == 0).all()
    assert np.isnan(in_process.yaw[~found]).all() and (np.abs(in_process.yaw[found]) < 90).all()
    assert [d is not None for d in in_process.detector] == found.tolist()
    assert set(in_process.detector) <= {"hog", "cnn", None}


def test_each_face_has_a_unified_quality_score(dataset: Dataset, in_process: EmbeddingSet) -> None:
    found = in_process.found
    assert in_process.quality.shape == found.shape and np.isnan(in_process.quality[~found]).all()
    assert ((in_process.quality[found] >= 0) & (in_process.quality[found] <= 100)).all()
    side = Verifier(detector="hog").analyse(dataset.root / PHOTOS[1])
    assert side.face is not None
    report = assess(side.image, [side.face.box], side.face.landmarks, side="live")
    expected = min(m.score for m in report.measures if m.limit is not None)  # the weakest gated measure
    assert in_process.quality[position(dataset, PHOTOS[1])] == unified_score(report) == expected


def test_a_copy_shares_its_original_embedding(dataset: Dataset, in_process: EmbeddingSet) -> None:
    original, copy = position(dataset, PHOTOS[0]), position(dataset, "Copy/clapton.jpg")
    assert in_process.vectors[original].tobytes() == in_process.vectors[copy].tobytes()


def test_inter_eye_distance_is_in_full_resolution_pixels(dataset: Dataset, in_process: EmbeddingSet) -> None:
    small = in_process.inter_eye[position(dataset, "Sundar_Pichai/deepface_img25.jpg")]
    large = in_process.inter_eye[position(dataset, "Large/pichai.jpg")]
    assert large == pytest.approx(small * ENLARGED, rel=0.05)


def test_two_processes_give_what_one_gives(dataset: Dataset, in_process: EmbeddingSet) -> None:
    assert_same(embed_dataset(dataset, workers=2, progress=False), in_process)


def test_the_cache_answers_a_second_run(
    dataset: Dataset, in_process: EmbeddingSet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        first = embed_dataset(dataset, workers=1, cache=cache, progress=True)
        second = embed_dataset(dataset, workers=1, cache=cache)
        other_pipeline = embed_dataset(dataset, workers=1, cache=cache, pick="central", progress=False)
    assert capsys.readouterr().err == ""  # no progress bar when stderr is not a terminal
    assert first.from_cache == 0
    assert_same(first, in_process)
    assert second.from_cache == len(dataset.images)
    assert_same(second, in_process)
    assert other_pipeline.from_cache == 0


def test_a_file_gone_since_the_scan_is_a_failure_not_a_crash(dataset: Dataset, tmp_path: Path) -> None:
    gone = Dataset(dataset.root, ("Gone/gone.jpg", PHOTOS[0]), ("Gone", PHOTOS[0].split("/")[0]), ())
    with EmbeddingCache(tmp_path / "cache.sqlite") as cache:
        result = embed_dataset(gone, workers=1, cache=cache, progress=False)
        again = embed_dataset(gone, workers=1, cache=cache, progress=False)
    assert result.failures == ("cannot be read (No such file or directory)", None)
    assert result.found.tolist() == [False, True]
    assert again.from_cache == 1  # the photo; the missing file is never cached


def test_a_dask_cluster_gives_what_one_process_gives(dataset: Dataset, in_process: EmbeddingSet) -> None:
    from distributed import LocalCluster

    chosen = [position(dataset, image) for image in (*PHOTOS[:6], "Broken/text.jpg", "Blank/grey.png")]
    subset = Dataset(
        dataset.root,
        tuple(dataset.images[i] for i in chosen),
        tuple(dataset.identities[i] for i in chosen),
        (),
    )
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_cluster = embed_dataset(subset, scheduler=cluster.scheduler_address, progress=False)
    expected = EmbeddingSet(
        in_process.vectors[chosen],
        in_process.found[chosen],
        tuple(in_process.failures[i] for i in chosen),
        in_process.inter_eye[chosen],
        0,
        faces_found=in_process.faces_found[chosen],
        yaw=in_process.yaw[chosen],
        detector=tuple(in_process.detector[i] for i in chosen),
        rotated=in_process.rotated[chosen],
        quality=in_process.quality[chosen],
    )
    assert_same(on_cluster, expected)
    assert on_cluster.from_cache == 0


def test_an_unreachable_scheduler_is_a_cluster_error(dataset: Dataset) -> None:
    import dask
    import distributed  # noqa: F401  its defaults must be in dask's config before the set below,
    # whose exit would otherwise remove the whole "distributed" section the import added

    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(
            ClusterError, match="tcp://127.0.0.1:9: cannot reach the Dask scheduler"
        ) as caught:
            embed_dataset(dataset, scheduler="tcp://127.0.0.1:9", progress=False)
    assert "\n" not in str(caught.value)


def test_a_scheduler_without_workers_is_a_cluster_error(dataset: Dataset) -> None:
    import dask
    from distributed import LocalCluster

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster,
        pytest.raises(ClusterError, match="the Dask scheduler has no workers"),
    ):
        embed_dataset(dataset, scheduler=cluster.scheduler_address, progress=False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"workers": 0}, "workers must be a whole number >= 1"),
        ({"workers": 2, "scheduler": "tcp://127.0.0.1:8786"}, "not both"),
        ({"detector": "haar"}, "detector must be .*, not 'haar'"),
        ({"pick": "first"}, "pick must be one of largest, central, not 'first'"),
        ({"jitters": -1}, "jitters must be a whole number >= 0, not -1"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(
    dataset: Dataset, arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        embed_dataset(dataset, progress=False, **arguments)  # type: ignore[arg-type]


def test_a_scheduler_address_that_is_no_address_ends_the_command(tmp_path: Path) -> None:
    # a Dask client refused for its address leaves its event-loop thread behind: the command
    # printed its error and then never exited
    for person, name in (
        ("collins", "document.png"),
        ("collins", "live_genuine.jpg"),
        ("hopper", "live_impostor.jpg"),
    ):
        (tmp_path / "people" / person).mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / name, tmp_path / "people" / person / name)
    command = [sys.executable, str(ROOT / "cli.py"), "benchmark", str(tmp_path / "people")]
    ran = subprocess.run(
        [*command, "--scheduler", "garbage:::", "--no-cache", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 13, ran.stderr
    assert "garbage:::" in ran.stderr and "Traceback" not in ran.stderr
