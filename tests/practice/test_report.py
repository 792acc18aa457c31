"""The trainer's HTML report, built from a real results database of sessions answered through the store."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from impostor.errors import OutputError, PracticeError
from impostor.practice.report import render_report, write_report
from impostor.practice.scoring import Score, score_trials
from impostor.practice.sets import ImageRef, Item, PracticeSet
from impostor.practice.store import PracticeStore, Session

LOCALES = Path(__file__).resolve().parents[2] / "impostor" / "practice" / "locales"
NAN = float("nan")

# 8 pairs: 4 same person, 4 different people. The algorithm's probability of "same": right on
# all but i3 (a same pair it rejects) and i7 (a different pair it accepts); i4 it could not compare.
PAIRS = [
    (True, 0.9),
    (True, 0.8),
    (True, 0.7),
    (True, 0.2),
    (False, NAN),
    (False, 0.1),
    (False, 0.3),
    (False, 0.6),
]

Answerer = Callable[[Item], tuple[bool, int]]


def practice_set(folder: Path, name: str = "Hard pairs") -> PracticeSet:
    def image(k: int, side: str) -> ImageRef:
        return ImageRef(path=f"{side}{k}.jpg", sha256=f"{k * 2 + (side == 'r'):064x}", person=f"p{k}")

    items = tuple(
        Item(id=f"i{k}", left=image(k, "l"), right=image(k, "r"), same=same, distance=0.5, probability=p)
        for k, (same, p) in enumerate(PAIRS)
    )
    return PracticeSet(name=name, items=items, provenance={}, folder=folder)


def always_same(item: Item) -> tuple[bool, int]:
    return True, 3


def always_different(item: Item) -> tuple[bool, int]:
    return False, 2


def right_but_one(item: Item) -> tuple[bool, int]:
    """Right everywhere, sure of it, except a false accept on i6, given at confidence 1."""
    if item.id == "i6":
        return True, 1
    return item.same, 5


def perfect(item: Item) -> tuple[bool, int]:
    return item.same, 4


def sit(
    store: PracticeStore, trainee: str, pset: PracticeSet, answer: Answerer, *, stop: int | None = None
) -> Session:
    """Answer the set as the server would, item by item in the session's order; ``stop`` leaves it open."""
    session, resumed = store.start(trainee, pset, "test", "en")
    assert not resumed
    for position, index in enumerate(session.order[:stop]):
        item = pset.items[index]
        said_same, confidence = answer(item)
        outcome = store.record(
            session.id, position, item, said_same=said_same, confidence=confidence, seconds=2.0 + position
        )
        assert outcome == "recorded"
    return session


def scored(store: PracticeStore, session: Session) -> Score:
    return score_trials([answer.trial() for answer in store.answers(session.id)])


def pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def pct_es(rate: float) -> str:
    """A percentage as Spanish in Peru writes it: a decimal point, a space before the sign."""
    return f"{rate * 100:.1f} %"


