"""Data sets and pair lists: faces-dev and LFW as shipped, and odd folders built in tmp_path."""

from __future__ import annotations

import csv
import math
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from impostor.errors import DatasetError
from impostor.qa.dataset import Dataset, Skipped, scan
from impostor.qa.pairs import Pairs, _impostor_pairs_drawn, generate_pairs, read_pairs
from tests.qa import stuck_fifo


@pytest.fixture(scope="module")
def dev(faces_dev: Path) -> Dataset:
    return scan(faces_dev)


@pytest.fixture(scope="module")
def lfw_dir(data_dir: Path) -> Path:
    return data_dir / "lfw"


@pytest.fixture(scope="module")
def lfw(lfw_dir: Path) -> Dataset:
    return scan(lfw_dir / "lfw")


def link(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(source)
    return target


def pair_set(pairs: Pairs, dataset: Dataset, *, same: bool | None = None) -> set[tuple[str, str]]:
    """The pairs as unordered pairs of paths (optionally only genuine or only impostor)."""
    chosen = np.ones(len(pairs), dtype=bool) if same is None else pairs.same == same
    return {
        tuple(sorted((dataset.images[a], dataset.images[b])))
        for a, b in zip(pairs.a[chosen], pairs.b[chosen], strict=True)
    }


def named(pairs: Pairs, dataset: Dataset) -> list[tuple[str, str, bool]]:
    """The pairs as (path a, path b, same), in their order."""
    return [
        (dataset.images[a], dataset.images[b], bool(same))
        for a, b, same in zip(pairs.a, pairs.b, pairs.same, strict=True)
    ]


def csv_pairs(path: Path) -> list[tuple[str, str, bool]]:
    with path.open(newline="") as handle:
        return [(row["a"], row["b"], row["same"] == "1") for row in csv.DictReader(handle)]


def check_indices(pairs: Pairs, dataset: Dataset) -> None:
    n = len(dataset.images)
    assert pairs.a.dtype == np.int64 and pairs.b.dtype == np.int64 and pairs.same.dtype == np.bool_
    assert len(pairs.a) == len(pairs.b) == len(pairs.same) == len(pairs)
    assert ((pairs.a >= 0) & (pairs.a < n) & (pairs.b >= 0) & (pairs.b < n)).all()
    assert (pairs.a != pairs.b).all()


# -- scan -------------------------------------------------------------------------------------


def test_scan_faces_dev(dev: Dataset, faces_dev: Path) -> None:
    assert (len(dev.images), dev.people) == (87, 26)
    assert dev.root == faces_dev.resolve()
    assert list(dev.images) == sorted(dev.images)
    assert all(
        image.split("/")[0] == person for image, person in zip(dev.images, dev.identities, strict=True)
    )
    assert all((dev.root / image).is_file() for image in dev.images)
    top_level = {s.path for s in dev.skipped if s.reason == "not in a person folder (top level)"}
    assert top_level == {
        "README.txt",
        "manifest.csv",
        "pairs.csv",
        "pairs_all.csv",
        "pairs_deepface_original.csv",
    }
    assert len(dev.skipped) == len(top_level)
    with (faces_dev / "manifest.csv").open(newline="") as handle:
        manifest = {row["path"]: row["identity"] for row in csv.DictReader(handle)}
    assert dict(zip(dev.images, dev.identities, strict=True)) == manifest


def test_identity_codes_and_index(dev: Dataset) -> None:
    codes = dev.identity_codes
    assert codes.shape == (87,) and codes.dtype == np.int64
    assert set(codes.tolist()) == set(range(dev.people))
    for i in range(len(dev.images)):
        for j in range(len(dev.images)):
            assert (codes[i] == codes[j]) == (dev.identities[i] == dev.identities[j])
    index = dev.index()
    assert [index[image] for image in dev.images] == list(range(87))


def test_scan_a_messy_folder(tmp_path: Path, faces_dev: Path) -> None:
    jolie = sorted((faces_dev / "Angelina_Jolie").glob("*.jpg"))
    root = tmp_path / "messy"
    link(jolie[0], root / "Angelina_Jolie" / "a.jpg")
    link(jolie[1], root / "Angelina_Jolie" / "b.JPEG")  # suffixes are matched in any case
    (root / "Angelina_Jolie" / "notes.txt").write_text("who took these?")
    (root / "Angelina_Jolie" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "Angelina_Jolie" / "README").write_text("no suffix")
    link(jolie[2], root / "Angelina_Jolie" / "crops" / "c.jpg")
    link(faces_dev / "Amy_Adams" / "openface_adams.jpg", root / "Amy_Adams" / "adams.png")
    (root / "Amy_Adams" / "gone.jpg").symlink_to(root / "nowhere.jpg")
    (root / "Amy_Adams" / "loop.jpg").symlink_to(root / "Amy_Adams" / "loop.jpg")
    (root / "Amy_Adams_again").symlink_to(root / "Amy_Adams")
    (root / "Nobody").mkdir()
    (root / "Only_Text").mkdir()
    (root / "Only_Text" / "bio.txt").write_text("a biography")
    (root / ".thumbnails").mkdir()
    link(jolie[3], root / ".thumbnails" / "t.jpg")
    link(jolie[4], root / "stray.jpg")
    (root / ".index").write_text("hidden file")

    dataset = scan(root)

    assert dataset.images == ("Amy_Adams/adams.png", "Angelina_Jolie/a.jpg", "Angelina_Jolie/b.JPEG")
    assert dataset.identities == ("Amy_Adams", "Angelina_Jolie", "Angelina_Jolie")
    assert dataset.people == 2
    assert set(dataset.skipped) == {
        Skipped(".index", "hidden file"),
        Skipped(".thumbnails", "hidden folder"),
        Skipped("Amy_Adams/gone.jpg", "broken symbolic link"),
        Skipped("Amy_Adams/loop.jpg", "symbolic link loop"),
        Skipped("Amy_Adams_again", "the same folder as Amy_Adams (linked twice)"),
        Skipped("Angelina_Jolie/.DS_Store", "hidden file"),
        Skipped("Angelina_Jolie/README", "not an image (no suffix)"),
        Skipped("Angelina_Jolie/crops", "folder inside a person folder (not scanned)"),
        Skipped("Angelina_Jolie/notes.txt", "not an image (.txt)"),
        Skipped("Nobody", "empty folder"),
        Skipped("Only_Text/bio.txt", "not an image (.txt)"),
        Skipped("Only_Text", "no image in this person folder"),
        Skipped("stray.jpg", "not in a person folder (top level)"),
    }


def test_scan_skips_pipes_and_devices(tmp_path: Path, faces_dev: Path) -> None:
    """A FIFO named like a photo (or with no suffix, so sniffed) would block whoever reads it, and
    a link to /dev/zero never end: both are listed as skipped, never as images."""
    link(faces_dev / "Barack_Obama" / "fr_obama.jpg", tmp_path / "Barack_Obama" / "a.jpg")
    (tmp_path / "Jane_Doe").mkdir()
    link(Path("/dev/zero"), tmp_path / "Jane_Doe" / "zero.jpg")
    with stuck_fifo(tmp_path / "Jane_Doe" / "pipe.jpg"), stuck_fifo(tmp_path / "Jane_Doe" / "pipe"):
        started = time.monotonic()
        dataset = scan(tmp_path)
        assert time.monotonic() - started < 5
    assert dataset.images == ("Barack_Obama/a.jpg",)
    reasons = {s.path: s.reason for s in dataset.skipped}
    for name in ("pipe.jpg", "pipe", "zero.jpg"):
        assert reasons[f"Jane_Doe/{name}"] == "not a regular file (a pipe or a device)", reasons


def test_scan_refuses_what_is_not_a_data_set(tmp_path: Path, faces_dev: Path) -> None:
    with pytest.raises(DatasetError, match="nowhere: no such folder"):
        scan(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match="README.txt: is not a folder"):
        scan(faces_dev / "README.txt")
    flat = tmp_path / "flat"
    link(faces_dev / "Amy_Adams" / "openface_adams.jpg", flat / "adams.jpg")
    (flat / "Empty").mkdir()
    with pytest.raises(DatasetError, match="flat: holds no person folder with an image") as caught:
        scan(flat)
    assert "\n" not in str(caught.value)


def test_scan_one_level_too_high_suggests_the_right_folder(tmp_path: Path, faces_dev: Path) -> None:
    link(faces_dev / "Amy_Adams", tmp_path / "set" / "lfw" / "Amy_Adams")
    with pytest.raises(DatasetError, match=r"did you mean .*set/lfw\?"):
        scan(tmp_path / "set")


# -- LFW's pair lists ---------------------------------------------------------------------------


def test_lfw_view_2(lfw: Dataset, lfw_dir: Path) -> None:
    pairs = read_pairs(lfw_dir / "lfw_pairs.txt", lfw)
    check_indices(pairs, lfw)
    assert len(pairs) == 6000 and pairs.skipped == ()
    assert pairs.source == "lfw_pairs.txt (LFW View 2, 10 folds × 300+300)"
    assert pairs.fold is not None and pairs.fold.dtype == np.int64
    for fold in range(10):
        in_fold = pairs.fold == fold
        assert in_fold.sum() == 600
        assert pairs.same[in_fold].sum() == 300
    # the labels agree with the person folders
    codes = lfw.identity_codes
    assert ((codes[pairs.a] == codes[pairs.b]) == pairs.same).all()
    # and with the CSV form of the same list, pair for pair and fold for fold
    as_csv = read_pairs(lfw_dir / "pairs_folds.csv", lfw)
    assert as_csv.fold is not None
    for name in ("a", "b", "same", "fold"):
        assert np.array_equal(getattr(pairs, name), getattr(as_csv, name)), name
    first = lfw.images[pairs.a[0]], lfw.images[pairs.b[0]]
    assert first == ("Abel_Pacheco/Abel_Pacheco_0001.jpg", "Abel_Pacheco/Abel_Pacheco_0004.jpg")


@pytest.mark.parametrize(
    ("name", "count", "csv_name"),
    [
        ("lfw_pairsDevTrain.txt", 2200, "pairs_devtrain.csv"),
        ("lfw_pairsDevTest.txt", 1000, "pairs_devtest.csv"),
    ],
)
def test_lfw_view_1(lfw: Dataset, lfw_dir: Path, name: str, count: int, csv_name: str) -> None:
    pairs = read_pairs(lfw_dir / name, lfw)
    check_indices(pairs, lfw)
    assert (len(pairs), int(pairs.same.sum()), pairs.fold, pairs.skipped) == (count, count // 2, None, ())
    assert pairs.same[: count // 2].all() and not pairs.same[count // 2 :].any()
    assert pairs.source == f"{name} (LFW View 1, {count // 2:,}+{count // 2:,})"
    as_csv = read_pairs(lfw_dir / csv_name, lfw)
    assert as_csv.fold is None
    assert np.array_equal(pairs.a, as_csv.a) and np.array_equal(pairs.b, as_csv.b)
    assert np.array_equal(pairs.same, as_csv.same)


def test_lfw_list_with_missing_images_and_odd_lines(tmp_path: Path, faces_dev: Path) -> None:
    photos = sorted(faces_dev.glob("*/*.jpg"))
    root = tmp_path / "lfw"
    for number, person in ((1, "Jane_Doe"), (2, "Jane_Doe"), (1, "John_Roe"), (1, "Ann_Poe"), (2, "Ann_Poe")):
        link(photos.pop(), root / person / f"{person}_{number:04d}.jpg")
    lines = [
        "2\t2",  # two folds of two matched and two mismatched pairs
        "Jane_Doe\t1\t2",
        "Ann_Poe\t1\t2",
        "Jane_Doe\t1\tJohn_Roe\t1",
        "Jane_Doe\t2\tJohn_Roe\t7",  # John_Roe_0007 is not there
        "",
        "Ann_Poe\t1\t3",  # nor Ann_Poe_0003
        "Jane_Doe\t1\tAnn_Poe",  # malformed
        "Ann_Poe\t2\tJohn_Roe\t1",
        "Ann_Poe 1 Jane_Doe 2",  # spaces instead of tabs are fine
    ]
    pairs_file = tmp_path / "pairs.txt"
    pairs_file.write_bytes("\r\n".join(lines).encode() + b"\r\n\r\n")
    dataset = scan(root)

    pairs = read_pairs(pairs_file, dataset)

    check_indices(pairs, dataset)
    assert pairs.source == "pairs.txt (LFW View 2, 2 folds × 2+2)"
    assert named(pairs, dataset) == [
        ("Jane_Doe/Jane_Doe_0001.jpg", "Jane_Doe/Jane_Doe_0002.jpg", True),
        ("Ann_Poe/Ann_Poe_0001.jpg", "Ann_Poe/Ann_Poe_0002.jpg", True),
        ("Jane_Doe/Jane_Doe_0001.jpg", "John_Roe/John_Roe_0001.jpg", False),
        ("Ann_Poe/Ann_Poe_0002.jpg", "John_Roe/John_Roe_0001.jpg", False),
        ("Ann_Poe/Ann_Poe_0001.jpg", "Jane_Doe/Jane_Doe_0002.jpg", False),
    ]
    assert pairs.fold is not None and pairs.fold.tolist() == [0, 0, 0, 1, 1]
    assert [s.reason for s in pairs.skipped] == [
        "pair line 5: no image John_Roe/John_Roe_0007.jpg",
        "pair line 7: no image Ann_Poe/Ann_Poe_0003.jpg",
        "pair line 8: not a pair (expected 'name n1 n2' or 'name1 n1 name2 n2')",
    ]
    assert pairs.skipped[0].path == "Jane_Doe\t2\tJohn_Roe\t7"


# -- CSV pair lists -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count", "genuine"), [("pairs.csv", 346, 173), ("pairs_all.csv", 3741, 173)]
)
def test_faces_dev_csv(dev: Dataset, faces_dev: Path, name: str, count: int, genuine: int) -> None:
    pairs = read_pairs(faces_dev / name, dev)
    check_indices(pairs, dev)
    assert (len(pairs), int(pairs.same.sum()), pairs.fold, pairs.skipped) == (count, genuine, None, ())
    assert pairs.source == f"{name} (CSV, {genuine:,} genuine + {count - genuine:,} impostor)"
    expected = csv_pairs(faces_dev / name)
    assert named(pairs, dev) == expected


def test_csv_with_extra_columns_and_repeated_pairs(dev: Dataset, faces_dev: Path) -> None:
    """deepface's own list names 60 pairs twice (once from each of its source files): each
    comparison counts once, and the list's source says how many repeats were left out."""
    listed = csv_pairs(faces_dev / "pairs_deepface_original.csv")
    distinct = {frozenset(pair[:2]) for pair in listed}
    pairs = read_pairs(faces_dev / "pairs_deepface_original.csv", dev)
    assert (len(listed), len(distinct), len(pairs)) == (580, 520, 520)
    assert pair_set(pairs, dev) == {tuple(sorted(pair)) for pair in distinct}
    assert pairs.source.endswith("; 60 repeated pairs counted once)")
    assert len(pairs.skipped) == 60 and all("counts once" in s.reason for s in pairs.skipped)


def test_a_pair_repeated_in_either_order_counts_once(tmp_path: Path, dev: Dataset) -> None:
    lines = ["a,b,same", "Joe_Biden/fr_biden.jpg,Joe_Biden/fr_biden2.jpg,1"]
    lines += ["Joe_Biden/fr_biden.jpg,Rose_Leslie/fr_img1.jpg,0"] * 3
    lines += [
        "Joe_Biden/fr_biden2.jpg,Joe_Biden/fr_biden.jpg,1",
        "Joe_Biden/fr_biden2.jpg,Joe_Biden/fr_biden.jpg,0",
    ]
    pairs_file = tmp_path / "pairs.csv"
    pairs_file.write_text("\n".join(lines) + "\n")
    pairs = read_pairs(pairs_file, dev)
    assert pairs.same.tolist() == [True, False]
    assert pairs.source == "pairs.csv (CSV, 1 genuine + 1 impostor; 4 repeated pairs counted once)"
    assert [s.reason for s in pairs.skipped] == [
        "pair line 4: repeats the pair of line 3 (each pair counts once)",
        "pair line 5: repeats the pair of line 3 (each pair counts once)",
        "pair line 6: repeats the pair of line 2 (each pair counts once)",
        "pair line 7: repeats the pair of line 2 with the other label; the first is kept"
        " (each pair counts once)",
    ]


def test_csv_paths_relative_to_the_root_with_odd_lines(tmp_path: Path, dev: Dataset) -> None:
    # the CSV lives outside the data set, so its paths can only be relative to the root
    lines = [
        "A, B ,Same,Fold",
        "Joe_Biden/fr_biden.jpg,Joe_Biden/fr_biden2.jpg,TRUE,1",
        "",
        "Joe_Biden/fr_biden.jpg,Rose_Leslie/fr_img1.jpg,different,1",
        "Joe_Biden/fr_biden.jpg,Joe_Biden/fr_biden7.jpg,1,2",
        "Rose_Leslie/fr_img1.jpg,Rose_Leslie/fr_img2.jpg,same,2",
        "Rose_Leslie\\fr_img2.jpg,Joe_Biden/fr_biden2.jpg,0,2",  # Windows separators
        "Rose_Leslie/fr_img1.jpg,Rose_Leslie/fr_img2.jpg,maybe,2",
        "Rose_Leslie/fr_img1.jpg,Rose_Leslie/fr_img1.jpg,1,2",
        "Rose_Leslie/fr_img1.jpg,Rose_Leslie/fr_img2.jpg,1,x",
        "Rose_Leslie/fr_img1.jpg,Rose_Leslie/fr_img2.jpg",
        "Ghost/a.jpg,Ghost/b.jpg,0,2",
    ]
    pairs_file = tmp_path / "elsewhere" / "mine.csv"
    pairs_file.parent.mkdir()
    pairs_file.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())

    pairs = read_pairs(pairs_file, dev)

    check_indices(pairs, dev)
    assert pairs.same.tolist() == [True, False, True, False]
    assert pairs.fold is not None and pairs.fold.tolist() == [0, 0, 1, 1]  # labels 1, 2 renumbered
    assert pairs.source == "mine.csv (CSV, 2 genuine + 2 impostor, 2 folds)"
    assert [s.reason for s in pairs.skipped] == [
        "pair line 5: no image Joe_Biden/fr_biden7.jpg",
        "pair line 8: same is 'maybe'; expected 1/0, true/false or same/different",
        "pair line 9: Rose_Leslie/fr_img1.jpg is paired with itself",
        "pair line 10: fold is 'x'; expected a whole number",
        "pair line 11: 2 fields where the header names 4",
        "pair line 12: no image Ghost/a.jpg and no image Ghost/b.jpg",
    ]


def test_csv_labels_that_disagree_with_the_folders_are_counted(tmp_path: Path, dev: Dataset) -> None:
    pairs_file = tmp_path / "pairs.csv"
    pairs_file.write_text("a,b,same\nJoe_Biden/fr_biden.jpg,Rose_Leslie/fr_img1.jpg,1\n")
    pairs = read_pairs(pairs_file, dev)
    assert pairs.same.tolist() == [True]
    assert (
        pairs.source == "pairs.csv (CSV, 1 genuine + 0 impostor; 1 labels disagree with the person folders)"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the pair list is empty"),
        (b"\n\r\n  \n", "the pair list is empty"),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "not a pair list \\(binary data\\)"),
        ("Grüße".encode("latin-1"), "not UTF-8 text"),
        (b"hello world, how are you\n", "needs the header a,b,same"),
        (b"The quick brown fox\njumps\n", "not a pair list .* first line is 'The quick brown fox'"),
        (b"10\t300\nAbel_Pacheco\t1\t4\n", "promises 6,000 pairs .* but it has 1 pair lines"),
        (b"0\n", "promises no pairs"),
        (
            b"a,b,same\nGhost/a.jpg,Ghost/b.jpg,1\n",
            "no usable pair in .*first: pair line 2: no image Ghost/a.jpg",
        ),
    ],
)
def test_what_is_not_a_usable_pair_list(tmp_path: Path, dev: Dataset, content: bytes, message: str) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as caught:
        read_pairs(path, dev)
    assert "\n" not in str(caught.value) and "list.txt" in str(caught.value)


