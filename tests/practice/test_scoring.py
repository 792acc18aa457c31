"""Signal-detection scoring of practice answers: hand-worked examples, cross-checks, and the norms file."""

from __future__ import annotations

import itertools
import json
import math
import random
from pathlib import Path

import pytest
from scipy.stats import norm

from impostor.practice.scoring import (
    NORMS_SCHEMA,
    Norm,
    Trial,
    detection,
    load_norms,
    rates_to_sdt,
    score_trials,
)

NAN = float("nan")


def answers(
    hits: int, misses: int, false_accepts: int, correct_rejections: int
) -> tuple[list[bool], list[bool]]:
    """Truths and answers with the given counts (same items first)."""
    same = [True] * (hits + misses) + [False] * (false_accepts + correct_rejections)
    said = [True] * hits + [False] * misses + [True] * false_accepts + [False] * correct_rejections
    return same, said


# --- rates_to_sdt: worked by hand, z values from a normal table ------------------------------------------


def test_symmetric_observer_has_zero_criterion() -> None:
    # H = 8/10 = 0.8, F = 2/10 = 0.2; z(0.8) = 0.8416, z(0.2) = -0.8416
    # d' = 0.8416 - (-0.8416) = 2 * 0.8416 = 1.6832; c = -(0.8416 - 0.8416) / 2 = 0
    d_prime, criterion, corrected = rates_to_sdt(8, 10, 2, 10)
    assert d_prime == pytest.approx(1.6832, abs=1e-4)
    assert criterion == pytest.approx(0.0, abs=1e-12)
    assert corrected is False


def test_chance_observer() -> None:
    # H = F = 5/10 = 0.5; z(0.5) = 0 -> d' = 0, and c = -(0 + 0) / 2 = 0 (not "-0.0" in a report)
    d_prime, criterion, _ = rates_to_sdt(5, 10, 5, 10)
    assert d_prime == 0.0
    assert criterion == 0.0 and math.copysign(1.0, criterion) == 1.0


def test_lenient_observer_has_negative_criterion() -> None:
    # H = 9/10 = 0.9, F = 3/10 = 0.3; z(0.9) = 1.2816, z(0.3) = -0.5244
    # d' = 1.2816 + 0.5244 = 1.8060; c = -(1.2816 - 0.5244) / 2 = -0.3786 (leans to "same")
    d_prime, criterion, corrected = rates_to_sdt(9, 10, 3, 10)
    assert d_prime == pytest.approx(1.8060, abs=1e-4)
    assert criterion == pytest.approx(-0.3786, abs=1e-4)
    assert not corrected


def test_perfect_score_is_corrected_by_half_an_item() -> None:
    # all 10 same items hit: H = 1 -> 1 - 1/(2*10) = 0.95; no false accepts of 10: F = 0 -> 1/20 = 0.05
    # z(0.95) = 1.6449, z(0.05) = -1.6449; d' = 2 * 1.6449 = 3.2897; c = 0
    d_prime, criterion, corrected = rates_to_sdt(10, 10, 0, 10)
    assert d_prime == pytest.approx(2 * 1.6449, abs=1e-3)
    assert d_prime == pytest.approx(3.28971, abs=1e-5)
    assert criterion == pytest.approx(0.0, abs=1e-12)
    assert corrected is True


def test_no_hits_is_corrected_too() -> None:
    # 0 of 8 same items hit: H = 0 -> 1/(2*8) = 0.0625, z = -1.5341; F = 4/8 = 0.5, z = 0
    # d' = -1.5341 - 0 = -1.5341 (worse than chance); c = -(-1.5341 + 0) / 2 = 0.7671 (strict)
    d_prime, criterion, corrected = rates_to_sdt(0, 8, 4, 8)
    assert d_prime == pytest.approx(-1.5341, abs=1e-4)
    assert criterion == pytest.approx(0.7671, abs=1e-4)
    assert corrected is True