def number(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


class _Tables(HTMLParser):
    """Every table of a page as rows of cell text, and the id of the h2 each table falls under."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.section = ""
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "h2":
            self.section = dict(attrs).get("id") or ""
        elif tag == "table":
            self.tables.append((self.section, []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str, section: str | None = None) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return [rows for where, rows in parser.tables if section is None or where == section]


@pytest.fixture
def cohort(tmp_path: Path) -> tuple[PracticeStore, dict[str, list[Session]]]:
    """Three trainees: a lenient one (always "same"), one who improves from lenient to nearly right, and a
    strict one (always "different") with a second session left unfinished."""
    store = PracticeStore(tmp_path / "p.db")
    pset = practice_set(tmp_path)
    sessions = {
        "ana.lopez": [sit(store, "ana.lopez", pset, always_same)],
        "ben-2": [sit(store, "ben-2", pset, always_same), sit(store, "ben-2", pset, right_but_one)],
        "carla_x": [sit(store, "carla_x", pset, always_different)],
    }
    sit(store, "carla_x", pset, perfect, stop=3)
    return store, sessions


def test_report_is_one_self_contained_file(cohort: tuple[PracticeStore, dict[str, list[Session]]]) -> None:
    store, _ = cohort
    out = store.path.with_name("report.html")
    summary = write_report(store, out)
    assert summary == "3 trainees, 4 finished sessions, 32 answers (1 in progress)"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for trainee in ("ana.lopez", "ben-2", "carla_x"):
        assert f"Trainee {trainee}</h2>" in page
    # a progress plot and a confidence plot per trainee, all embedded
    assert page.count('src="data:image/png;base64,') == 6
    assert len(re.findall(r'src="(?!data:image/png;base64,)', page)) == 0
    assert len(re.findall(r'href="(?!#trainee-\d+")', page)) == 0  # links only within the page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    generated = r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC from "
    assert re.search(generated + re.escape(str(store.path)), page)
    assert re.sub(generated, "", render_report(store)) == re.sub(generated, "", page)  # the same but the time


def test_session_figures_are_those_of_score_trials(
    cohort: tuple[PracticeStore, dict[str, list[Session]]],
) -> None:
    store, sessions = cohort
    page = render_report(store)
    # ben-2's latest false-accept rate is 25%, between ana's 100% and carla's 0%: second section
    rows = tables(page, "trainee-1")[0]
    assert rows[0][:6] == ["#", "Date (UTC)", "Set", "Mode", "Pairs", "Accuracy"]
    for row, session in zip(rows[1:], sessions["ben-2"], strict=True):
        score = scored(store, session)
        d, a = score.trainee, score.algorithm
        assert a is not None
        assert row[2:5] == ["Hard pairs", "test", "8"]
        assert row[5:9] == [
            pct(d.accuracy),
            pct(d.hit_rate),
            pct(d.correct_rejection_rate),
            pct(d.false_accept_rate),
        ]
        assert row[9].rstrip("*") == number(d.d_prime) and row[10] == number(d.criterion)
        assert row[11] == f"{score.mean_seconds:.1f} s"
        assert row[12:] == [pct(a.accuracy), pct(score.agreement)]
    # hand-checked: right but one false accept of 4 different pairs; the algorithm is right on 5 of the 7
    # pairs it compared
    assert rows[2][5:9] == ["87.5%", "100.0%", "75.0%", "25.0%"] and rows[2][12] == "71.4%"
    # every answer of the first session was "same": a 100% hit rate needed the 1/(2N) correction
    assert rows[1][9].endswith("*") and "1/(2N)" in page


def test_cohort_puts_the_highest_latest_false_accept_rate_first(
    cohort: tuple[PracticeStore, dict[str, list[Session]]],
) -> None:
    store, sessions = cohort
    (table,) = [rows for rows in tables(render_report(store)) if rows[0][0] == "Trainee"]
    assert [row[0] for row in table[1:]] == ["ana.lopez", "ben-2", "carla_x"]
    ana, ben, carla = table[1:]
    # latest false-accept rates 100% and 25% are above the passport officers' 14% and flagged; 0% is not
    assert ana[4] == "100.0% (95%: 40%–100%) ▲ above the officers' 14%"
    assert ben[4] == "25.0% (95%: 1%–81%) ▲ above the officers' 14%"
    assert carla[4].startswith("0.0% (95%: 0%–")  # 0 of a few pairs: the interval says how few
    first, latest = (scored(store, s).trainee for s in sessions["ben-2"])
    assert ben[1:4] == ["2", pct(latest.accuracy), pct(latest.accuracy)]
    assert ben[7] == f"+{(latest.accuracy - first.accuracy) * 100:.1f} pts"
    assert carla[-1] == "1" and ana[7] == "–"  # one in progress; a single session has no trend


def test_unfinished_session_is_listed_not_scored(
    cohort: tuple[PracticeStore, dict[str, list[Session]]],
) -> None:
    store, _ = cohort
    rows = tables(render_report(store), "trainee-2")[0]
    assert len(rows) == 3  # header, the finished session, the unfinished one
    assert rows[2][5] == "in progress (3 of 8 answered)"
    assert len(rows[2]) == 6  # the note spans the figures' columns


def test_database_strings_are_escaped(tmp_path: Path) -> None:
    store = PracticeStore(tmp_path / "p.db")
    sit(store, "OFC<1>", practice_set(tmp_path, name="A&B <hard>"), right_but_one)
    page = render_report(store)
    assert "<hard>" not in page and "OFC<1>" not in page
    assert "A&amp;B &lt;hard&gt;" in page and "OFC&lt;1&gt;" in page
    assert tables(page, "trainee-0")[0][1][2] == "A&B <hard>"


def test_trainee_versus_algorithm(cohort: tuple[PracticeStore, dict[str, list[Session]]]) -> None:
    store, sessions = cohort
    page = render_report(store, trainee="ben-2")
    trials = [
        a.trial() for s in sessions["ben-2"] for a in store.answers(s.id) if not math.isnan(a.probability)
    ]
    assert len(trials) == 14  # i4 has no probability
    counts = {(h, m): 0 for h in (True, False) for m in (True, False)}
    for t in trials:
        counts[t.same == t.said_same, (t.probability >= 0.5) == t.same] += 1
    measures, grid = [rows for rows in tables(page) if rows[0][0] in ("Measure", "")]
    assert measures[0] == ["Measure", "ben-2", "Algorithm"]
    same_items = score_trials(trials)
    assert same_items.algorithm is not None
    assert measures[1] == ["Accuracy", pct(same_items.trainee.accuracy), pct(same_items.algorithm.accuracy)]
    assert grid[0] == ["", "Algorithm right", "Algorithm wrong"]
    for row, human in zip(grid[1:], (True, False), strict=True):
        for cell, machine in zip(row[1:], (True, False), strict=True):
            assert cell == f"{counts[human, machine]} ({pct(counts[human, machine] / 14)})"
    # trainee alone wrong: i5 and i6 in session 1 ("same" throughout), i6 in session 2; algorithm alone
    # wrong: i3 in session 1 (the trainee said "same" to everything), i3 and i7 in session 2
    assert counts[False, True] == 3 and counts[True, False] == 3 and counts[False, False] == 1


def test_trainee_filter(cohort: tuple[PracticeStore, dict[str, list[Session]]]) -> None:
    store, _ = cohort
    out = store.path.with_name("carla.html")
    assert (
        write_report(store, out, trainee="carla_x")
        == "1 trainee, 1 finished session, 8 answers (1 in progress)"
    )
    page = out.read_text(encoding="utf-8")
    assert "carla_x" in page and "ana.lopez" not in page and "ben-2" not in page
    assert "Cohort" not in page and "Scope: trainee carla_x." in page
    norms = tables(page)[-1]
    assert norms[-1][:3] == ["Trainee carla_x, all finished sessions", "8", "50.0%"]


def test_spanish_report(cohort: tuple[PracticeStore, dict[str, list[Session]]]) -> None:
    store, sessions = cohort
    page = render_report(store, language="es")
    assert '<html lang="es">' in page and "informe del instructor" in page
    assert "Participante ben-2" in page and "Trainee" not in page and "Accuracy" not in page
    latest = scored(store, sessions["ben-2"][1]).trainee
    row = tables(page, "trainee-1")[0][2]
    assert row[5] == pct_es(latest.accuracy) == "87.5 %"
    assert row[9] == number(latest.d_prime) + "*"  # all 4 same pairs hit: corrected
    assert "en curso (3 de 8 respondidos)" in page
    assert "por encima del 14 % de los oficiales" in page


def test_nothing_to_report(tmp_path: Path) -> None:
    store = PracticeStore(tmp_path / "p.db")
    with pytest.raises(PracticeError, match="nothing to report"):
        render_report(store)
    sit(store, "dana", practice_set(tmp_path), perfect, stop=2)
    with pytest.raises(PracticeError, match=r"1 in progress"):
        write_report(store, tmp_path / "r.html")
    with pytest.raises(PracticeError, match=r"trainee 'dana'.*1 in progress"):
        render_report(store, trainee="dana")
    with pytest.raises(PracticeError, match=r"trainee 'zed' has no sessions.*trainees there: dana"):
        render_report(store, trainee="zed")
    assert not (tmp_path / "r.html").exists()


def test_unwritable_output(cohort: tuple[PracticeStore, dict[str, list[Session]]], tmp_path: Path) -> None:
    store, _ = cohort
    with pytest.raises(OutputError, match="missing"):
        write_report(store, tmp_path / "missing" / "r.html")
    with pytest.raises(OutputError):
        write_report(store, tmp_path)  # a folder


def test_unknown_language(cohort: tuple[PracticeStore, dict[str, list[Session]]]) -> None:
    store, _ = cohort
    with pytest.raises(ValueError, match="'fr'"):
        render_report(store, language="fr")


def test_every_report_key_is_in_both_catalogues() -> None:
    source = (LOCALES.parent / "report.py").read_text(encoding="utf-8")
    used = set(re.findall(r"\"((?:report|norm)\.[a-z_]+)\"", source))
    for language in ("en", "es"):
        messages = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))["messages"]
        assert used and used <= messages.keys(), language


def test_item_analysis_is_what_the_database_says(
    cohort: tuple[PracticeStore, dict[str, list[Session]]],
) -> None:
    from impostor.practice.items import item_analysis

    store, _ = cohort
    found = item_analysis(store)
    # counted again the obvious way, answer by answer
    expected: dict[str, list[tuple[bool, bool, int]]] = {}
    for session in store.sessions():
        if session.finished is not None:
            for answer in store.answers(session.id):
                expected.setdefault(answer.item_id, []).append(
                    (answer.same, answer.said_same, answer.confidence)
                )
    assert {s.item_id for s in found} == set(expected)
    for stats in found:
        rows = expected[stats.item_id]
        wrong = [confidence for same, said, confidence in rows if same != said]
        assert (stats.answers, stats.wrong) == (len(rows), len(wrong))
        assert stats.false_accepts == sum(said and not same for same, said, _ in rows)
        if wrong:
            assert stats.confidence_when_wrong == pytest.approx(sum(wrong) / len(wrong))
    shares = [s.wrong_share for s in found]
    assert shares == sorted(shares, reverse=True)  # the pairs that fool most people first
    page = render_report(store)
    assert "The pairs that fool trainees" in page and 'alt="p0"' not in page
    # with the set at hand, each pair's two pictures (real ones, written where the set says)
    import dataclasses
    import hashlib

    import cv2
    from skimage import data

    folder = store.path.parent
    pset = practice_set(folder)
    faces = []  # a picture of its own for each side of each pair: pairs are told apart by content
    for k in range(2 * len(pset.items)):
        cv2.imwrite(str(folder / f"face{k}.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR) + k)
        digest = hashlib.sha256((folder / f"face{k}.png").read_bytes()).hexdigest()
        faces.append((f"face{k}.png", digest))
    pictured = tuple(
        dataclasses.replace(
            item,
            left=dataclasses.replace(item.left, path=faces[2 * k][0], sha256=faces[2 * k][1]),
            right=dataclasses.replace(item.right, path=faces[2 * k + 1][0], sha256=faces[2 * k + 1][1]),
        )
        for k, item in enumerate(pset.items)
    )
    pset = dataclasses.replace(pset, items=pictured)
    sitting = PracticeStore(folder / "pictured.db")
    sit(sitting, "dana", pset, right_but_one)
    with_pictures = render_report(sitting, practice_set=pset)
    assert all(f'alt="p{k}"' in with_pictures for k in range(len(pset.items)))


def test_a_pair_served_in_two_sets_is_one_pair_in_the_item_analysis(tmp_path: Path) -> None:
    import dataclasses

    from impostor.practice.items import item_analysis

    first = practice_set(tmp_path, "first")
    # the same photos again, under other item ids and in another order: another set
    second = dataclasses.replace(
        first,
        name="second",
        items=tuple(dataclasses.replace(i, id=f"x{i.id}") for i in reversed(first.items)),
    )
    assert first.id != second.id
    store = PracticeStore(tmp_path / "two.db")
    sit(store, "ana", first, always_same)
    sit(store, "luis", second, always_same)
    found = item_analysis(store)
    assert len(found) == len(first.items) and all(s.answers == 2 for s in found)
    assert {s.pair for s in found} == {i.pair for i in first.items}
    assert len(item_analysis(store, set_id=second.id)) == len(first.items)


def test_the_trend_compares_the_latest_session_with_one_like_it(tmp_path: Path) -> None:
    import dataclasses

    easy = practice_set(tmp_path, "easy drill")
    hard = dataclasses.replace(
        practice_set(tmp_path, "hard drill"),
        items=tuple(dataclasses.replace(i, id=f"h{i.id}", same=not i.same) for i in easy.items),
    )
    store = PracticeStore(tmp_path / "trend.db")
    sit(store, "ana", easy, perfect)
    sit(store, "ana", hard, always_same)  # another set: its lower score is no fall
    (cohort,) = [rows for rows in tables(render_report(store)) if rows[0][0] == "Trainee"]
    assert cohort[1][7] == "–"  # nothing like the latest before it
    sit(store, "ana", hard, perfect)
    (cohort,) = [rows for rows in tables(render_report(store)) if rows[0][0] == "Trainee"]
    sessions = store.sessions("ana")
    first_hard = scored(store, sessions[1]).trainee.accuracy
    assert cohort[1][7] == f"+{(1.0 - first_hard) * 100:.1f} pts"  # hard against hard
