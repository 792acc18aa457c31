"""The trainer's report: one self-contained HTML page over a practice results database.

Every finished session is scored with ``scoring.score_trials``; a session still being answered is
only listed. The page holds a cohort table sorted so that the trainee whose latest false-accept
rate is highest comes first, then per trainee a sessions table, a progress plot and accuracy by
confidence, the trainees beside the algorithm on the same pairs, and the published norms.

Plots are PNG embedded as base64 data URIs, the CSS is inline, and there are no scripts and no
links out, so the file reads the same offline and years later. Every string from the database
(trainee IDs, set names, the path) is HTML-escaped; every visible word comes from the text
catalogue through ``_t``, and numbers are written with the language's decimal mark.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from impostor.errors import ImpostorError, OutputError, PracticeError
from impostor.markup import escape, img, table
from impostor.practice.i18n import LANGUAGES, translate
from impostor.practice.items import item_analysis
from impostor.practice.report_plots import confidence_png, progress_png
from impostor.practice.scoring import Norm, Score, Trial, load_norms, score_trials
from impostor.practice.selection import DIFFICULTIES
from impostor.practice.sets import ImageRef, PracticeSet
from impostor.practice.store import PracticeStore, Session
from impostor.stages.capture import load_image

__all__ = ["CSS", "NONE", "Words", "render_report", "thumbnail", "words", "write_report"]

NONE = "–"  # a figure the answers cannot give
CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 76em; padding: 0 1em; }
body { color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.warn { color: #a40000; font-weight: 600; } .muted { color: #666; } .progress { color: #7a5c00; }
.help { background: #f6f8fa; border-left: 4px solid #1f77b4; padding: 0.4em 1em; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


# -- text -------------------------------------------------------------------------------------------


def _t(language: str, key: str, **values: object) -> str:
    """Catalogue text ``key`` in ``language``, its ``{name}`` placeholders filled: plain text, not HTML."""
    return translate(language, key, **values)


@dataclass(frozen=True)
class Words:
    """One language's text and number formats; calling it gives escaped HTML, ``plain`` gives text."""

    language: str

    def plain(self, key: str, **values: object) -> str:
        """The catalogue's text for ``key`` in this language, with ``values`` filled in, unescaped."""
        return _t(self.language, key, **values)

    def __call__(self, key: str, **values: object) -> str:
        return escape(self.plain(key, **values))

    def num(self, value: float | None, digits: int = 2, *, sign: bool = False) -> str:
        """``value`` with ``digits`` decimals in this language's notation (a true minus, its
        decimal mark); a dash for none."""
        if value is None or math.isnan(value):
            return NONE
        text = f"{value:{'+' if sign else ''}.{digits}f}".replace("-", "−")
        return text.replace(".", self.plain("report.decimal_mark"))

    def pct(self, rate: float | None, digits: int = 1) -> str:
        """A fraction in [0, 1] as a percentage."""
        number = self.num(None if rate is None else rate * 100, digits)
        return number if number == NONE else self.plain("report.percent", value=number)

    def points(self, change: float) -> str:
        """A change of a fraction as signed percentage points."""
        number = self.num(change * 100, 1, sign=True)
        return number if number == NONE else self.plain("report.points", value=number)

    def difficulty(self, name: str | None) -> str | None:
        """A set's difficulty in words (plain text), or None for none or one unknown here."""
        return self.plain(f"difficulty.{name}") if name in DIFFICULTIES else None

    def seconds(self, value: float) -> str:
        """A duration in seconds, one decimal, as this language writes it."""
        number = self.num(value, 1)
        return number if number == NONE else self.plain("report.seconds", value=number)


def words(language: str) -> Words:
    """The report's words in ``language`` (es or en); raises ValueError for another."""
    if language not in LANGUAGES:
        raise ValueError(f"no report text for language {language!r}; choose one of {', '.join(LANGUAGES)}")
    return Words(language)


# -- what is reported -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scored:
    session: Session
    trials: tuple[Trial, ...]
    score: Score


