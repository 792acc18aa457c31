"""LFW split by person for benchmarks that tune on some people and report on others.

View 1's people (pairsDevTrain and pairsDevTest, the protocol's tuning set) against the people
only View 2 (pairs.txt) holds: nobody is on both sides, so a limit chosen on the first part is
measured on faces it never saw.
"""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["lfw_split"]


def lfw_split(lfw: Path) -> tuple[list[Path], list[Path]]:
    """LFW's photos of View 1's people, and of the people only View 2 holds, each sorted by path.

    ``lfw`` is the folder holding ``lfw/NAME/*.jpg`` and the pair lists as CSV.
    """

    def people(*names: str) -> set[str]:
        found = set()
        for name in names:
            with (lfw / name).open(encoding="utf-8") as rows:
                for row in csv.DictReader(rows):
                    found |= {Path(row["a"]).parent.name, Path(row["b"]).parent.name}
        return found

    tuning = people("pairs_devtrain.csv", "pairs_devtest.csv")
    held = people("pairs.csv") - tuning
    photos = sorted((lfw / "lfw").glob("*/*.jpg"))
    return [p for p in photos if p.parent.name in tuning], [p for p in photos if p.parent.name in held]
