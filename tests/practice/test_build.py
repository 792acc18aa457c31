"""Building practice sets: hard sets really are harder, no photo repeats, seeds reproduce."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from impostor.cli import main
from impostor.errors import DatasetError, PracticeError
from impostor.practice.build import build_set, mean_probability
from impostor.practice.selection import STRANGERS_FLOOR, choose_pairs, name_key
from impostor.practice.sets import PracticeSet, load_set
from impostor.qa.cache import EmbeddingCache
from tests.qa import stuck_fifo


@pytest.fixture(scope="module")
def cache(embedding_cache: Path) -> EmbeddingCache:
    return EmbeddingCache(embedding_cache)


@pytest.fixture(scope="module")
def sets(
    faces_dev: Path, cache: EmbeddingCache, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, PracticeSet]:
    folder = tmp_path_factory.mktemp("sets")
    return {
        difficulty: build_set(
            faces_dev,
            folder / f"{difficulty}.json",
            difficulty=difficulty,
            seed=7,
            cache=cache,
            progress=False,  # type: ignore[arg-type]
        )
        for difficulty in ("hard", "mixed", "easy")
    }


def test_hard_impostors_look_far_more_alike_to_the_algorithm_than_easy_ones(
    sets: dict[str, PracticeSet],
) -> None:
    hard = mean_probability(sets["hard"], same=False)
    easy = mean_probability(sets["easy"], same=False)
    print(
        f"\nmean algorithm probability of 'same person' on different-people items, seed 7: "
        f"hard {hard:.4f}, easy {easy:.6f}"
    )
    assert hard > 0.05 and hard > 100 * easy
    # and the hard genuine pairs are the ones the algorithm is least sure of
    assert mean_probability(sets["hard"], same=True) < mean_probability(sets["easy"], same=True)


def test_mixed_spans_the_range_between_easy_and_hard(sets: dict[str, PracticeSet]) -> None:
    def impostor_distances(made: PracticeSet) -> list[float]:
        return sorted(item.distance for item in made.items if not item.same)

    hard, mixed, easy = (impostor_distances(sets[d]) for d in ("hard", "mixed", "easy"))
    assert np.mean(hard) < np.mean(mixed) < np.mean(easy)
    assert max(mixed) - min(mixed) > max(hard) - min(hard)


def test_a_set_has_what_was_asked_and_never_repeats_a_photo(sets: dict[str, PracticeSet]) -> None:
    for made in sets.values():
        assert len(made.items) == 40
        assert sum(item.same for item in made.items) == 20
        photos = Counter(image.sha256 for item in made.items for image in (item.left, item.right))
        assert max(photos.values()) == 1
        for item in made.items:
            assert (item.left.person == item.right.person) == item.same
            assert 0.0 <= item.probability <= 1.0
        made.check_images()
        assert made.provenance["selection"]["seed"] == 7


def test_the_seed_reproduces_a_set_and_another_seed_changes_it(
    faces_dev: Path, cache: EmbeddingCache, sets: dict[str, PracticeSet], tmp_path: Path
) -> None:
    again = build_set(faces_dev, tmp_path / "again.json", seed=7, cache=cache, progress=False)
    assert again.id == sets["hard"].id
    other = build_set(faces_dev, tmp_path / "other.json", seed=8, cache=cache, progress=False)
    assert other.id != sets["hard"].id
    assert load_set(tmp_path / "again.json").id == again.id


def test_document_style_renders_the_left_photo_and_rescores_the_pair(
    faces_dev: Path, cache: EmbeddingCache, tmp_path: Path
) -> None:
    made = build_set(
        faces_dev,
        tmp_path / "counter.json",
        items=6,
        seed=3,
        document_style=True,
        cache=cache,
        progress=False,
    )
    for item in made.items:
        assert item.left.source is not None and item.left.path.startswith("counter-images/")
        assert (tmp_path / item.left.path).is_file()
        assert item.left.person == item.left.source.person
    made.check_images()
    scored = [item for item in made.items if math.isfinite(item.probability)]
    assert len(scored) >= 5  # the rendered portrait still shows a face the algorithm finds
    reloaded = load_set(tmp_path / "counter.json")
    assert reloaded.items[0].left.source == made.items[0].left.source


def test_choose_pairs_refuses_what_the_people_cannot_supply() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 128)) * 0.04  # every pair about 0.64 apart: plausible either way
    identities = np.array([0, 0, 1, 1, 2, 2])
    genuine, impostor = choose_pairs(vectors, identities, genuine=3, impostor=0, difficulty="hard", rng=rng)
    assert len(genuine) == 3 and impostor == []
    with pytest.raises(DatasetError, match="only 3 usable same-person pairs"):
        choose_pairs(vectors, identities, genuine=4, impostor=0, difficulty="hard", rng=rng)
    with pytest.raises(DatasetError, match="different-person pairs"):
        choose_pairs(vectors, identities, genuine=2, impostor=2, difficulty="hard", rng=rng)
    with pytest.raises(ValueError, match="difficulty"):
        choose_pairs(vectors, identities, genuine=1, impostor=1, difficulty="brutal", rng=rng)  # type: ignore[arg-type]


def _near(vector: np.ndarray, distance: float, rng: np.random.Generator) -> np.ndarray:
    step = rng.normal(size=vector.shape)
    return vector + distance * step / np.linalg.norm(step)


def test_choose_pairs_takes_the_closest_strangers_when_hard_but_not_suspect_ones() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(40, 128))
    identities = np.arange(40)
    vectors[1] = _near(vectors[0], 0.45, rng)  # two strangers who look alike
    vectors[3] = _near(vectors[2], 0.1, rng)  # "strangers" this close: one person filed twice
    _, impostor = choose_pairs(vectors, identities, genuine=0, impostor=2, difficulty="hard", rng=rng)
    chosen = [{pair.first, pair.second} for pair in impostor]
    assert {0, 1} in chosen and {2, 3} not in chosen
    assert all(pair.distance >= STRANGERS_FLOOR for pair in impostor)


def test_choose_pairs_leaves_out_namesakes_ineligible_photos_and_unlikely_same_person_pairs() -> None:
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(8, 128)) * 0.2
    identities = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    vectors[1] = _near(vectors[0], 0.9, rng)  # "the same person" this far apart: someone else's face
    vectors[3] = _near(vectors[2], 0.5, rng)
    vectors[5] = _near(vectors[4], 0.5, rng)
    vectors[7] = _near(vectors[6], 0.5, rng)
    genuine, _ = choose_pairs(vectors, identities, genuine=3, impostor=0, difficulty="hard", rng=rng)
    assert {(p.first, p.second) for p in genuine} == {(2, 3), (4, 5), (6, 7)}
    eligible = np.ones(8, dtype=bool)
    eligible[2] = False  # a group photo
    with pytest.raises(DatasetError, match="only 2 usable same-person pairs"):
        choose_pairs(
            vectors, identities, genuine=3, impostor=0, difficulty="hard", rng=rng, eligible=eligible
        )
    # people 1 and 2 are one person under two spellings: never offered as strangers
    namesakes = np.array([0, 0, 1, 1, 1, 1, 3, 3])
    _, impostor = choose_pairs(
        vectors, identities, genuine=0, impostor=3, difficulty="easy", rng=rng, namesakes=namesakes
    )
    for pair in impostor:
        assert namesakes[pair.first] != namesakes[pair.second]


def test_name_key_brings_spellings_of_one_name_together() -> None:
    assert name_key("Sung_Hong_Choi") == name_key("Choi_Sung-hong") == "choi hong sung"
    assert name_key("Wang_Yingfan") == name_key("Yingfan_Wang")
    assert name_key("Noer_Moeis") != name_key("Noer_Muis")


def test_the_command_prints_both_means(faces_dev: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "practice",
            "build",
            str(faces_dev),
            "--out",
            str(tmp_path / "set.json"),
            "--items",
            "10",
            "--quiet",
            "--no-cache",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "different-people items" in result.output and "same-person items" in result.output
    bad = CliRunner().invoke(
        main, ["practice", "build", str(tmp_path / "none"), "--out", str(tmp_path / "x.json")]
    )
    assert bad.exit_code == 12, bad.output


def test_trainees_difficulty_serves_first_the_pairs_earlier_trainees_missed(
    sets: dict[str, PracticeSet], faces_dev: Path, cache: EmbeddingCache, tmp_path: Path
) -> None:
    from impostor.practice.store import PracticeStore

    easy = sets["easy"]  # pairs nobody should miss: trainees here miss a few of them anyway
    missed = {easy.items[k].pair for k in (0, 1, 2, 3)}
    store = PracticeStore(tmp_path / "results.db")
    for trainee in ("ana", "luis", "rosa"):
        session, _ = store.start(trainee, easy, "practice", "es")
        for position, index in enumerate(session.order):
            item = easy.items[index]
            said_same = item.same != (item.pair in missed)
            store.record(session.id, position, item, said_same=said_same, confidence=4, seconds=3.0)
    made = build_set(
        faces_dev,
        tmp_path / "missed.json",
        items=8,
        difficulty="trainees",
        seed=3,
        cache=cache,
        progress=False,
        results=store,
    )
    assert missed <= {item.pair for item in made.items}
    selection = made.provenance["selection"]
    assert selection["difficulty"] == "trainees" and selection["from_trainees"] >= 4
    assert made.difficulty == "trainees"
    # without earlier answers there is nothing to learn from: said, not silently "hard"
    with pytest.raises(DatasetError, match="no finished answers"):
        build_set(
            faces_dev,
            tmp_path / "none.json",
            items=8,
            difficulty="trainees",
            cache=cache,
            progress=False,
            results=PracticeStore(tmp_path / "empty.db"),
        )


def test_build_warns_that_faces_dev_shows_people_trainees_know(
    faces_dev: Path, tmp_path: Path, sets: dict[str, PracticeSet]
) -> None:
    assert len(sets["hard"].provenance["known_people"]) == 26  # faces-dev is celebrities
    people = tmp_path / "ours.txt"
    people.write_text("# our own news\nana   quispe\n", encoding="utf-8")
    from impostor.practice.known import known_people

    assert known_people(["Quispe_Ana", "Luis_Mamani", "alejandro toledo"], people) == [
        "Quispe_Ana",
        "alejandro toledo",
    ]
    result = CliRunner().invoke(
        main,
        ["practice", "build", str(faces_dev), "--out", str(tmp_path / "s.json"), "--items", "4", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "warning: 26 of 26 people are likely to be known to trainees" in result.output
    refused = CliRunner().invoke(
        main,
        ["practice", "build", str(faces_dev), "--out", str(tmp_path / "t.json"), "--difficulty", "trainees"],
    )
    assert refused.exit_code != 0 and "give their --db" in refused.output and refused.output.count("\n") == 1


def test_a_set_is_previewed_then_edited_dropping_and_swapping_pairs_of_the_same_kind(
    sets: dict[str, PracticeSet], tmp_path: Path
) -> None:
    import shutil

    from impostor.practice.preview import render_preview

    source = sets["mixed"]
    set_file = tmp_path / "mixed.json"
    shutil.copy(source.folder / "mixed.json", set_file)
    page = render_preview(source, language="es")
    assert page.count("<tr>") == len(source.items) + 1 and "★" in page
    assert "No la muestre a los participantes" in page
    kinds = [item.same for item in source.items]
    swap = [kinds.index(True) + 1, kinds.index(False) + 1]  # one of each kind, numbered from 1
    drop = next(n for n in range(1, len(kinds) + 1) if n not in swap)
    runner = CliRunner()
    arguments = ["practice", "edit", str(set_file), "--out", str(tmp_path / "v2.json"), "--quiet"]
    result = runner.invoke(
        main, [*arguments, "--drop", str(drop), "--swap", str(swap[0]), "--swap", str(swap[1])]
    )
    assert result.exit_code == 0, result.output
    edited = load_set(tmp_path / "v2.json")
    assert len(edited.items) == len(source.items) - 1 and edited.id != source.id
    old = {item.id: item for item in source.items}
    new = [item for item in edited.items if item.id not in old]
    assert sorted(item.same for item in new) == [False, True]  # each swapped for its own kind
    photos = [image.sha256 for item in edited.items for image in (item.left, item.right)]
    assert len(photos) == len(set(photos))  # and with no photo the set already shows
    assert source.items[drop - 1].id not in {item.id for item in edited.items}
    (edit,) = edited.provenance["edits"]
    assert edit["from_set"] == source.id and "--swap" in edit["command"]
    for bad, message in [
        (["--drop", "99"], "the set has pairs 1 to"),
        (["--drop", "1", "--swap", "1"], "both dropped and swapped"),
        ([], "nothing to edit"),
    ]:
        refused = runner.invoke(main, [*arguments, *bad])
        assert refused.exit_code == 15 and message in refused.output and refused.output.count("\n") == 1
    elsewhere = runner.invoke(
        main, ["practice", "edit", str(set_file), "--drop", "1", "--out", str(tmp_path / "x" / "v.json")]
    )
    assert elsewhere.exit_code == 15 and "beside" in elsewhere.output


def test_a_known_people_list_that_is_a_pipe_or_a_device_is_refused(tmp_path: Path) -> None:
    from impostor.practice.known import known_people

    with stuck_fifo(tmp_path / "ours.txt") as fifo, pytest.raises(PracticeError, match="not a regular file"):
        known_people(["Quispe_Ana"], fifo)  # would wait for a writer
    with pytest.raises(PracticeError, match="not a regular file"):
        known_people(["Quispe_Ana"], Path("/dev/zero"))  # would never end