def test_missing_pair_list(tmp_path: Path, dev: Dataset) -> None:
    with pytest.raises(DatasetError, match="no such pair list"):
        read_pairs(tmp_path / "absent.csv", dev)
    with pytest.raises(DatasetError, match="is a folder"):
        read_pairs(tmp_path, dev)


def test_lfw_list_against_the_wrong_data_set(dev: Dataset, lfw_dir: Path) -> None:
    with pytest.raises(DatasetError, match="no usable pair in .*belongs to this data set"):
        read_pairs(lfw_dir / "lfw_pairsDevTest.txt", dev)


# -- generated pairs ----------------------------------------------------------------------------


def test_generated_genuine_pairs_are_every_same_person_pair(dev: Dataset, faces_dev: Path) -> None:
    pairs = generate_pairs(dev)
    check_indices(pairs, dev)
    listed = read_pairs(faces_dev / "pairs_all.csv", dev)
    by_person = Counter(dev.identities)
    assert int(pairs.same.sum()) == sum(math.comb(n, 2) for n in by_person.values()) == 173
    assert pair_set(pairs, dev, same=True) == pair_set(listed, dev, same=True)
    # faces-dev has 3,568 impostor pairs: fewer than the 10,000 asked for, so all are taken
    assert pair_set(pairs, dev, same=False) == pair_set(listed, dev, same=False)
    assert (
        pairs.source
        == "generated: all 173 genuine + all 3,568 impostor pairs (fewer than the 10,000 asked for)"
    )
    assert pairs.fold is None and pairs.skipped == ()
    assert (pairs.a < pairs.b).all()


