"""Benchmark: scoring speed, all-against-all and listed pairs, against a plain numpy loop.

    uv run python bench/bench_scoring.py [--embeddings 10000] [--pairs 1000000]

Times ``impostor.stages.score.all_pairs`` (every unordered pair of ``--embeddings`` random 128-d
vectors, split into genuine and impostor by identity, computed in blocks) and
``impostor.stages.score.pair_distances`` (``--pairs`` listed pairs), and, in the same run, the plain
way a script would score listed pairs: ``face_recognition.face_distance`` one pair at a time
on a sample, scaled to the same count. Peak memory of the block computation is printed too.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from impostor.stages.score import all_pairs, pair_distances


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embeddings", type=int, default=10_000, help="vectors for all-against-all")
    parser.add_argument("--pairs", type=int, default=1_000_000, help="listed pairs to score")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(args.embeddings, 128))
    identities = rng.integers(0, args.embeddings // 4, size=args.embeddings)

    tracemalloc.start()
    started = time.perf_counter()
    genuine, impostor = all_pairs(vectors, identities)
    all_s = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = genuine.size + impostor.size

    a = rng.integers(0, args.embeddings, size=args.pairs)
    b = rng.integers(0, args.embeddings, size=args.pairs)
    started = time.perf_counter()
    pair_distances(vectors, a, b)
    listed_s = time.perf_counter() - started

    from impostor.qa.baseline import face_recognition_module

    face_distance = face_recognition_module().face_distance
    sample = min(args.pairs, 20_000)
    started = time.perf_counter()
    for i in range(sample):
        face_distance(vectors[a[i] : a[i] + 1], vectors[b[i]])
    plain_s = (time.perf_counter() - started) * args.pairs / sample

    print(
        f"all-against-all: {args.embeddings:,} embeddings → {total:,} pairs in {all_s:.2f} s "
        f"({total / all_s / 1e6:.1f} M pairs/s), peak {peak / 2**20:.0f} MiB (outputs included)"
    )
    print(
        f"listed pairs:    {args.pairs:,} pairs in {listed_s:.2f} s; "
        f"plain face_distance loop ≈ {plain_s:.1f} s "
        f"→ {plain_s / listed_s:.0f}× faster"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