def test_rates_to_sdt_agrees_with_scipy() -> None:
    for genuine, impostor in [(1, 1), (3, 7), (20, 20), (84, 84)]:
        for hits, false_accepts in itertools.product(range(genuine + 1), range(impostor + 1)):
            rate_h = min(max(hits / genuine, 1 / (2 * genuine)), 1 - 1 / (2 * genuine))
            rate_f = min(max(false_accepts / impostor, 1 / (2 * impostor)), 1 - 1 / (2 * impostor))
            d_prime, criterion, corrected = rates_to_sdt(hits, genuine, false_accepts, impostor)
            assert d_prime == pytest.approx(norm.ppf(rate_h) - norm.ppf(rate_f), abs=1e-9)
            assert criterion == pytest.approx(-(norm.ppf(rate_h) + norm.ppf(rate_f)) / 2, abs=1e-9)
            assert corrected == (hits in (0, genuine) or false_accepts in (0, impostor))


@pytest.mark.parametrize(
    ("args", "quoted"),
    [
        ((11, 10, 0, 10), "11"),  # more hits than same items
        ((-1, 10, 0, 10), "-1"),
        ((5, 10, 12, 10), "12"),
        ((0, 0, 1, 10), "genuine"),  # no same items: no hit rate
        ((5, 10, 0, 0), "impostor"),
    ],
)
def test_rates_to_sdt_rejects_impossible_counts(args: tuple[int, int, int, int], quoted: str) -> None:
    with pytest.raises(ValueError, match=quoted):
        rates_to_sdt(*args)


def test_rates_to_sdt_wants_whole_counts() -> None:
    with pytest.raises(TypeError):
        rates_to_sdt(2.5, 10, 1, 10)  # type: ignore[arg-type]


# --- detection -----------------------------------------------------------------------------------------


def test_detection_counts_and_rates() -> None:
    # 6 same items: 4 hits, 2 misses; 4 different-people items: 1 false accept, 3 correct rejections
    same, said = answers(4, 2, 1, 3)
    result = detection(same, said)
    assert (result.hits, result.misses, result.false_accepts, result.correct_rejections) == (4, 2, 1, 3)
    assert (result.genuine_items, result.impostor_items, result.trials, result.correct) == (6, 4, 10, 7)
    assert result.accuracy == pytest.approx(0.7)
    assert result.hit_rate == pytest.approx(4 / 6) and result.miss_rate == pytest.approx(2 / 6)
    assert result.false_accept_rate == pytest.approx(0.25)
    assert result.correct_rejection_rate == pytest.approx(0.75)
    assert result.d_prime == pytest.approx(norm.ppf(4 / 6) - norm.ppf(0.25))


def test_only_same_items_leaves_impostor_figures_nan() -> None:
    result = detection(*answers(3, 1, 0, 0))
    assert result.hit_rate == pytest.approx(0.75)
    for value in (result.false_accept_rate, result.correct_rejection_rate, result.d_prime, result.criterion):
        assert math.isnan(value)
    assert result.corrected is False  # nothing was put through z
    json.dumps(result.to_dict(), allow_nan=False)
    assert result.to_dict()["d_prime"] is None


def test_only_different_people_items_leaves_genuine_figures_nan() -> None:
    result = detection(*answers(0, 0, 2, 2))
    assert result.false_accept_rate == pytest.approx(0.5)
    assert math.isnan(result.hit_rate) and math.isnan(result.miss_rate) and math.isnan(result.d_prime)


def test_detection_rejects_bad_sequences() -> None:
    with pytest.raises(ValueError, match="no answers"):
        detection([], [])
    with pytest.raises(ValueError, match="3 truths but 2 answers"):
        detection([True, False, True], [True, False])


# --- score_trials ---------------------------------------------------------------------------------------


def practice_set() -> list[Trial]:
    """Eight answered items, worked through in the tests below."""
    return [
        # Trial(same, said_same, confidence, seconds, probability)
        Trial(True, True, 5, 2.0, 0.95),  # hit; algorithm says same (agree)
        Trial(True, True, 4, 3.0, 0.50),  # hit; 0.50 >= 0.5: algorithm says same (agree)
        Trial(True, False, 2, 6.0, 0.70),  # miss; algorithm says same (disagree)
        Trial(True, True, 3, 4.0, NAN),  # hit; algorithm had no view
        Trial(False, False, 5, 1.0, 0.05),  # correct rejection; algorithm says different (agree)
        Trial(False, True, 2, 8.0, 0.30),  # false accept; algorithm says different (disagree)
        Trial(False, False, 4, 2.5, 0.49),  # correct rejection; 0.49 < 0.5 (agree)
        Trial(False, True, 1, 5.5, 0.60),  # false accept; algorithm says same (agree)
    ]