def test_generated_impostors_are_a_seeded_sample(dev: Dataset) -> None:
    first = generate_pairs(dev, impostors=500, seed=7)
    again = generate_pairs(dev, impostors=500, seed=7)
    other = generate_pairs(dev, impostors=500, seed=8)
    assert (len(first), int(first.same.sum())) == (673, 173)
    assert first.source == "generated: all 173 genuine + 500 impostor pairs sampled with seed 7"
    for name in ("a", "b", "same"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert pair_set(first, dev, same=False) != pair_set(other, dev, same=False)
    codes = dev.identity_codes
    impostor = ~first.same
    assert (codes[first.a[impostor]] != codes[first.b[impostor]]).all()
    assert len(pair_set(first, dev, same=False)) == 500
    assert len(generate_pairs(dev, impostors="all")) == 3741
    assert int((~generate_pairs(dev, impostors=0).same).sum()) == 0


def test_generated_pairs_on_lfw_never_list_every_pair(lfw: Dataset) -> None:
    pairs = generate_pairs(lfw, seed=3)
    check_indices(pairs, lfw)
    by_person = Counter(lfw.identities)
    genuine = sum(math.comb(n, 2) for n in by_person.values())
    assert (int(pairs.same.sum()), int((~pairs.same).sum())) == (genuine, 10_000)
    codes = lfw.identity_codes
    impostor = ~pairs.same
    assert (codes[pairs.a[impostor]] != codes[pairs.b[impostor]]).all()
    assert len(set(zip(pairs.a[impostor].tolist(), pairs.b[impostor].tolist(), strict=True))) == 10_000
    assert (pairs.a < pairs.b).all()
    again = generate_pairs(lfw, seed=3)
    assert np.array_equal(pairs.a, again.a) and np.array_equal(pairs.b, again.b)


def test_drawn_impostor_pairs_are_uniform() -> None:
    # 3 people with 2, 2 and 3 images: 21 pairs, 5 genuine, 16 impostor; draw 4 of the 16
    codes = np.array([0, 0, 1, 1, 2, 2, 2], dtype=np.int64)
    counts: Counter[tuple[int, int]] = Counter()
    rounds = 4000
    for seed in range(rounds):
        a, b = _impostor_pairs_drawn(codes, 4, 16, seed)
        assert len(set(zip(a.tolist(), b.tolist(), strict=True))) == 4
        assert (codes[a] != codes[b]).all() and (a < b).all()
        counts.update(zip(a.tolist(), b.tolist(), strict=True))
    assert len(counts) == 16
    expected = rounds * 4 / 16
    assert all(abs(count - expected) < 0.1 * expected for count in counts.values()), counts


def test_generate_pairs_refuses_bad_counts(dev: Dataset, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="impostors must be"):
        generate_pairs(dev, impostors=-1)
    alone = Dataset(tmp_path, ("Solo/a.jpg",), ("Solo",), ())
    with pytest.raises(DatasetError, match="no pair can be made from 1 image"):
        generate_pairs(alone)


def test_symlinked_files_keep_their_link_name(tmp_path: Path, faces_dev: Path) -> None:
    target = faces_dev / "Amy_Adams" / "openface_adams.jpg"
    link(target, tmp_path / "set" / "Someone" / "renamed.jpg")
    dataset = scan(tmp_path / "set")
    assert dataset.images == ("Someone/renamed.jpg",)
    assert os.path.samefile(dataset.root / dataset.images[0], target)
