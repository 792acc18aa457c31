"""Practice set files: round trip, validation, finding images by digest, packing for another site."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from impostor.errors import PracticeError
from impostor.practice.sets import SCHEMA, ImageRef, Item, PracticeSet, load_set, pack
from impostor.qa.cache import file_digest


def _photo(path: Path, shade: int) -> ImageRef:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((40, 30, 3), shade, dtype=np.uint8))
    return ImageRef(path=f"{path.parent.name}/{path.name}", sha256=file_digest(path), person=path.parent.name)


@pytest.fixture
def people(tmp_path: Path) -> Path:
    root = tmp_path / "people"
    root.mkdir()
    return root


@pytest.fixture
def small_set(tmp_path: Path, people: Path) -> PracticeSet:
    a1 = _photo(people / "Ana_Quispe" / "1.png", 10)
    a2 = _photo(people / "Ana_Quispe" / "2.png", 20)
    b1 = _photo(people / "Luis_Mamani" / "1.png", 30)
    items = (
        Item("item-001", a1, a2, True, 0.41, 0.93),
        Item("item-002", a1, b1, False, 0.55, 0.31),
    )
    made = PracticeSet("small", items, {"dataset": {"root": str(people)}}, tmp_path / "sets")
    (tmp_path / "sets").mkdir()
    made.save(tmp_path / "sets" / "small.json")
    return load_set(tmp_path / "sets" / "small.json")


def test_a_set_survives_a_round_trip(small_set: PracticeSet, tmp_path: Path) -> None:
    data = json.loads((tmp_path / "sets" / "small.json").read_text())
    assert data["schema"] == SCHEMA
    assert [item.id for item in small_set.items] == ["item-001", "item-002"]
    assert small_set.items[0].same and not small_set.items[1].same
    assert small_set.items[1].probability == pytest.approx(0.31)
    assert len(small_set.id) == 16


def test_images_are_found_under_the_data_set_and_checked(small_set: PracticeSet, people: Path) -> None:
    small_set.check_images()
    assert small_set.image_path(small_set.items[0].left) == people / "Ana_Quispe" / "1.png"


def test_a_changed_image_is_refused(small_set: PracticeSet, people: Path) -> None:
    cv2.imwrite(str(people / "Luis_Mamani" / "1.png"), np.full((40, 30, 3), 99, dtype=np.uint8))
    with pytest.raises(PracticeError, match="has changed"):
        small_set.check_images()


def test_a_missing_image_is_named(small_set: PracticeSet, people: Path) -> None:
    (people / "Ana_Quispe" / "2.png").unlink()
    with pytest.raises(PracticeError, match="Ana_Quispe/2.png .*not found"):
        small_set.check_images()


def test_a_pack_carries_its_images_without_names_and_keeps_the_set_id(
    small_set: PracticeSet, tmp_path: Path, people: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMPOSTOR_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "small.zip"
    assert pack(small_set, out) == 3
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert "set.json" in names
    assert not any("Quispe" in name or "Mamani" in name for name in names)
    for folder in people.iterdir():  # the other site has no copy of the data set
        for file in folder.iterdir():
            file.unlink()
    unpacked = load_set(out)
    assert unpacked.id == small_set.id
    unpacked.check_images()
    assert unpacked.folder.parent == tmp_path / "cache" / "practice-sets"
    assert load_set(out).folder == unpacked.folder  # a second start reuses the unpacked folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema="impostor.practice-set/9"), "schema"),
        (lambda d: d.update(items=[]), "no items"),
        (lambda d: d["items"][0]["left"].update(sha256="abc"), "64 lower-case hex"),
        (lambda d: d["items"][0]["left"].update(path="/etc/passwd"), "must be relative"),
        (lambda d: d["items"][0]["left"].update(path="../x.png"), "must be relative"),
        (lambda d: d["items"][1].update(id="item-001"), "two items with id"),
        (lambda d: d["items"][0].update(same="yes"), "true/false"),
        (lambda d: d["items"][0].update(probability=1.5), "probability"),
    ],
)
def test_a_damaged_set_file_is_refused_with_its_reason(
    small_set: PracticeSet, tmp_path: Path, change: object, message: str
) -> None:
    data = small_set.to_dict()
    change(data)  # type: ignore[operator]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(PracticeError, match=message):
        load_set(broken)


def test_files_that_are_not_sets_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMPOSTOR_CACHE", str(tmp_path / "cache"))
    with pytest.raises(PracticeError, match="not found"):
        load_set(tmp_path / "none.json")
    text = tmp_path / "notes.json"
    text.write_text("not json")
    with pytest.raises(PracticeError, match="not readable JSON"):
        load_set(text)
    plain_zip = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(PracticeError, match="not a packed practice set"):
        load_set(plain_zip)
    sneaky = tmp_path / "sneaky.zip"
    with zipfile.ZipFile(sneaky, "w") as archive:
        archive.writestr("set.json", "{}")
        archive.writestr("../outside.png", b"x")
    with pytest.raises(PracticeError, match="unsafe path"):
        load_set(sneaky)
    assert not (tmp_path / "outside.png").exists()
    assert [p.name for p in (tmp_path / "cache" / "practice-sets").iterdir()] == []  # no half-unpacked folder