def test_trainee_detection() -> None:
    # 4 same items: 3 hits, 1 miss -> H = 0.75; 4 different: 2 false accepts -> F = 0.5
    # d' = z(0.75) - z(0.5) = 0.6745 - 0 = 0.6745; c = -(0.6745 + 0) / 2 = -0.3372
    score = score_trials(practice_set())
    assert score.trainee.accuracy == pytest.approx(5 / 8)
    assert score.trainee.d_prime == pytest.approx(0.6745, abs=1e-4)
    assert score.trainee.criterion == pytest.approx(-0.3372, abs=1e-4)


def test_algorithm_detection_and_agreement() -> None:
    # items with a probability: 7 (the NaN one is left out); algorithm says same when p >= 0.5
    # same items: 0.95, 0.50, 0.70 all >= 0.5 -> 3 hits of 3 (H = 1 -> 1 - 1/6, corrected)
    # different items: 0.05, 0.30, 0.49 below, 0.60 above -> 1 false accept of 4 (F = 0.25)
    # agreement: trainee and algorithm answer alike on 5 of the 7 (not on the miss and the 0.30 accept)
    score = score_trials(practice_set())
    algorithm = score.algorithm
    assert algorithm is not None
    assert (algorithm.trials, algorithm.hits, algorithm.false_accepts) == (7, 3, 1)
    assert algorithm.corrected is True
    assert algorithm.d_prime == pytest.approx(norm.ppf(5 / 6) - norm.ppf(0.25))
    assert score.agreement == pytest.approx(5 / 7)


def test_algorithm_threshold_moves_its_answers() -> None:
    # at 0.65 the 0.50 same item becomes a miss and the 0.60 different item a correct rejection
    score = score_trials(practice_set(), algorithm_threshold=0.65)
    assert score.algorithm is not None
    assert (score.algorithm.hits, score.algorithm.false_accepts) == (2, 0)
    assert score.algorithm_threshold == 0.65
    # probability  0.95  0.50  0.70  0.05  0.30  0.49  0.60
    # algorithm    same  diff  same  diff  diff  diff  diff
    # trainee      same  same  diff  diff  same  diff  same
    # alike?       yes   no    no    yes   no    yes   no   -> 3 of 7
    assert score.agreement == pytest.approx(3 / 7)


def test_no_probabilities_means_no_algorithm() -> None:
    trials = [Trial(t.same, t.said_same, t.confidence, t.seconds) for t in practice_set()]
    score = score_trials(trials)
    assert score.algorithm is None
    assert math.isnan(score.agreement)
    assert score.to_dict()["algorithm"] is None and score.to_dict()["agreement"] is None


def test_times() -> None:
    # seconds 2, 3, 6, 4, 1, 8, 2.5, 5.5: sum 32 -> mean 4.0; sorted 1 2 2.5 3 4 5.5 6 8 -> median (3+4)/2
    score = score_trials(practice_set())
    assert score.mean_seconds == pytest.approx(4.0)
    assert score.median_seconds == pytest.approx(3.5)


def test_confidence_levels() -> None:
    # level 1: the false accept (0 of 1); 2: miss and false accept (0 of 2); 3: one hit (1 of 1);
    # 4: hit and correct rejection (2 of 2); 5: hit and correct rejection (2 of 2)
    levels = score_trials(practice_set()).by_confidence
    assert [(lv.level, lv.trials, lv.correct) for lv in levels] == [
        (1, 1, 0),
        (2, 2, 0),
        (3, 1, 1),
        (4, 2, 2),
        (5, 2, 2),
    ]
    assert levels[3].accuracy == 1.0 and levels[0].accuracy == 0.0


