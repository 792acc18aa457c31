"""Score a trainee's practice answers with signal-detection theory, beside the algorithm and published norms.

``same`` is the truth of an item (True: same person, genuine; False: different people, impostor). Saying
"same" is a hit on a same item and a false accept on a different-people item (the error that lets a
fraudster through); saying "different" is a miss or a correct rejection. Accuracy mixes two things a
trainer wants apart: sensitivity d' = z(H) - z(F), how well faces are told apart, and the criterion
c = -(z(H) + z(F)) / 2, how readily "same" is said (negative: lenient; positive: strict), with H the hit
rate, F the false-accept rate and z the inverse standard normal CDF. Rates are fractions in [0, 1], times
seconds; a figure the answers cannot give is NaN (None in ``to_dict``), never a guess.
"""

from __future__ import annotations

import json
import math
import operator
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from impostor.jsonio import jsonable

__all__ = [
    "NORMS_SCHEMA",
    "ConfidenceLevel",
    "Detection",
    "Norm",
    "Score",
    "Trial",
    "detection",
    "load_norms",
    "rates_to_sdt",
    "score_trials",
]

NORMS_SCHEMA = "impostor.norms/1"
_LEVELS = (1, 2, 3, 4, 5)
_NAN = float("nan")


class _JsonReady:
    __dataclass_fields__: ClassVar[dict[str, Any]]  # every subclass is a dataclass, which asdict needs

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values: nested results as dicts, tuples as lists, NaN as None."""
        result: dict[str, Any] = jsonable(asdict(self))
        return result


def _share(part: int, whole: int) -> float:
    return part / whole if whole else _NAN


@dataclass(frozen=True)
class Trial:
    """One answered item: truth, the trainee's answer, and the algorithm's view of the same pair.

    ``confidence`` runs 1 (guessing) to 5 (certain); ``seconds`` is the response time; ``probability`` is
    the algorithm's calibrated probability (0-1) of "same person", NaN when it had no view (no usable face).
    """

    same: bool
    said_same: bool
    confidence: int
    seconds: float
    probability: float = _NAN


@dataclass(frozen=True)
class ConfidenceLevel(_JsonReady):
    """How often the trainee was right at one confidence level (accuracy NaN when the level went unused)."""

    level: int
    trials: int
    correct: int
    accuracy: float


@dataclass(frozen=True)
class Detection(_JsonReady):
    """The signal-detection summary of one observer (trainee or algorithm) over a set of items.

    Hit and miss rates are over same-person (genuine) items, false-accept and correct-rejection rates over
    different-people (impostor) items, each NaN when there are none of that kind; ``d_prime`` and
    ``criterion`` are NaN unless both kinds are present. ``corrected`` is True when a rate of 0 or 1 was
    moved to 1/(2N) or 1 - 1/(2N) before taking z (see ``rates_to_sdt``).
    """

    trials: int
    correct: int
    accuracy: float
    genuine_items: int
    impostor_items: int
    hits: int
    misses: int
    false_accepts: int
    correct_rejections: int
    hit_rate: float
    correct_rejection_rate: float
    false_accept_rate: float
    miss_rate: float
    d_prime: float
    criterion: float
    corrected: bool
    # the exact (Clopper-Pearson) 95% interval of the false-accept rate: over a handful of
    # different-people items a rate of 0% or 40% says little, and the interval says how little
    false_accept_low: float = _NAN
    false_accept_high: float = _NAN


@dataclass(frozen=True)
class Score(_JsonReady):
    """A trainee's practice set scored, with the algorithm's answers on the same items alongside.

    ``algorithm`` covers the items where it gave a probability (``algorithm.trials`` of them; None when
    none) and says "same" when the probability is at least ``algorithm_threshold``; ``agreement`` is the
    share of those items where trainee and algorithm answered alike (NaN when none).

    ``confidence_accuracy`` is the Goodman-Kruskal gamma between confidence and being right: over the pairs
    of answers where one was right and the other wrong at different confidence levels, the share where the
    right one was held more confidently minus the share where the wrong one was, from -1 to 1. Gamma because
    confidence is only ordinal and, with five levels and a right/wrong outcome, most pairs tie; gamma sets
    ties aside, whereas a correlation is capped by the trainee's accuracy, making a good matcher look poorly
    calibrated. It is the usual resolution measure in metacognition research (Nelson 1984, Psychological
    Bulletin). NaN when no pair counts: all right, all wrong, or one confidence level throughout.
    """

    trainee: Detection
    algorithm: Detection | None
    agreement: float
    mean_seconds: float
    median_seconds: float
    by_confidence: tuple[ConfidenceLevel, ...]
    confidence_accuracy: float
    algorithm_threshold: float = 0.5
    fast_answers: int = 0  # answers given in under FAST_SECONDS: faster than a person can compare two faces


def _corrected_rate(count: int, total: int) -> tuple[float, bool]:
    # z(0) and z(1) are infinite; Macmillan & Kaplan's 1/(2N) moves them half an item in from the bound,
    # so a perfect score stays finite and grows with the number of items behind it
    if count == 0:
        return 1 / (2 * total), True
    if count == total:
        return 1 - 1 / (2 * total), True
    return count / total, False


def rates_to_sdt(hits: int, genuine: int, false_accepts: int, impostor: int) -> tuple[float, float, bool]:
    """Sensitivity d', criterion c and whether an extreme rate was corrected, from answer counts.

    ``hits`` of ``genuine`` same-person items and ``false_accepts`` of ``impostor`` different-people items
    were answered "same". d' = z(H) - z(F), c = -(z(H) + z(F)) / 2, z the inverse standard normal CDF. A
    rate of 0 becomes 1/(2N) and a rate of 1 becomes 1 - 1/(2N), N the number of items of that kind
    (Macmillan & Kaplan 1985); the third value says whether that happened. Raises ValueError when
    ``genuine`` or ``impostor`` is 0 or a count lies outside 0..its total, TypeError for a non-integer count.
    """
    hits, genuine, false_accepts, impostor = map(operator.index, (hits, genuine, false_accepts, impostor))
    for name, count, kind, total in (
        ("hits", hits, "genuine", genuine),
        ("false_accepts", false_accepts, "impostor", impostor),
    ):
        if total < 1:
            raise ValueError(f"{kind} must be at least 1 item to give a rate, not {total!r}")
        if not 0 <= count <= total:
            raise ValueError(f"{name} must lie between 0 and {kind} = {total}, not {count!r}")
    hit_rate, hit_fixed = _corrected_rate(hits, genuine)
    false_rate, false_fixed = _corrected_rate(false_accepts, impostor)
    z_hit, z_false = statistics.NormalDist().inv_cdf(hit_rate), statistics.NormalDist().inv_cdf(false_rate)
    # adding 0.0 turns the -0.0 of an unbiased observer into 0.0, which reads better in a report
    return z_hit - z_false, -(z_hit + z_false) / 2 + 0.0, hit_fixed or false_fixed


def detection(same: Sequence[bool], said_same: Sequence[bool]) -> Detection:
    """Summarise an observer's answers ``said_same`` against the truth ``same`` (equal-length sequences).

    Raises ValueError when the sequences are empty or differ in length.
    """
    if len(same) != len(said_same):
        raise ValueError(f"{len(same)} truths but {len(said_same)} answers; they must pair up one to one")
    if not same:
        raise ValueError("no answers to score")
    pairs = [(bool(truth), bool(answer)) for truth, answer in zip(same, said_same, strict=True)]
    hits = sum(truth and answer for truth, answer in pairs)
    misses = sum(truth and not answer for truth, answer in pairs)
    false_accepts = sum(answer and not truth for truth, answer in pairs)
    correct_rejections = len(pairs) - hits - misses - false_accepts
    genuine, impostor = hits + misses, false_accepts + correct_rejections
    d_prime, criterion, corrected = _NAN, _NAN, False
    if genuine and impostor:
        d_prime, criterion, corrected = rates_to_sdt(hits, genuine, false_accepts, impostor)
    correct = hits + correct_rejections
    return Detection(
        trials=len(pairs),
        correct=correct,
        accuracy=correct / len(pairs),
        genuine_items=genuine,
        impostor_items=impostor,
        hits=hits,
        misses=misses,
        false_accepts=false_accepts,
        correct_rejections=correct_rejections,
        hit_rate=_share(hits, genuine),
        correct_rejection_rate=_share(correct_rejections, impostor),
        false_accept_rate=_share(false_accepts, impostor),
        miss_rate=_share(misses, genuine),
        d_prime=d_prime,
        criterion=criterion,
        corrected=corrected,
        false_accept_low=exact_interval(false_accepts, impostor)[0],
        false_accept_high=exact_interval(false_accepts, impostor)[1],
    )


def exact_interval(count: int, total: int, level: float = 0.95) -> tuple[float, float]:
    """The Clopper-Pearson interval of a rate of ``count`` in ``total`` (NaNs when ``total`` is 0):
    exact, so it holds for the few items a practice set has, where a normal approximation fails."""
    if total == 0:
        return _NAN, _NAN
    from scipy.stats import beta

    tail = (1.0 - level) / 2
    low = 0.0 if count == 0 else float(beta.ppf(tail, count, total - count + 1))
    high = 1.0 if count == total else float(beta.ppf(1 - tail, count + 1, total - count))
    return low, high


def _check(trial: Trial, index: int) -> None:
    if isinstance(trial.confidence, bool) or trial.confidence not in _LEVELS:
        raise ValueError(f"trial {index}: confidence must be a whole number 1-5, not {trial.confidence!r}")
    if not (math.isfinite(trial.seconds) and trial.seconds >= 0):
        raise ValueError(f"trial {index}: seconds must be finite and 0 or more, not {trial.seconds!r}")
    if not (math.isnan(trial.probability) or 0 <= trial.probability <= 1):
        raise ValueError(
            f"trial {index}: probability must lie in [0, 1] or be NaN, not {trial.probability!r}"
        )


def _gamma(confidence: Sequence[int], correct: Sequence[bool]) -> float:
    """Goodman-Kruskal gamma between confidence levels 1-5 and right/wrong answers (see ``Score``)."""
    right, wrong = dict.fromkeys(_LEVELS, 0), dict.fromkeys(_LEVELS, 0)
    for level, ok in zip(confidence, correct, strict=True):
        (right if ok else wrong)[level] += 1
    # counting per level keeps this linear in the trials instead of comparing every pair of answers
    ordered = [(high, low) for high in _LEVELS for low in _LEVELS if high > low]
    concordant = sum(right[high] * wrong[low] for high, low in ordered)
    discordant = sum(wrong[high] * right[low] for high, low in ordered)
    counted = concordant + discordant
    return (concordant - discordant) / counted if counted else _NAN


# under about a second is faster than a person can look at two faces and compare them: such an
# answer is flagged, not scored differently
FAST_SECONDS = 1.0


def score_trials(trials: Sequence[Trial], *, algorithm_threshold: float = 0.5) -> Score:
    """Score a practice set: the trainee's detection, the algorithm's, response times and confidence.

    The algorithm says "same" when its probability is ``>= algorithm_threshold`` (in [0, 1]); trials with
    a NaN probability are left out of its summary and of ``agreement``. Raises ValueError for no trials, a
    threshold outside [0, 1], or a trial with confidence outside 1-5, a negative or non-finite time, or a
    probability outside [0, 1]; the message gives the trial's index and the value.
    """
    if not trials:
        raise ValueError("no trials to score")
    if not 0 <= algorithm_threshold <= 1:
        raise ValueError(f"algorithm_threshold must lie in [0, 1], not {algorithm_threshold!r}")
    for index, trial in enumerate(trials):
        _check(trial, index)
    viewed = [t for t in trials if not math.isnan(t.probability)]
    algorithm, agreement = None, _NAN
    if viewed:
        says_same = [t.probability >= algorithm_threshold for t in viewed]
        algorithm = detection([t.same for t in viewed], says_same)
        alike = [bool(t.said_same) == says for t, says in zip(viewed, says_same, strict=True)]
        agreement = sum(alike) / len(alike)
    correct = [bool(t.same) == bool(t.said_same) for t in trials]
    levels = []
    for level in _LEVELS:
        answers = [ok for t, ok in zip(trials, correct, strict=True) if t.confidence == level]
        levels.append(ConfidenceLevel(level, len(answers), sum(answers), _share(sum(answers), len(answers))))
    seconds = [float(t.seconds) for t in trials]
    return Score(
        trainee=detection([t.same for t in trials], [t.said_same for t in trials]),
        algorithm=algorithm,
        agreement=agreement,
        mean_seconds=statistics.fmean(seconds),
        median_seconds=float(statistics.median(seconds)),
        by_confidence=tuple(levels),
        confidence_accuracy=_gamma([int(t.confidence) for t in trials], correct),
        algorithm_threshold=float(algorithm_threshold),
        fast_answers=sum(s < FAST_SECONDS for s in seconds),
    )


@dataclass(frozen=True)
class Norm:
    """A published human benchmark to set a trainee's score against.

    ``key`` (lower-case letters, digits, underscores) names it; its display text lives in the locale
    catalogues under ``norm.<key>``. Rates are fractions in [0, 1] and ``items`` the number of pairs in
    the test, split into ``genuine_items`` and ``impostor_items``; each None when the source gives none.
    ``source`` is the bibliographic reference (authors, year, venue).
    """

    key: str
    accuracy: float | None
    false_accept_rate: float | None
    miss_rate: float | None
    items: int | None
    source: str
    genuine_items: int | None = None
    impostor_items: int | None = None


def _valid(name: str, value: Any) -> bool:
    """Whether ``value`` may stand in field ``name`` of a Norm (``type()`` so JSON true is not a count)."""
    if name == "key":
        return isinstance(value, str) and re.fullmatch(r"[a-z0-9_]+", value) is not None
    if name == "source":
        return isinstance(value, str) and bool(value.strip())
    if name.endswith("items"):
        return value is None or (type(value) is int and value >= 1)
    return value is None or (type(value) in (int, float) and 0 <= value <= 1)


def load_norms(path: str | Path | None = None) -> tuple[Norm, ...]:
    """The published benchmarks, from ``norms.json`` beside this module unless ``path`` names another file.

    Raises ValueError, naming the file and entry, when it is not a valid ``impostor.norms/1`` document;
    OSError when it cannot be read.
    """
    target = Path(path) if path is not None else Path(__file__).with_name("norms.json")
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{target}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or data.get("schema") != NORMS_SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else data
        raise ValueError(f"{target}: schema should be {NORMS_SCHEMA!r}, found {found!r}")
    entries, fields, norms = data.get("norms"), Norm.__dataclass_fields__, list[Norm]()
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{target}: 'norms' should be a non-empty list")
    for index, entry in enumerate(entries):
        where = f"{target}: norms[{index}]"
        if not isinstance(entry, dict) or not set(entry) <= set(fields):
            raise ValueError(f"{where} should be an object with fields among {sorted(fields)}, not {entry!r}")
        values: dict[str, Any] = {name: entry.get(name) for name in fields}
        for name, value in values.items():
            if not _valid(name, value):
                raise ValueError(f"{where}: {name} cannot be {value!r} (see the Norm docstring)")
        if values["key"] in {norm.key for norm in norms}:
            raise ValueError(f"{where}: key {values['key']!r} is used twice")
        norms.append(Norm(**values))
    return tuple(norms)