@dataclass(frozen=True)
class _Trainee:
    """One trainee's finished sessions (in the order finished) scored, the unfinished ones, and the
    score of all finished answers pooled (None when nothing is finished)."""

    name: str
    finished: tuple[_Scored, ...]
    unfinished: tuple[Session, ...]
    pooled: Score | None

    @property
    def trials(self) -> list[Trial]:
        return [trial for scored in self.finished for trial in scored.trials]


def _collect(store: PracticeStore, trainee: str | None) -> list[_Trainee]:
    people = []
    for name in store.trainees() if trainee is None else [trainee]:
        sessions = store.sessions(name)
        finished = []
        for session in sorted((s for s in sessions if s.finished is not None), key=lambda s: str(s.finished)):
            trials = tuple(answer.trial() for answer in store.answers(session.id))
            if trials:
                finished.append(_Scored(session, trials, score_trials(trials)))
        pooled = [trial for scored in finished for trial in scored.trials]
        unfinished = tuple(s for s in sessions if s.finished is None)
        people.append(_Trainee(name, tuple(finished), unfinished, score_trials(pooled) if pooled else None))
    if trainee is not None and not (people[0].finished or people[0].unfinished):
        known = ", ".join(store.trainees()) or "none"
        raise PracticeError(f"trainee {trainee!r} has no sessions in {store.path}; trainees there: {known}")
    if not any(p.finished for p in people):
        whose = "" if trainee is None else f"of trainee {trainee!r} "
        waiting = sum(len(p.unfinished) for p in people)
        raise PracticeError(
            f"nothing to report: no finished practice session {whose}in {store.path} ({waiting} in "
            "progress); run the report once a session is finished"
        )
    return people


def _attention(person: _Trainee) -> tuple[bool, float, str]:
    """Sort key: highest latest false-accept rate first; no rate (or nothing finished) last."""
    far = person.finished[-1].score.trainee.false_accept_rate if person.finished else math.nan
    return math.isnan(far), 0.0 if math.isnan(far) else -far, person.name


# -- public ------------------------------------------------------------------------------------------


def render_report(
    store: PracticeStore,
    *,
    trainee: str | None = None,
    language: str = "en",
    practice_set: PracticeSet | None = None,
) -> str:
    """The report page as HTML over every trainee in ``store``, or only ``trainee``; with a
    ``practice_set``, the item analysis shows each pair's pictures.

    Raises ``PracticeError`` when there is no finished session to report (naming the unknown
    trainee when that is why) and ``ValueError`` for a ``language`` without report text.
    """
    people = _collect(store, trainee)
    analysis = _items(store, practice_set, words(language)) if trainee is None else ""
    return _render(store.path, people, cohort=trainee is None, w=words(language), items=analysis)


def write_report(
    store: PracticeStore,
    out: str | Path,
    *,
    trainee: str | None = None,
    language: str = "en",
    practice_set: PracticeSet | None = None,
) -> str:
    """Write the report page (see ``render_report``) to ``out``; returns a one-line summary such as
    "3 trainees, 7 finished sessions, 214 answers". Raises ``OutputError`` when ``out`` cannot be written."""
    w = words(language)
    people = _collect(store, trainee)
    analysis = _items(store, practice_set, w) if trainee is None else ""
    page = _render(store.path, people, cohort=trainee is None, w=w, items=analysis)
    target = Path(out)
    try:
        target.write_text(page, encoding="utf-8")
    except OSError as error:
        raise OutputError(f"cannot write practice report {target}: {error.strerror or error}") from None
    sessions = sum(len(p.finished) for p in people)
    waiting = sum(len(p.unfinished) for p in people)
    summary = f"{_count(len(people), 'trainee')}, {_count(sessions, 'finished session')}, "
    summary += _count(sum(len(p.trials) for p in people), "answer")
    return summary + (f" ({waiting} in progress)" if waiting else "")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- the page ----------------------------------------------------------------------------------------


