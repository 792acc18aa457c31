"""The reference pipeline's scoring, on small synthetic vectors (no models, no photos)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from impostor.qa.baseline import PLAIN_ACCEPT_DISTANCE, count_errors, plain_decisions, read_pairs


def slow_count(
    vectors: dict[str, np.ndarray | None], pairs: list[tuple[str, str, bool]], t: float
) -> tuple[int, int, int]:
    false_matches = false_non_matches = lost = 0
    for a, b, same in pairs:
        first, second = vectors[a], vectors[b]
        if first is None or second is None:
            lost += 1
            continue
        accepted = float(np.sqrt(np.sum((first - second) ** 2))) <= t
        false_matches += int(accepted and not same)
        false_non_matches += int(not accepted and same)
    return false_matches, false_non_matches, lost


def test_count_errors_agrees_with_a_loop() -> None:
    rng = np.random.default_rng(7)
    names = [f"p{i // 3}/{i}.jpg" for i in range(12)]
    vectors: dict[str, np.ndarray | None] = {name: rng.normal(0, 0.05, 128) for name in names}
    vectors[names[4]] = None  # a failure to acquire
    pairs = [(a, b, a.split("/")[0] == b.split("/")[0]) for a, b in combinations(names, 2)]
    for threshold in (0.3, PLAIN_ACCEPT_DISTANCE, 0.9):
        result = count_errors(vectors, pairs, threshold)
        assert (result.false_matches, result.false_non_matches, result.lost) == slow_count(
            vectors, pairs, threshold
        )
        assert result.lost == 11
        assert result.genuine + result.impostor == result.pairs == len(pairs)
        assert result.errors == result.false_matches + result.false_non_matches + result.lost


def test_accept_is_at_or_below_the_distance() -> None:
    vectors = {"a": np.zeros(128), "b": np.r_[0.6, np.zeros(127)], "c": np.r_[0.61, np.zeros(127)]}
    result = count_errors(vectors, [("a", "b", True), ("a", "c", True)], 0.6)
    assert (result.false_non_matches, result.false_matches) == (1, 0)
    assert plain_decisions([0.6, 0.61, None]).tolist() == [True, False, False]


def test_a_missing_image_is_named() -> None:
    with pytest.raises(KeyError, match="'b.jpg'"):
        count_errors({"a.jpg": np.zeros(128)}, [("a.jpg", "b.jpg", False)], 0.6)


def test_read_pairs(tmp_path: Path) -> None:
    good = tmp_path / "pairs.csv"
    good.write_bytes(b"a,b,same\r\nx/1.jpg,x/2.jpg,1\r\nx/1.jpg,y/1.jpg,0\r\n")
    assert read_pairs(good) == [("x/1.jpg", "x/2.jpg", True), ("x/1.jpg", "y/1.jpg", False)]
    bad = tmp_path / "bad.csv"
    bad.write_text("left,right\nx,y\n")
    with pytest.raises(ValueError, match="expected columns a, b, same"):
        read_pairs(bad)
