"""Pair lists scored on a data set: read from a file, or generated.

``read_pairs`` reads LFW's own ``pairs.txt`` files (View 1 and View 2) or a CSV with the header
``a,b,same[,fold]`` against a scanned ``Dataset``. ``generate_pairs`` makes a pair list when there
is none: every genuine pair, and a seeded uniform sample of impostor pairs.

Genuine (mated) pairs show the same person, impostor (non-mated) pairs two different people.
Pairs are indices into ``Dataset.images``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from impostor.errors import DatasetError
from impostor.files import max_file_bytes, read_bounded, why_unreadable
from impostor.qa.dataset import Dataset, Skipped

__all__ = ["Pairs", "generate_pairs", "read_pairs"]

# Pair-list labels, lower-cased: what counts as "same person" and as "different people".
_SAME = frozenset({"1", "true", "same", "genuine", "yes"})
_DIFFERENT = frozenset({"0", "false", "different", "impostor", "no"})

# Up to this many impostor pairs (or when more than half are wanted), they are chosen from a
# list of them all; beyond, they are drawn by rejection, so that a sample from a data set of
# 13,000 images never lists its 87 million pairs.
_LIST_LIMIT = 4_000_000

_A = TypeVar("_A", bound=np.generic)


@dataclass(frozen=True, eq=False)
class Pairs:
    """Comparisons to score: ``a[i]`` against ``b[i]``, indices into ``Dataset.images``.

    ``same[i]`` is True for a genuine pair. ``fold`` is the 0-based cross-validation fold of
    each pair when the list defines folds, else None. All arrays are shaped ``(len(self),)``.
    """

    a: NDArray[np.int64]
    b: NDArray[np.int64]
    same: NDArray[np.bool_]
    fold: NDArray[np.int64] | None
    source: str
    skipped: tuple[Skipped, ...]

    def __len__(self) -> int:
        return len(self.a)


def read_pairs(path: str | Path, dataset: Dataset) -> Pairs:
    """Read a pair list and resolve its images in ``dataset``.

    Two formats are recognised from the content:

    - LFW's own ``pairs.txt``. View 1 (``pairsDevTrain.txt``, ``pairsDevTest.txt``): a first
      line ``N``, then N matched lines ``name n1 n2`` and N mismatched lines
      ``name1 n1 name2 n2``. View 2 (``pairs.txt``): a first line ``folds per_fold``, then for
      each fold ``per_fold`` matched and ``per_fold`` mismatched lines; the folds are kept.
      Images are ``name/name_%04d.jpg``. A list of such lines without the count line is also
      read (without folds).
    - A CSV whose header names the columns ``a``, ``b``, ``same`` and optionally ``fold`` (other
      columns are ignored). Image paths are relative to the CSV's folder or to the data set's
      root; ``same`` is 1/0, true/false, same/different (also yes/no, genuine/impostor). Fold
      labels are integers, renumbered 0, 1, ... in sorted order.

    Windows line endings, a byte-order mark and blank lines are tolerated. A line that cannot
    be used (an image not in the data set, a malformed line, an image paired with itself, a
    pair of images already listed, in either order) is listed in ``skipped`` with its line
    number; ``source`` says how many repeats were left out, since each pair counts once.
    Raises ``DatasetError`` when the file cannot be read, is in neither format, disagrees with
    its own LFW header, or gives no usable pair.
    """
    file = Path(path).expanduser()
    lines = _read_lines(file)
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise DatasetError(f"{file}: the pair list is empty")
    first = numbered[0][1]
    if "," in first:
        result = _read_csv(file, numbered, dataset)
    else:
        tokens = first.split()
        if 1 <= len(tokens) <= 2 and all(token.isdigit() for token in tokens):
            result = _read_lfw(file, numbered[0], numbered[1:], dataset)
        elif _lfw_pair(tokens) is not None:
            result = _read_lfw(file, None, numbered, dataset)
        else:
            raise DatasetError(
                f"{file}: not a pair list (expected LFW's pairs.txt, whose first line is a count, or a "
                f"CSV with the header a,b,same[,fold]); its first line is {first.strip()[:60]!r}"
            )
    if len(result) == 0:
        first_problem = f" (first: {result.skipped[0].reason})" if result.skipped else ""
        raise DatasetError(
            f"{file}: no usable pair in {dataset.root}{first_problem}; "
            "check that the pair list belongs to this data set"
        )
    return result


def _read_lines(file: Path) -> list[str]:
    try:
        data = read_bounded(file, max_file_bytes())
    except FileNotFoundError:
        raise DatasetError(f"{file}: no such pair list") from None
    except IsADirectoryError:
        raise DatasetError(f"{file}: is a folder, not a pair list") from None
    except OSError as exc:
        raise DatasetError(f"{file}: the pair list cannot be read ({why_unreadable(exc)})") from None
    if b"\x00" in data[:4096]:
        raise DatasetError(f"{file}: not a pair list (binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{file}: not a pair list (not UTF-8 text)") from None
    return text.splitlines()


def _lfw_pair(tokens: list[str]) -> tuple[str, int, str, int] | None:
    """``name n1 n2`` or ``name1 n1 name2 n2`` as (name1, n1, name2, n2); None otherwise."""
    if len(tokens) == 3 and tokens[1].isdigit() and tokens[2].isdigit():
        return tokens[0], int(tokens[1]), tokens[0], int(tokens[2])
    if len(tokens) == 4 and tokens[1].isdigit() and tokens[3].isdigit():
        return tokens[0], int(tokens[1]), tokens[2], int(tokens[3])
    return None


class _Builder:
    """Collects usable pairs and the lines skipped, and makes the ``Pairs``."""

    def __init__(self, dataset: Dataset) -> None:
        self.index = dataset.index()
        self.a: list[int] = []
        self.b: list[int] = []
        self.same: list[bool] = []
        self.fold: list[int] = []
        self.skipped: list[Skipped] = []
        self.seen: dict[tuple[int, int], tuple[int, bool]] = {}  # each pair → its line and label
        self.repeats = 0

    def skip(self, number: int, line: str, why: str) -> None:
        self.skipped.append(Skipped(line.strip(), f"pair line {number}: {why}"))

    def add(
        self,
        number: int,
        line: str,
        names: tuple[str, str],
        found: tuple[str | None, str | None],
        same: bool,
        fold: int = 0,
    ) -> None:
        """One pair line: ``names`` as written, ``found`` their paths in the data set (or None)."""
        a, b = found
        missing = [name for name, path in zip(names, found, strict=True) if path is None]
        if missing:
            self.skip(number, line, f"no image {' and no image '.join(missing)}")
        elif a == b:
            self.skip(number, line, f"{names[0]} is paired with itself")
        else:
            assert a is not None and b is not None
            first, second = self.index[a], self.index[b]
            key = (min(first, second), max(first, second))
            if key in self.seen:
                # a repeated comparison is not new evidence: counted twice, it would shrink the
                # error rates' intervals as if more people had been compared
                self.repeats += 1
                earlier, label = self.seen[key]
                other = "" if label == same else " with the other label; the first is kept"
                self.skip(number, line, f"repeats the pair of line {earlier}{other} (each pair counts once)")
                return
            self.seen[key] = (number, same)
            self.a.append(first)
            self.b.append(second)
            self.same.append(same)
            self.fold.append(fold)

    @property
    def repeated(self) -> str:
        """A note for ``Pairs.source`` when lines were left out as repeats; empty otherwise."""
        return f"; {self.repeats:,} repeated pairs counted once" if self.repeats else ""

    def build(self, source: str, *, folds: bool) -> Pairs:
        fold = None
        if folds:
            labels = np.asarray(self.fold, dtype=np.int64)
            fold = np.unique(labels, return_inverse=True)[1].astype(np.int64).reshape(-1)
        return Pairs(
            a=_frozen(np.asarray(self.a, dtype=np.int64)),
            b=_frozen(np.asarray(self.b, dtype=np.int64)),
            same=_frozen(np.asarray(self.same, dtype=np.bool_)),
            fold=None if fold is None else _frozen(fold),
            source=source,
            skipped=tuple(self.skipped),
        )


def _read_lfw(
    file: Path, header: tuple[int, str] | None, rows: list[tuple[int, str]], dataset: Dataset
) -> Pairs:
    """LFW's pairs.txt; ``header`` is its count line, None for a list of pair lines alone."""
    headerless = header is None
    if header is None:
        folds, per_fold = 1, len(rows)
        view = "LFW-style list without a count line"
    else:
        counts = [int(token) for token in header[1].split()]
        folds, per_fold = (1, counts[0]) if len(counts) == 1 else (counts[0], counts[1])
        view = (
            f"LFW View 1, {per_fold:,}+{per_fold:,}"
            if len(counts) == 1
            else f"LFW View 2, {folds} folds × {per_fold}+{per_fold}"
        )
        if folds < 1 or per_fold < 1:
            raise DatasetError(
                f"{file}: line {header[0]}: the LFW header {header[1].strip()!r} promises no pairs"
            )
        if len(rows) != folds * 2 * per_fold:
            raise DatasetError(
                f"{file}: its LFW header promises {folds * 2 * per_fold:,} pairs ({view}) but it has "
                f"{len(rows):,} pair lines; the file is truncated or not LFW's"
            )
    builder = _Builder(dataset)
    index = builder.index
    for position, (number, line) in enumerate(rows):
        pair = _lfw_pair(line.split())
        if pair is None:
            builder.skip(number, line, "not a pair (expected 'name n1 n2' or 'name1 n1 name2 n2')")
            continue
        name1, n1, name2, n2 = pair
        names = (f"{name1}/{name1}_{n1:04d}.jpg", f"{name2}/{name2}_{n2:04d}.jpg")
        same = len(line.split()) == 3
        if not headerless and same != (position % (2 * per_fold) < per_fold):
            kinds = ("matched", "mismatched") if same else ("mismatched", "matched")
            builder.skip(number, line, "a {} pair where LFW's layout has {} ones".format(*kinds))
            continue
        found = (names[0] if names[0] in index else None, names[1] if names[1] in index else None)
        builder.add(number, line, names, found, same, position // (2 * per_fold))
    return builder.build(f"{file.name} ({view}{builder.repeated})", folds=folds > 1)


def _read_csv(file: Path, numbered: list[tuple[int, str]], dataset: Dataset) -> Pairs:
    header = [name.strip().lower() for name in next(csv.reader([numbered[0][1]]))]
    if not {"a", "b", "same"} <= set(header):
        raise DatasetError(
            f"{file}: a CSV pair list needs the header a,b,same[,fold]; its header is {','.join(header)!r}"
        )
    column = {name: header.index(name) for name in ("a", "b", "same", "fold") if name in header}
    has_folds = "fold" in column
    width = max(column.values()) + 1
    builder = _Builder(dataset)
    resolve = _resolver(file, dataset, builder.index)
    for number, line in numbered[1:]:
        fields = [value.strip() for value in next(csv.reader([line]))]
        if len(fields) < width:
            builder.skip(number, line, f"{len(fields)} fields where the header names {len(header)}")
            continue
        label = fields[column["same"]].lower()
        if label not in _SAME and label not in _DIFFERENT:
            builder.skip(number, line, f"same is {label!r}; expected 1/0, true/false or same/different")
            continue
        fold = 0
        if has_folds:
            text = fields[column["fold"]]
            if not text.lstrip("-").isdigit():
                builder.skip(number, line, f"fold is {text!r}; expected a whole number")
                continue
            fold = int(text)
        names = (fields[column["a"]], fields[column["b"]])
        builder.add(number, line, names, (resolve(names[0]), resolve(names[1])), label in _SAME, fold)
    result = builder.build("", folds=has_folds)
    genuine = int(result.same.sum())
    folds = f", {int(result.fold.max()) + 1} folds" if result.fold is not None and len(result) else ""
    disagree = _label_conflicts(result, dataset)
    note = f"; {disagree:,} labels disagree with the person folders" if disagree else ""
    source = (
        f"{file.name} (CSV, {genuine:,} genuine + {len(result) - genuine:,} impostor{folds}{note}"
        f"{builder.repeated})"
    )
    return Pairs(result.a, result.b, result.same, result.fold, source, result.skipped)


def _resolver(file: Path, dataset: Dataset, index: dict[str, int]) -> Callable[[str], str | None]:
    """A function from a CSV path to the data set's path of that image (or None): relative to the
    CSV's folder first, then to the data set's root."""
    base = str(file.resolve().parent)
    root = str(dataset.root)
    prefix = root if root.endswith(os.sep) else root + os.sep  # the root may be "/" itself

    def resolve(name: str) -> str | None:
        name = name.replace("\\", "/")
        full = os.path.normpath(os.path.join(base, name))
        if full.startswith(prefix):
            relative = full[len(prefix) :].replace(os.sep, "/")
            if relative in index:
                return relative
        relative = os.path.normpath(name).replace(os.sep, "/")
        return relative if relative in index else None

    return resolve


def _label_conflicts(pairs: Pairs, dataset: Dataset) -> int:
    """How many pairs are labelled against the folders (same person in two folders, or not)."""
    codes = dataset.identity_codes
    return int(np.count_nonzero((codes[pairs.a] == codes[pairs.b]) != pairs.same))


# -- generated pairs ----------------------------------------------------------------------------


def generate_pairs(dataset: Dataset, *, impostors: int | Literal["all"] = 10_000, seed: int = 0) -> Pairs:
    """Every genuine pair of ``dataset`` and a uniform sample of impostor pairs.

    Genuine pairs are all pairs of images in the same person folder (``a < b``). Impostor pairs
    are ``impostors`` distinct pairs of images of different people, drawn uniformly without
    replacement with ``numpy.random.default_rng(seed)`` (the same seed gives the same pairs),
    without listing every pair of a large data set; ``"all"`` takes every one (their number
    grows as the square of the images). When fewer impostor pairs exist than asked for, all are
    taken and ``source`` says so. Genuine pairs come first, then impostors, each sorted by
    ``(a, b)``. There are no folds.

    Raises ``ValueError`` for a negative count and ``DatasetError`` when no pair can be made.
    """
    if impostors != "all" and (
        isinstance(impostors, bool) or not isinstance(impostors, int) or impostors < 0
    ):
        raise ValueError(f"impostors must be a whole number >= 0 or 'all', not {impostors!r}")
    codes = dataset.identity_codes
    n = len(codes)
    genuine_a, genuine_b = _genuine_pairs(codes)
    total = n * (n - 1) // 2 - len(genuine_a)
    wanted = total if impostors == "all" else min(int(impostors), total)
    if total <= _LIST_LIMIT or wanted > total // 2:
        impostor_a, impostor_b = _impostor_pairs_listed(codes, wanted, total, seed)
    else:
        impostor_a, impostor_b = _impostor_pairs_drawn(codes, wanted, total, seed)
    if len(genuine_a) + len(impostor_a) == 0:
        raise DatasetError(
            f"{dataset.root}: no pair can be made from {n} image(s) of {dataset.people} person(s)"
        )
    if impostors == "all" or wanted == total:
        how = f"all {total:,} impostor pairs"
        if impostors != "all" and wanted < int(impostors):
            how += f" (fewer than the {int(impostors):,} asked for)"
    else:
        how = f"{wanted:,} impostor pairs sampled with seed {seed}"
    same = np.zeros(len(genuine_a) + len(impostor_a), dtype=np.bool_)
    same[: len(genuine_a)] = True
    return Pairs(
        a=_frozen(np.concatenate([genuine_a, impostor_a])),
        b=_frozen(np.concatenate([genuine_b, impostor_b])),
        same=_frozen(same),
        fold=None,
        source=f"generated: all {len(genuine_a):,} genuine + {how}",
        skipped=(),
    )


def _genuine_pairs(codes: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    ends = np.r_[starts[1:], len(order)]
    parts_a: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]
    parts_b: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]
    for start, end in zip(starts, ends, strict=True):
        if end - start < 2:
            continue
        members = np.sort(order[start:end])
        i, j = np.triu_indices(len(members), k=1)
        parts_a.append(members[i])
        parts_b.append(members[j])
    return _sorted_pairs(np.concatenate(parts_a), np.concatenate(parts_b))


