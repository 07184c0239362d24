"""nbody_bench.budget: timing inside a GPU machine's lease (./dev gpu)."""

import math

import pytest

from nbody_bench.budget import (
    DEVICE_ROUNDS,
    MAX_ROUNDS,
    SLOW_CALL,
    device_rounds,
    fits,
    predicted_call,
    rounds_for,
)


def test_a_call_is_predicted_from_the_largest_smaller_n_by_its_pairs():
    measured = {1000: 0.001, 10000: 0.05, 100000: 4.0}
    assert predicted_call(measured, 1000000) == pytest.approx(400.0)
    assert predicted_call(measured, 20000) == pytest.approx(0.2)
    assert predicted_call(measured, 1000) is None  # nothing smaller was measured
    assert predicted_call({}, 10) is None


def test_a_call_fits_when_its_check_and_one_round_end_in_time():
    assert fits(None, 0)  # unpredicted: it starts
    assert fits(50.0, 100.0)
    assert not fits(50.0, 99.0)
    assert not fits(1.0, -5.0)  # the budget is spent
    # The GPU's warm call, checking call and one round: three calls.
    assert fits(50.0, 150.0, calls=3)
    assert not fits(50.0, 149.0, calls=3)


def test_the_kernel_gets_the_launches_that_fit_in_two_seconds():
    assert device_rounds(0.015) == DEVICE_ROUNDS  # N = 1e5: ten launches of 15 ms
    assert device_rounds(0.5) == 4
    assert device_rounds(1.5) == 1  # N = 1e6: one
    assert device_rounds(5.0) == 1  # never none
    assert device_rounds(0.5, time_left=2.0) == 2  # half of what is left
    assert device_rounds(0.0) == DEVICE_ROUNDS
    with pytest.raises(ValueError, match="a call's duration"):
        device_rounds(float("nan"))


def test_only_slow_calls_get_counted_rounds_and_as_many_as_fit():
    assert rounds_for(0.0) is None
    assert rounds_for(SLOW_CALL / 2) is None
    assert rounds_for(SLOW_CALL) == MAX_ROUNDS
    assert rounds_for(4.0) == 2  # two rounds in ten seconds
    assert rounds_for(50.0) == 1  # one, however long
    assert rounds_for(1.0, time_left=2.5) == 2  # and no more than the time left
    assert rounds_for(1.0, time_left=-1.0) == 1
    assert rounds_for(1.0, time_left=math.inf) == MAX_ROUNDS


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_a_bad_duration_is_refused(bad):
    with pytest.raises(ValueError, match="first_call"):
        rounds_for(bad)


def test_the_largest_calls_are_collected_last(bench_collect):
    """bench/conftest.py moves tests marked at_scale (N = 1e6 on the GPU) to the end of the
    run, keeping the order of the rest: a --time-budget then cuts them first."""
    done = bench_collect(
        "--gpu", "--backend=simd-parallel", "-k", "gpu_derivative or test_whole_run"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    at_scale = [i for i, test in enumerate(ids) if test.endswith("[simd-parallel-1000000]")]
    lecture = [i for i, test in enumerate(ids) if "test_whole_run" in test]
    smaller = [i for i, test in enumerate(ids) if "test_gpu_derivative" in test][:-1]
    assert at_scale == [len(ids) - 1], ids
    assert lecture
    assert smaller
    assert max(lecture + smaller) < at_scale[0]