def test_unused_confidence_level_is_still_listed() -> None:
    levels = score_trials([Trial(True, True, 5, 1.0), Trial(False, False, 5, 1.0)]).by_confidence
    assert [lv.level for lv in levels] == [1, 2, 3, 4, 5]
    assert all(lv.trials == 0 and math.isnan(lv.accuracy) for lv in levels[:4])


def test_gamma_by_hand() -> None:
    # (confidence, right?): (5 R) (4 R) (4 W) (2 W) (2 R) (1 W)
    # right answers at 5, 4, 2; wrong at 4, 2, 1. Pairs of one right and one wrong answer:
    #   concordant (right more confident): R5>W4, R5>W2, R5>W1, R4>W2, R4>W1, R2>W1 = 6
    #   discordant (wrong more confident): W4>R2 = 1;  ties R4=W4, R2=W2 set aside
    # gamma = (6 - 1) / (6 + 1) = 5/7
    rows = [(5, True), (4, True), (4, False), (2, False), (2, True), (1, False)]
    trials = [Trial(True, right, level, 1.0) for level, right in rows]
    assert score_trials(trials).confidence_accuracy == pytest.approx(5 / 7)


def test_gamma_on_the_practice_set() -> None:
    # right at 5, 4, 3, 4, 5; wrong at 2, 2, 1: every right answer is more confident than every wrong one
    assert score_trials(practice_set()).confidence_accuracy == pytest.approx(1.0)


def brute_force_gamma(rows: list[tuple[int, bool]]) -> float:
    concordant = discordant = 0
    for (level_a, right_a), (level_b, right_b) in itertools.combinations(rows, 2):
        if level_a == level_b or right_a == right_b:
            continue
        if (level_a > level_b) == right_a:
            concordant += 1
        else:
            discordant += 1
    return (concordant - discordant) / (concordant + discordant) if concordant + discordant else NAN


def test_gamma_matches_pairwise_count() -> None:
    generator = random.Random(6)
    for _ in range(200):
        rows = [(generator.randint(1, 5), generator.random() < 0.7) for _ in range(generator.randint(1, 30))]
        trials = [Trial(True, right, level, 1.0) for level, right in rows]
        expected = brute_force_gamma(rows)
        got = score_trials(trials).confidence_accuracy
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_gamma_undefined_without_mixed_pairs() -> None:
    all_right = [Trial(True, True, level, 1.0) for level in (1, 3, 5)]
    one_level = [Trial(True, True, 3, 1.0), Trial(True, False, 3, 1.0)]
    assert math.isnan(score_trials(all_right).confidence_accuracy)
    assert math.isnan(score_trials(one_level).confidence_accuracy)


def test_to_dict_is_strict_json() -> None:
    score = score_trials([Trial(True, True, 3, 2.0, NAN), Trial(True, False, 3, 4.0, 0.8)])
    data = score.to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert data["trainee"]["d_prime"] is None  # only same items
    assert data["by_confidence"][2] == {"level": 3, "trials": 2, "correct": 1, "accuracy": 0.5}


@pytest.mark.parametrize(
    ("trial", "quoted"),
    [
        (Trial(True, True, 0, 1.0), "confidence.*0"),
        (Trial(True, True, 6, 1.0), "confidence.*6"),
        (Trial(True, True, True, 1.0), "confidence.*True"),  # type: ignore[arg-type]
        (Trial(True, True, 3, -0.5), "seconds.*-0.5"),
        (Trial(True, True, 3, math.inf), "seconds.*inf"),
        (Trial(True, True, 3, 1.0, 1.5), "probability.*1.5"),
        (Trial(True, True, 3, 1.0, -0.1), "probability.*-0.1"),
    ],
)
def test_bad_trial_values_are_quoted(trial: Trial, quoted: str) -> None:
    good = Trial(False, False, 4, 1.0, 0.2)
    with pytest.raises(ValueError, match=f"trial 1: {quoted}"):
        score_trials([good, trial])


def test_score_rejects_empty_input_and_bad_threshold() -> None:
    with pytest.raises(ValueError, match="no trials"):
        score_trials([])
    with pytest.raises(ValueError, match="1.5"):
        score_trials(practice_set(), algorithm_threshold=1.5)
    with pytest.raises(ValueError, match="nan"):
        score_trials(practice_set(), algorithm_threshold=NAN)