def _render(path: Path, people: list[_Trainee], *, cohort: bool, w: Words, items: str = "") -> str:
    norms = {norm.key: norm for norm in load_norms()}
    if cohort:
        people = sorted(people, key=_attention)
    scope = (
        w("report.scope_cohort", trainees=len(people))
        if cohort
        else w("report.scope_trainee", trainee=people[0].name)
    )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    parts = [
        f'<!DOCTYPE html><html lang="{escape(w.language)}"><head><meta charset="utf-8">',
        f"<title>{w('report.title')}</title><style>{CSS}</style></head><body>",
        f"<h1>{w('report.title')}</h1>",
        f'<p class="muted">{w("report.generated", time=now, database=path)}<br>{scope}</p>',
        _how_to_read(norms["passport_officers"], w),
    ]
    if cohort:
        parts += [_cohort(people, norms, w), items]
    parts += [_trainee(index, person, norms, w) for index, person in enumerate(people)]
    who = w("report.trainees") if cohort else escape(people[0].name)
    parts += [_versus(people, who, w), _norms(people, norms, cohort, w), "</body></html>"]
    return "\n".join(parts) + "\n"


ANALYSED_ITEMS = 20  # the pairs the item analysis lists, those most often wrong first


def _items(store: PracticeStore, practice_set: PracticeSet | None, w: Words) -> str:
    """The pairs that fool most trainees, with their pictures when the set is at hand."""
    found = item_analysis(store, set_id=practice_set.id if practice_set is not None else None)
    if not found:
        return ""
    served = practice_set.items if practice_set is not None else ()
    by_pair, by_id = {item.pair: item for item in served}, {item.id: item for item in served}
    rows = []
    for stats in found[:ANALYSED_ITEMS]:
        item = by_pair.get(stats.pair) if stats.pair else by_id.get(stats.item_id)
        thumbs = ""
        if item is not None and practice_set is not None:
            thumbs = thumbnail(practice_set, item.left) + thumbnail(practice_set, item.right)
        wrong = w("report.count_share", count=stats.wrong, share=w.pct(stats.wrong_share))
        rows.append(
            [
                thumbs,
                escape(stats.item_id),
                w("report.truth_same") if stats.same else w("report.truth_different"),
                str(stats.answers),
                wrong,
                str(stats.false_accepts),
                w.num(stats.confidence_when_wrong, 1),
                w.pct(stats.probability),
            ]
        )
    keys = (
        "item_pictures",
        "item",
        "truth",
        "answers",
        "wrong",
        "false_accepts",
        "confidence_wrong",
        "algorithm_probability",
    )
    header = [w(f"report.{key}") for key in keys]
    return f"<h2>{w('report.items_heading')}</h2><p>{w('report.items_help')}</p>" + table(
        header, rows, text=(0, 1, 2)
    )


