"""A pair list that is its own data set: the layouts QA teams keep, not only one folder per person.

A site's comparisons often sit as ``docs/…`` and ``live/…`` beside a CSV that pairs them. Here the
CSV names the images by paths relative to its own folder, and says who is who in the columns
``a_id`` and ``b_id``; without them, each image's folder name stands for the person (right for a
person-per-folder layout, and said to be a guess otherwise). The identities matter only for the
intervals, which resample people.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from impostor.errors import DatasetError
from impostor.files import max_file_bytes, read_bounded, why_unreadable
from impostor.qa.dataset import Dataset, Skipped
from impostor.qa.pairs import Pairs, read_pairs

__all__ = ["read_pair_list"]


def read_pair_list(path: str | Path) -> tuple[Dataset, Pairs]:
    """The images a CSV pair list names (relative to its folder) as a data set, and its pairs.

    The header names ``a``, ``b`` and ``same``, optionally ``fold``, and optionally ``a_id`` and
    ``b_id`` (both, or neither). A line naming a missing file is skipped with its reason, as in
    ``read_pairs``. Raises ``DatasetError`` when the file cannot be read or is not such a list.
    """
    file = Path(path).expanduser()
    try:
        text = read_bounded(file, max_file_bytes()).decode("utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"{file}: the pair list cannot be read ({why_unreadable(exc)})") from None
    except UnicodeDecodeError:
        raise DatasetError(f"{file}: not a pair list (not UTF-8 text)") from None
    rows = list(csv.reader(io.StringIO(text)))
    header = [name.strip().lower() for name in rows[0]] if rows else []
    if not {"a", "b", "same"} <= set(header):
        raise DatasetError(
            f"{file}: a pair list of its own images is a CSV with the header a,b,same[,fold][,a_id,b_id]; "
            f"its header is {','.join(header)!r}"
        )
    with_ids = {"a_id", "b_id"} <= set(header)
    base = file.resolve().parent
    people: dict[Path, str] = {}
    skipped: list[Skipped] = []
    for fields in rows[1:]:
        cells = dict(zip(header, (value.strip() for value in fields), strict=False))
        for side in ("a", "b"):
            name = cells.get(side, "")
            if not name:
                continue
            image = (base / name.replace("\\", "/")).resolve()
            if not image.is_file():
                continue  # read_pairs says which line and why
            person = cells.get(f"{side}_id", "") if with_ids else image.parent.name
            known = people.setdefault(image, person or image.parent.name)
            if known != (person or image.parent.name):
                skipped.append(Skipped(name, f"named as {known!r} and as {person!r}; {known!r} kept"))
    if not people:
        raise DatasetError(f"{file}: names no image that exists (paths are relative to {base})")
    root = Path(os.path.commonpath([str(image.parent) for image in people]))
    ordered = sorted(people, key=lambda image: image.relative_to(root).as_posix())
    dataset = Dataset(
        root=root,
        images=tuple(image.relative_to(root).as_posix() for image in ordered),
        identities=tuple(people[image] for image in ordered),
        skipped=tuple(skipped),
    )
    pairs = read_pairs(file, dataset)
    guess = "" if with_ids else "; people from folder names"
    return dataset, Pairs(pairs.a, pairs.b, pairs.same, pairs.fold, pairs.source + guess, pairs.skipped)