# --- norms ------------------------------------------------------------------------------------------------


def test_shipped_norms_carry_the_published_figures() -> None:
    norms = {norm.key: norm for norm in load_norms()}
    assert set(norms) == {"gfmt_short", "gfmt_long", "passport_officers"}
    short, long, officers = norms["gfmt_short"], norms["gfmt_long"], norms["passport_officers"]
    assert (short.accuracy, short.items, short.genuine_items, short.impostor_items) == (0.81, 40, 20, 20)
    assert (long.accuracy, long.items) == (0.90, 168)
    assert (officers.false_accept_rate, officers.miss_rate) == (0.14, 0.06)
    assert "Burton" in short.source and "2010" in short.source and "Behavior Research Methods" in short.source
    assert "White" in officers.source and "2014" in officers.source and "PLoS ONE" in officers.source


def test_norms_file_states_its_provenance() -> None:
    data = json.loads((Path(__file__).parents[2] / "impostor" / "practice" / "norms.json").read_text())
    assert data["schema"] == NORMS_SCHEMA == "impostor.norms/1"
    assert data["provenance"]["figures"]


def write_norms(tmp_path: Path, norms: object, schema: str = NORMS_SCHEMA) -> Path:
    path = tmp_path / "norms.json"
    path.write_text(json.dumps({"schema": schema, "provenance": {}, "norms": norms}))
    return path


GOOD = {
    "key": "k",
    "accuracy": 0.8,
    "false_accept_rate": None,
    "miss_rate": None,
    "items": 10,
    "source": "A 2020",
}


def test_load_norms_reads_another_file(tmp_path: Path) -> None:
    assert load_norms(write_norms(tmp_path, [GOOD])) == (Norm("k", 0.8, None, None, 10, "A 2020"),)


@pytest.mark.parametrize(
    ("norms", "quoted"),
    [
        ([], "non-empty list"),
        ([{**GOOD, "accuracy": 1.4}], "accuracy cannot be 1.4"),
        ([{**GOOD, "miss_rate": "6%"}], "miss_rate cannot be '6%'"),
        ([{**GOOD, "items": True}], "items cannot be True"),
        ([{**GOOD, "items": 0}], "items cannot be 0"),
        ([{**GOOD, "key": "GFMT short"}], "key cannot be 'GFMT short'"),
        ([{**GOOD, "source": " "}], "source cannot be"),
        ([{**GOOD, "title": "x"}], r"norms\[0\] should be an object"),
        ([GOOD, GOOD], r"norms\[1\]: key 'k' is used twice"),
    ],
)
def test_load_norms_rejects_bad_entries(tmp_path: Path, norms: object, quoted: str) -> None:
    with pytest.raises(ValueError, match=quoted):
        load_norms(write_norms(tmp_path, norms))


def test_load_norms_checks_schema_and_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="impostor.norms/2"):
        load_norms(write_norms(tmp_path, [GOOD], schema="impostor.norms/2"))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_norms(broken)


def test_the_false_accept_rate_carries_its_exact_interval() -> None:
    from impostor.practice.scoring import exact_interval

    # Clopper-Pearson, checked against the beta quantiles it is defined by (and known values)
    assert exact_interval(0, 5) == pytest.approx((0.0, 0.5218), abs=1e-4)
    assert exact_interval(2, 5) == pytest.approx((0.0527, 0.8534), abs=1e-4)
    assert exact_interval(5, 5) == pytest.approx((0.4782, 1.0), abs=1e-4)
    assert all(math.isnan(v) for v in exact_interval(0, 0))
    same, said = answers(hits=3, misses=1, false_accepts=2, correct_rejections=3)
    found = detection(same, said)
    assert (found.false_accept_low, found.false_accept_high) == pytest.approx(exact_interval(2, 5))


def test_answers_faster_than_a_person_can_look_are_counted() -> None:
    trials = [Trial(True, True, 3, seconds, 0.9) for seconds in (0.4, 0.99, 1.0, 2.5)]
    assert score_trials(trials).fast_answers == 2
