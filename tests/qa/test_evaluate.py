"""QA benchmark and calibration end to end, through the CLI, on the real dev set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.pipeline.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def cache(embedding_cache: Path) -> Path:
    return embedding_cache


@pytest.fixture(scope="module")
def small_set(faces_dev: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five people of the dev set, linked (not copied) into a folder of their own."""
    root = tmp_path_factory.mktemp("small")
    people = ["Angelina_Jolie", "Barack_Obama", "Jennifer_Aniston", "Matt_Damon", "Leonardo_DiCaprio"]
    for person in people:
        (root / person).mkdir()
        for photo in sorted((faces_dev / person).iterdir())[:3]:
            (root / person / photo.name).symlink_to(photo)
    return root


@pytest.fixture(scope="module")
def dev_report(faces_dev: Path, cache: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("dev-report")
    result = CliRunner().invoke(
        main,
        [
            "benchmark",
            str(faces_dev),
            "--out",
            str(out),
            "--impostors",
            "all",
            "--cache",
            str(cache),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    return out, result


def test_benchmark_writes_every_part_of_the_report(dev_report: tuple[Path, object]) -> None:
    out, result = dev_report
    for name in ("report.json", "report.html", "scores.csv"):
        assert (out / name).is_file(), name
    assert list(out.glob("*.png")), "plots are written as PNG"
    report = json.loads((out / "report.json").read_text())
    text = json.dumps(report)
    for field in ("eer", "fta", "cllr"):
        assert field in text.lower(), field
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "http" not in html.replace("http-equiv", "")
    assert "report.html" in result.output  # type: ignore[attr-defined]


def test_benchmark_scores_every_dev_pair(dev_report: tuple[Path, object], faces_dev: Path) -> None:
    out, _ = dev_report
    with (out / "scores.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    same = sum(row["same"] in ("1", "True", "true") for row in rows)
    # all genuine pairs and all impostor pairs among the 87 dev images: the 3,741 of pairs_all.csv
    assert len(rows) == 3741 and same == 173, (len(rows), same)
    distances = np.array([float(row["distance"]) for row in rows if row["distance"] not in ("", "nan")])
    assert distances.size == 3741 and np.all(distances >= 0)


def test_second_run_is_answered_by_the_cache(faces_dev: Path, cache: Path, tmp_path: Path) -> None:
    from impostor.qa.cache import EmbeddingCache, file_digest, pipeline_key

    stored = EmbeddingCache(cache)
    try:
        from impostor.pipeline.profile import load_profile

        # a benchmark embeds as the profile it scores with was fitted: the shipped one with --flip
        flip = bool(load_profile().pipeline.get("flip"))
        key = pipeline_key(detector="auto", pick="largest", jitters=0, flip=flip)
        photos = sorted(p for p in faces_dev.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        found = stored.get_many([file_digest(p) for p in photos], key)
    finally:
        stored.close()
    assert len(found) == len(photos), "every dev image is cached after the first benchmark"


def test_benchmark_with_a_pair_list_and_folds(small_set: Path, cache: Path, tmp_path: Path) -> None:
    images = sorted(str(p.relative_to(small_set)) for p in small_set.glob("*/*"))
    pairs = tmp_path / "pairs.csv"
    with pairs.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "same", "fold"])
        for k, (a, b) in enumerate(zip(images, images[1:], strict=False)):
            writer.writerow([a, b, int(a.split("/")[0] == b.split("/")[0]), k % 2])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "benchmark",
            str(small_set),
            "--pairs",
            str(pairs),
            "--out",
            str(out),
            "--cache",
            str(cache),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert "fold" in json.dumps(report).lower()


def test_benchmark_reports_where_the_errors_come_from(small_set: Path, cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["benchmark", str(small_set), "--out", str(out), "--cache", str(cache), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    section = report["error_sources"]
    assert [c["code"] for c in section["causes"]] == [
        "no_face",
        "several_faces",
        "head_turned",
        "low_resolution",
        "cnn_fallback",
        "none",
    ]
    assert section["pairs"] == report["counts"]["pairs"]
    assert section["errors"] == sum(c["errors"] for c in section["causes"])
    # no folds: the errors are those at the profile's accept threshold, recounted from scores.csv
    accept = report["profile"]["accept_distance"]
    with (out / "scores.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    accepted = [row["distance"] != "" and float(row["distance"]) <= accept for row in rows]
    false_match = sum(ok and row["same"] == "0" for ok, row in zip(accepted, rows, strict=True))
    false_non_match = sum(not ok and row["same"] == "1" for ok, row in zip(accepted, rows, strict=True))
    assert sum(c["false_match"] for c in section["causes"]) == false_match
    assert sum(c["false_non_match"] for c in section["causes"]) == false_non_match
    for cause in section["causes"]:
        assert cause["pairs_with_attribute"] <= section["pairs"]
        for example in cause["examples"]:
            assert (small_set / example["a"]).is_file() and (small_set / example["b"]).is_file()
            assert all(n >= 1 for n in example["faces_found"])  # every dev image has a face
            assert all(px > 20 for px in example["inter_eye"])
    assert "<h2>Where the errors come from</h2>" in (out / "report.html").read_text()
    assert "errors (the profile's accept threshold" in result.output

    # error versus reject: every scored pair ranked by quality, the curve starting at the plain rates
    erc = report["error_versus_reject"]
    scored = report["counts"]["scored_genuine"] + report["counts"]["scored_impostor"]
    assert erc["pairs"] == scored and erc["unmeasured"] == 0 and erc["threshold"] == accept
    shares = [point["share"] for point in erc["points"]]
    assert shares == [0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]
    start = erc["points"][0]
    assert start["rejected"] == 0 and start["genuine_pairs"] + start["impostor_pairs"] == scored
    assert start["fnmr"] == start["random_fnmr"]
    assert (out / "erc.png").read_bytes().startswith(b"\x89PNG")
    assert "Error versus reject" in (out / "report.html").read_text()
    assert "rejecting the lowest-quality 10% of comparisons: FNMR" in result.output


def test_benchmark_on_a_dask_cluster_equals_the_local_run(small_set: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    local_out, cluster_out = tmp_path / "local", tmp_path / "cluster"
    local = CliRunner().invoke(
        main,
        ["benchmark", str(small_set), "--out", str(local_out), "--no-cache", "--workers", "1", "--quiet"],
    )
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = CliRunner().invoke(
            main,
            [
                "benchmark",
                str(small_set),
                "--out",
                str(cluster_out),
                "--no-cache",
                "--scheduler",
                cluster.scheduler_address,
                "--quiet",
            ],
        )
    assert remote.exit_code == 0, remote.output
    assert (local_out / "scores.csv").read_text() == (cluster_out / "scores.csv").read_text()


def test_calibrate_writes_a_profile_that_compare_can_use(
    faces_dev: Path, cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dev.json"
    result = CliRunner().invoke(
        main,
        [
            "calibrate",
            str(faces_dev),
            "--out",
            str(out),
            "--impostors",
            "all",
            "--target-fmr",
            "0.01",
            "--cache",
            str(cache),
            "--quiet",
            "--allow-weak",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "WEAK" in result.output and "genuine pairs for FNMR 0.01, 300 needed" in result.output
    profile = load_profile(out)
    assert profile.weak, "faces-dev has 76 genuine training pairs: too few for FNMR 1%"
    assert profile.name == "dev" and 0 < profile.accept_distance <= profile.reject_distance < 1.2
    provenance = profile.provenance
    assert provenance["calibration_pairs"]["genuine"] > 0 and provenance["threshold_pairs"]["impostor"] > 0
    assert (
        "heldout" in provenance
        and "fitted" in provenance
        and provenance["command"].startswith("impostor calibrate")
    )
    compare = CliRunner().invoke(
        main,
        ["compare", str(SAMPLES / "document.png"), str(SAMPLES / "live_genuine.jpg"), "--profile", str(out)],
    )
    assert compare.exit_code in (0, 3), compare.output
    assert f"profile dev {profile.version}" in compare.output
    assert "fitted on too little data" in compare.output


def test_calibrate_refuses_to_ship_a_weak_profile(faces_dev: Path, cache: Path, tmp_path: Path) -> None:
    """faces-dev cannot back FMR 0.1% (3,000 impostor pairs needed): exit 16, and no file."""
    out = tmp_path / "dev.json"
    result = CliRunner().invoke(
        main, ["calibrate", str(faces_dev), "--out", str(out), "--cache", str(cache), "--quiet"]
    )
    assert result.exit_code == 16, result.output
    assert result.stderr.startswith("WeakProfile: ") and result.stderr.count("\n") == 1
    assert "3,000 needed" in result.stderr and "--allow-weak" in result.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["benchmark", "/no/such/folder", "--out", "OUT"], 12, "DatasetError"),
        (["benchmark", "DATA", "--pairs", "/no/such/pairs.csv", "--out", "OUT"], 12, "DatasetError"),
        (["benchmark", "DATA", "--out", "OUT", "--profile", "/no/such/profile.json"], 9, "ProfileError"),
        (["benchmark", "DATA", "--out", "OUT", "--impostors", "many"], 2, "impostors"),
        (["calibrate", "/no/such/folder", "--out", "OUT/p.json"], 12, "DatasetError"),
    ],
)
def test_bad_qa_input_is_one_line_and_an_exit_code(
    faces_dev: Path, tmp_path: Path, args: list[str], code: int, words: str
) -> None:
    args = [a.replace("DATA", str(faces_dev)).replace("OUT", str(tmp_path / "out")) for a in args]
    result = CliRunner().invoke(main, [*args, "--quiet", "--no-cache"])
    assert result.exit_code == code, result.output
    assert words in result.output and "Traceback" not in result.output


def test_calibrate_refuses_its_training_list_as_the_held_out_one(faces_dev: Path, tmp_path: Path) -> None:
    """The same list twice leaves no image to choose thresholds on: said at once, before any
    embedding, not as an internal error after it."""
    pairs = str(faces_dev / "pairs.csv")
    out = tmp_path / "p.json"
    result = CliRunner().invoke(
        main, ["calibrate", str(faces_dev), "--pairs", pairs, "--heldout-pairs", pairs, "--out", str(out)]
    )
    assert result.exit_code == 12, result.output
    assert result.stderr.startswith(f"DatasetError: {pairs}: holds every image of the training pairs")
    assert result.stderr.count("\n") == 1 and "--heldout-pairs" in result.stderr
    assert not out.exists()
