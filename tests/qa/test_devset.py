"""The must-show: on every faces-dev pair, our pipeline errs no more than plain face_recognition.

Both pipelines embed each of the 87 photos once (module-scoped fixtures; ours through the run's
shared embedding cache, as ``impostor benchmark`` would); the 3,741 pairs are then scored with
arrays. A pair where either image yields no face counts as an error for the pipeline that lost
it. The plain pipeline runs HOG on the full-resolution photos, about half a second to a second
each, so it runs on two processes.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from impostor.qa import EmbeddingCache, embed_dataset, scan
from impostor.qa.baseline import PLAIN_ACCEPT_DISTANCE, PairErrors, count_errors, plain_embedding, read_pairs

Vectors = dict[str, np.ndarray | None]


@pytest.fixture(scope="module")
def pairs(faces_dev: Path) -> list[tuple[str, str, bool]]:
    return read_pairs(faces_dev / "pairs_all.csv")


@pytest.fixture(scope="module")
def images(pairs: list[tuple[str, str, bool]]) -> list[str]:
    return sorted({name for a, b, _ in pairs for name in (a, b)})


@pytest.fixture(scope="module")
def ours(faces_dev: Path, embedding_cache: Path, images: list[str]) -> Vectors:
    dataset = scan(faces_dev)
    with EmbeddingCache(embedding_cache) as cache:
        embedded = embed_dataset(dataset, cache=cache, workers=2, progress=False)
    vectors = dict(zip(dataset.images, embedded.vectors, strict=True))
    return {name: None if np.isnan(vectors[name][0]) else vectors[name] for name in images}


@pytest.fixture(scope="module")
def plain(faces_dev: Path, images: list[str]) -> Vectors:
    # face_recognition holds Python's lock while dlib works: two processes use both cores
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        found = pool.map(plain_embedding, [faces_dev / name for name in images])
        return dict(zip(images, found, strict=True))


def test_the_pair_list_is_the_documented_one(pairs: list[tuple[str, str, bool]], images: list[str]) -> None:
    genuine = sum(same for _, _, same in pairs)
    assert (len(images), len(pairs), genuine) == (87, 3741, 173)


def test_we_find_a_face_wherever_plain_does(ours: Vectors, plain: Vectors) -> None:
    lost = sorted(name for name in plain if plain[name] is not None and ours[name] is None)
    assert not lost, f"plain face_recognition finds a face in these and we do not: {lost}"


def test_no_more_errors_than_plain_at_its_threshold(
    pairs: list[tuple[str, str, bool]], ours: Vectors, plain: Vectors
) -> None:
    theirs = count_errors(plain, pairs, PLAIN_ACCEPT_DISTANCE)
    mine = count_errors(ours, pairs, PLAIN_ACCEPT_DISTANCE)
    assert mine.errors <= theirs.errors, (
        f"at distance <= {PLAIN_ACCEPT_DISTANCE}: ours {describe(mine)}; plain {describe(theirs)}; "
        f"pairs only we get wrong: {wrong_only(pairs, ours, plain)[:10]}"
    )


def describe(result: PairErrors) -> str:
    return (
        f"{result.errors} errors ({result.false_matches} false matches, "
        f"{result.false_non_matches} false non-matches, {result.lost} lost to no face)"
    )


def wrong_only(pairs: list[tuple[str, str, bool]], ours: Vectors, plain: Vectors) -> list[str]:
    """Pairs our pipeline gets wrong and the plain one gets right, with both distances."""
    found: list[str] = []
    for a, b, same in pairs:
        mine, theirs = distance(ours, a, b), distance(plain, a, b)
        if is_wrong(mine, same) and not is_wrong(theirs, same):
            found.append(f"{a} vs {b} ({'genuine' if same else 'impostor'}: ours {mine}, plain {theirs})")
    return found


def distance(vectors: Vectors, a: str, b: str) -> float | None:
    first, second = vectors[a], vectors[b]
    if first is None or second is None:
        return None
    return round(float(np.linalg.norm(first - second)), 3)


def is_wrong(value: float | None, same: bool) -> bool:
    return value is None or (value <= PLAIN_ACCEPT_DISTANCE) != same
