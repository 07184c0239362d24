"""Step detection over histories with this machine's noise (nbody_bench.synthetic)."""

import re

import numpy as np
import pytest

from nbody_bench import steps, synthetic

HISTORIES = 10
RUNS = 60


def planted(seed, step=1.2):
    rng = np.random.default_rng(seed)
    at = int(rng.integers(steps.MIN_RUNS + 5, RUNS - steps.MIN_RUNS - 5))
    return at, synthetic.noisy(1e-3, RUNS, rng, step_at=at, step=step)


@pytest.mark.parametrize("step", [1.2, 1 / 1.2], ids=["slower", "faster"])
def test_a_planted_step_is_found_at_its_commit_in_nine_of_ten_noisy_histories(step):
    hits = 0
    for seed in range(HISTORIES):
        at, times = planted(seed, step)
        found = steps.detect(times)
        hits += any(s.since < at <= s.at and (s.ratio > 1) == (step > 1) for s in found)
    assert hits >= 9, f"found the planted {step:.3g}x step in {hits} of {HISTORIES}"


def test_flat_noisy_histories_have_no_steps():
    flagged = [
        seed
        for seed in range(HISTORIES)
        if steps.detect(synthetic.noisy(1e-3, RUNS, np.random.default_rng(100 + seed)))
    ]
    assert flagged == []


def test_the_step_says_its_size_and_where_it_lies():
    times = np.r_[np.full(12, 1.0), np.full(12, 1.25)]
    (step,) = steps.detect(times)
    assert (step.since, step.at) == (11, 12)
    assert step.ratio == pytest.approx(1.25)


def test_a_burst_beside_the_step_widens_its_range_instead_of_moving_it():
    times = np.r_[np.full(12, 1.0), np.full(12, 1.2)]
    times[11] = 1.6  # the last run before the change ran in a burst
    (step,) = steps.detect(times)
    assert (step.since, step.at) == (10, 12)


def test_a_cluster_of_bursts_is_not_a_step():
    # Four bursts in the first seven runs (as one synthetic history drew them): their
    # stretch's median is a burst, its lower quartile (the level) is not.
    rng = np.random.default_rng(3)
    times = 1 + 0.02 * np.abs(rng.standard_normal(60))
    times[[0, 2, 4, 6]] *= [1.85, 1.37, 1.82, 1.63]
    assert steps.detect(times) == []


def test_a_change_under_the_threshold_or_not_held_long_enough_is_not_a_step():
    assert steps.detect(np.r_[np.full(12, 1.0), np.full(12, 1.05)]) == []
    held_too_short = np.r_[np.full(20, 1.0), np.full(steps.MIN_RUNS - 1, 1.5)]
    assert steps.detect(held_too_short) == []
    excursion = np.r_[np.full(12, 1.0), np.full(5, 1.6), np.full(12, 1.0)]
    assert steps.detect(excursion) == []


def test_series_too_short_for_a_step_and_bad_figures():
    assert steps.detect([1.0, 2.0, 2.0]) == []
    for bad in ([1.0, 0.0] * 5, [1.0, float("nan")] * 5, [[1.0, 2.0]]):
        with pytest.raises(ValueError, match="positive, finite"):
            steps.detect(bad)


def test_a_step_held_by_min_runs_points_at_the_end_is_found():
    (step,) = steps.detect(np.r_[np.full(20, 1.0), np.full(steps.MIN_RUNS, 1.25)])
    assert (step.since, step.at) == (19, 20)
    (step,) = steps.detect(np.r_[np.full(steps.MIN_RUNS, 1.25), np.full(20, 1.0)])
    assert step.ratio == pytest.approx(0.8)


def test_a_revert_and_reland_keeps_the_step_that_stays():
    # Up for 6 runs and back (shorter than 2 x MIN_RUNS: taken for bursts), then up to stay.
    found = steps.detect(
        np.r_[np.full(12, 1.0), np.full(6, 1.3), np.full(6, 1.0), np.full(12, 1.3)]
    )
    assert [(s.at, round(s.ratio, 2)) for s in found] == [(24, 1.3)]


def test_a_short_excursion_down_is_not_taken_for_bursts():
    found = steps.detect(np.r_[np.full(12, 1.0), np.full(5, 0.7), np.full(12, 1.0)])
    assert [round(s.ratio, 2) for s in found] == [0.7, 1.43]
    # The speed-up was lost again; the slow-down that lost it is where the series is now.
    assert [s.standing for s in found] == [False, True]


def test_a_step_stands_while_the_latest_level_is_nearer_its_new_level():
    slower = np.r_[np.full(12, 1.0), np.full(12, 1.3)]
    (step,) = steps.detect(slower)
    assert step.standing
    assert step.now == pytest.approx(1.3)
    worse = steps.detect(np.r_[slower, np.full(12, 1.7)])
    assert [s.standing for s in worse] == [True, True]  # slower still, so both stand
    partly_fixed = steps.detect(np.r_[slower, np.full(12, 1.12)])
    assert [round(s.ratio, 2) for s in partly_fixed] == [1.3, 0.86]
    assert [s.standing for s in partly_fixed] == [False, True]  # 1.12 lies nearer 1.0


def test_the_trials_command_counts_what_the_detector_finds(capsys):
    from nbody_bench import cli

    assert cli.main(["synthetic", "--trials", "10", "--runs", "60"]) == 0
    out = capsys.readouterr().out
    found, flat = re.search(
        r"range in (\d+) .* (\d+) of 10 flat histories had a step", out
    ).groups()
    assert int(found) >= 9
    assert int(flat) == 0
    with pytest.raises(SystemExit):
        cli.main(["synthetic", "--trials", "10", "--out", "x"])  # one or the other
