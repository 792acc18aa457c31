"""Benchmark: how hard practice sets really are, by difficulty and seed, for the algorithm.

    uv run python bench/bench_practice.py [--data DIR] [--people faces-dev] [--seeds 5] [--items 40]

Builds ``hard``, ``mixed`` and ``easy`` sets of the same size from one folder of people for
each seed (embeddings come from the cache after the first run; the sets are written to a
temporary folder and thrown away) and prints, per difficulty, the mean over seeds of the
algorithm's mean probability of "same person" on different-people items (higher: strangers
who look more alike) and on same-person items (lower: photos of one person that look less
alike), with the mean embedding distance (d) of each kind.

Hard sets are chosen by the same embedding the probabilities come from, so on a large data set
the algorithm gets most hard items wrong by construction: a hard set measures people on the
pairs the algorithm finds hardest, not the algorithm.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from impostor import settings
from impostor.practice.build import build_set, mean_probability
from impostor.practice.selection import DIFFICULTIES
from impostor.practice.sets import PracticeSet
from impostor.qa.cache import open_cache


def _mean_distance(made: PracticeSet, *, same: bool) -> float:
    return statistics.fmean(item.distance for item in made.items if item.same == same)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, help="shared data folder (default: IMPOSTOR_DATA)")
    parser.add_argument("--people", default="faces-dev", help="folder of people inside the data folder")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--items", type=int, default=40, help="items per set")
    args = parser.parse_args(argv)
    root = (args.data or Path(str(settings.get("data_dir")))) / args.people
    cache = open_cache(None)
    rows: dict[str, list[tuple[float, float, float, float]]] = {d: [] for d in DIFFICULTIES}
    with tempfile.TemporaryDirectory() as scratch:
        for seed in range(args.seeds):
            for difficulty in DIFFICULTIES:
                made = build_set(
                    root,
                    Path(scratch) / "set.json",
                    items=args.items,
                    difficulty=difficulty,
                    seed=seed,
                    cache=cache,
                    progress=False,
                )
                rows[difficulty].append(
                    (
                        mean_probability(made, same=False),
                        mean_probability(made, same=True),
                        _mean_distance(made, same=False),
                        _mean_distance(made, same=True),
                    )
                )
    print(
        f"{root.name}: {args.items} items a set, half different people, means over seeds 0-{args.seeds - 1}"
    )
    print(
        f"{'difficulty':<11}{'P(same) strangers':>18}{'P(same) same person':>21}"
        f"{'d strangers':>13}{'d same':>8}"
    )
    for difficulty in DIFFICULTIES:
        columns = (statistics.fmean(col) for col in zip(*rows[difficulty], strict=True))
        impostor, genuine, d_impostor, d_genuine = columns
        print(f"{difficulty:<11}{impostor:>18.3g}{genuine:>21.3g}{d_impostor:>13.3f}{d_genuine:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