def _impostor_pairs_listed(
    codes: NDArray[np.int64], wanted: int, total: int, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``wanted`` of the ``total`` impostor pairs, chosen from a list of them all.

    The list is built one image at a time, so memory follows the impostor pairs, not every pair.
    """
    n = len(codes)
    parts_a: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]
    parts_b: list[NDArray[np.int64]] = [np.empty(0, dtype=np.int64)]
    for i in range(n - 1):
        partners = np.flatnonzero(codes[i + 1 :] != codes[i]).astype(np.int64) + i + 1
        parts_a.append(np.full(len(partners), i, dtype=np.int64))
        parts_b.append(partners)
    a, b = np.concatenate(parts_a), np.concatenate(parts_b)  # sorted by (a, b) as built
    if wanted < total:
        chosen = np.sort(np.random.default_rng(seed).choice(total, size=wanted, replace=False))
        a, b = a[chosen], b[chosen]
    return a, b


def _impostor_pairs_drawn(
    codes: NDArray[np.int64], wanted: int, total: int, seed: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``wanted`` of the ``total`` impostor pairs, drawn by rejection without listing them.

    Two independent uniform indices give every unordered pair with equal probability; draws of
    one person twice are rejected, and repeats are dropped in the order they were first drawn,
    which keeps the result uniform over sets of ``wanted`` pairs.
    """
    rng = np.random.default_rng(seed)
    n = len(codes)
    accepted = total / (n * (n - 1) / 2)  # share of draws that are impostor pairs
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < wanted:
        batch = min(10_000_000, 1024 + int(1.25 * (wanted - len(keys)) / accepted))
        i = rng.integers(0, n, size=batch, dtype=np.int64)
        j = rng.integers(0, n, size=batch, dtype=np.int64)
        keep = codes[i] != codes[j]
        low, high = np.minimum(i, j)[keep], np.maximum(i, j)[keep]
        keys = np.concatenate([keys, low * n + high])
        _, first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
    return _sorted_pairs(keys[:wanted] // n, keys[:wanted] % n)


def _sorted_pairs(a: NDArray[np.int64], b: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    order = np.lexsort((b, a))
    return a[order].astype(np.int64), b[order].astype(np.int64)


def _frozen(array: NDArray[_A]) -> NDArray[_A]:
    array.setflags(write=False)
    return array