def thumbnail(practice_set: PracticeSet, image: ImageRef) -> str:
    """A picture of a pair, 72 px tall, inline (the report is one file)."""
    import cv2

    try:  # a picture missing or changed since the set was built is left out, not a failed report
        pixels = load_image(practice_set.image_path(image)).pixels
    except ImpostorError:
        return ""
    scale = 72 / pixels.shape[0]
    small = cv2.resize(pixels, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return img(bytes(encoded), image.person) if ok else ""


def _how_to_read(officers: Norm, w: Words) -> str:
    far = w("report.help_far", rate=w.pct(officers.false_accept_rate, 0))
    items = f"<li>{w('report.help_d_prime')}</li><li>{w('report.help_c')}</li><li>{far}</li>"
    return f'<div class="help"><b>{w("report.help_heading")}</b><ul>{items}</ul></div>'


def _trend(person: _Trainee) -> float:
    """The change in accuracy from the first session like the latest to the latest: the same
    set in the same mode, else a set of the same difficulty in the same mode (NaN: none)."""
    latest = person.finished[-1].session
    for alike in (
        lambda s: s.set_id == latest.set_id and s.mode == latest.mode,
        lambda s: (
            latest.difficulty is not None and s.difficulty == latest.difficulty and s.mode == latest.mode
        ),
    ):
        same = [scored for scored in person.finished if alike(scored.session)]
        if len(same) > 1:
            return same[-1].score.trainee.accuracy - same[0].score.trainee.accuracy
    return math.nan


def _cohort(people: list[_Trainee], norms: dict[str, Norm], w: Words) -> str:
    limit = norms["passport_officers"].false_accept_rate
    rows = []
    for index, person in enumerate(people):
        name = f'<a href="#trainee-{index}">{escape(person.name)}</a>'
        if person.pooled is None:
            rows.append([name, "0", *[NONE] * 6, str(len(person.unfinished))])
            continue
        last = person.finished[-1].score.trainee
        far = w.pct(last.false_accept_rate)
        if not math.isnan(last.false_accept_low):  # the exact 95% interval: few pairs say little
            span = w(
                "report.interval", low=w.pct(last.false_accept_low, 0), high=w.pct(last.false_accept_high, 0)
            )
            far += f' <span class="muted">{span}</span>'
        if limit is not None and last.false_accept_rate > limit:
            far += f' <span class="warn">▲ {w("report.above_norm", rate=w.pct(limit, 0))}</span>'
        best = max(scored.score.trainee.accuracy for scored in person.finished)
        trend = _trend(person)
        row = [name, str(len(person.finished)), w.pct(last.accuracy), w.pct(best), far, w.num(last.d_prime)]
        rows.append(
            [*row, w.seconds(person.pooled.mean_seconds), w.points(trend), str(len(person.unfinished))]
        )
    keys = ("trainee", "sessions", "latest_accuracy", "best_accuracy", "latest_far", "latest_d_prime")
    header = [w(f"report.{key}") for key in (*keys, "mean_time_all", "trend", "in_progress_count")]
    return f"<h2>{w('report.cohort_heading')}</h2><p>{w('report.cohort_help')}</p>" + table(header, rows)


def _trainee(index: int, person: _Trainee, norms: dict[str, Norm], w: Words) -> str:
    rows: list[list[str]] = []
    for number, scored in enumerate(person.finished, start=1):
        s, d, a = scored.session, scored.score.trainee, scored.score.algorithm
        row = [str(number), _when(str(s.finished)), _set_name(s, w), w(f"report.mode_{s.mode}")]
        row += [
            str(s.total),
            *map(w.pct, (d.accuracy, d.hit_rate, d.correct_rejection_rate, d.false_accept_rate)),
        ]
        row += [w.num(d.d_prime) + ("*" if d.corrected else ""), w.num(d.criterion)]
        row += [w.seconds(scored.score.mean_seconds), NONE if a is None else w.pct(a.accuracy)]
        rows.append([*row, w.pct(scored.score.agreement)])
    for s in person.unfinished:
        progress = w("report.in_progress", answered=s.answered, total=s.total)
        rows.append(["", _when(s.started), _set_name(s, w), w(f"report.mode_{s.mode}"), str(s.total)])
        rows[-1].append(f'<span class="progress">{progress}</span>')
    keys: tuple[str, ...] = ("number", "date", "set", "mode", "items", "accuracy", "hit_rate", "cr_rate")
    keys += ("false_accept_rate", "d_prime")
    keys += ("criterion", "mean_time", "algorithm_accuracy", "agreement")
    parts = [
        f'<h2 id="trainee-{index}">{w("report.trainee_heading", trainee=person.name)}</h2>',
        table([w(f"report.{key}") for key in keys], rows, text=range(4)),
    ]
    if any(scored.score.trainee.corrected for scored in person.finished):
        parts.append(f'<p class="muted">* {w("report.corrected")}</p>')
    if person.pooled is not None:
        gamma = person.pooled.confidence_accuracy
        tracking = w("report.gamma_none") if math.isnan(gamma) else w("report.gamma", gamma=w.num(gamma))
        parts += [
            _figure(
                progress_png(
                    [scored.score.trainee for scored in person.finished],
                    norms,
                    w,
                    kinds=[f"{s.session.set_id} {s.session.mode}" for s in person.finished],
                ),
                w.plain("report.progress_alt"),
            ),
            f"<h3>{w('report.confidence_heading')}</h3>",
            _figure(confidence_png(person.pooled, w), w.plain("report.confidence_alt")),
            f"<p>{tracking}</p>",
        ]
    return "\n".join(parts)


def _set_name(session: Session, w: Words) -> str:
    """The set's name, and its difficulty in the report's language when it was recorded."""
    difficulty = w.difficulty(session.difficulty)
    return escape(session.set_name) + (f" · {escape(difficulty)}" if difficulty else "")


def _versus(people: list[_Trainee], who: str, w: Words) -> str:
    """Trainees and algorithm on the same pairs (those the algorithm scored), and a 2x2 of who was right."""
    heading = f"<h2>{w('report.versus_heading')}</h2>"
    viewed = [t for person in people for t in person.trials if not math.isnan(t.probability)]
    if not viewed:
        return heading + f"<p>{w('report.versus_none')}</p>"
    score = score_trials(viewed)
    threshold = score.algorithm_threshold
    human, machine = score.trainee, score.algorithm
    assert machine is not None  # every trial here has a probability
    rows = [
        [w(f"report.{field}"), fmt(getattr(human, field)), fmt(getattr(machine, field))]
        for field, fmt in (("accuracy", w.pct), ("false_accept_rate", w.pct), ("miss_rate", w.pct))
        + (("d_prime", w.num), ("criterion", w.num))
    ]
    right = [(t.same == t.said_same, (t.probability >= threshold) == t.same) for t in viewed]
    cells = {(h, m): sum(pair == (h, m) for pair in right) for h in (True, False) for m in (True, False)}

    def cell(h: bool, m: bool) -> str:
        return w("report.count_share", count=cells[h, m], share=w.pct(cells[h, m] / len(viewed)))

    grid = [
        [w("report.trainee_right"), cell(True, True), f"<b>{cell(True, False)}</b>"],
        [w("report.trainee_wrong"), f"<b>{cell(False, True)}</b>", cell(False, False)],
    ]
    return "\n".join(
        [
            heading,
            f"<p>{w('report.versus_help', pairs=len(viewed), threshold=w.num(threshold, 1))}</p>",
            table([w("report.measure"), who, w("report.algorithm")], rows),
            table(["", w("report.algorithm_right"), w("report.algorithm_wrong")], grid),
            f"<p>{w('report.fusion', human_only=cells[True, False], machine_only=cells[False, True])}</p>",
        ]
    )


def _norms(people: list[_Trainee], norms: dict[str, Norm], cohort: bool, w: Words) -> str:
    rows = [
        [w(f"norm.{n.key}"), NONE if n.items is None else str(n.items), w.pct(n.accuracy)]
        + [w.pct(n.false_accept_rate), w.pct(n.miss_rate), escape(n.source)]
        for n in norms.values()
    ]
    pooled = score_trials([t for person in people for t in person.trials]).trainee
    here = w("report.norms_cohort") if cohort else w("report.norms_trainee", trainee=people[0].name)
    rows.append(
        [f"<b>{here}</b>", str(pooled.trials), w.pct(pooled.accuracy), w.pct(pooled.false_accept_rate)]
    )
    rows[-1] += [w.pct(pooled.miss_rate), w("report.norms_this_database")]
    keys = ("study", "items", "accuracy", "false_accept_rate", "miss_rate", "source")
    parts = [f"<h2>{w('report.norms_heading')}</h2>", f"<p>{w('report.norms_help')}</p>"]
    parts.append(table([w(f"report.{key}") for key in keys], rows, text=(0, 5)))
    accuracy, limit = norms["gfmt_short"].accuracy, norms["passport_officers"].false_accept_rate
    latest = [p.finished[-1].score.trainee for p in people if p.finished]
    if cohort and accuracy is not None and limit is not None:
        below = sum(d.accuracy < accuracy for d in latest)
        above = sum(d.false_accept_rate > limit for d in latest)
        standing = w(
            "report.norms_standing",
            below=below,
            above=above,
            trainees=len(latest),
            accuracy=w.pct(accuracy, 0),
            rate=w.pct(limit, 0),
        )
        parts.append(f"<p>{standing}</p>")
    return "\n".join(parts)


def _when(iso: str) -> str:
    """A stored UTC ISO 8601 time as 'YYYY-MM-DD HH:MM'."""
    return escape(iso[:16].replace("T", " "))


def _figure(png: bytes, alt: str) -> str:
    return f"<p>{img(png, alt)}</p>"
