"""The lecture workload, timed per backend, each run checked against the baseline's frames."""

import pytest

import kernels


def test_lecture_workload(
    timed,
    backend,
    lecture_times,
    lecture_calls,
    lecture_state,
    lecture_baseline,
    lecture_tolerance,
    frames_match,
):
    # A full untimed run first: it compiles (Numba), starts the pool (multiprocessing), and
    # checks equivalence before any timing counts.
    frames = kernels.run_rk2(*lecture_state, **lecture_times, backend=backend)
    frames_match(frames, lecture_baseline, lecture_tolerance)

    n = len(lecture_state[2])
    run = timed(workload="lecture", kind="lecture", backend=backend, n=n, calls=lecture_calls)(
        kernels.run_rk2, *lecture_state, **lecture_times, backend=backend
    )
    frames_match(run, lecture_baseline, lecture_tolerance)


def test_tolerance_rejects_a_slightly_wrong_kernel(
    lecture_times, lecture_state, lecture_baseline, lecture_tolerance, frames_match
):
    """The chaotic run's tolerance still catches a force that is off by one part in 1e12."""
    numpy_kernel = kernels.get("numpy").accelerations
    off = kernels.Backend("off", lambda pos, mass: numpy_kernel(pos, mass) * (1 + 1e-12))
    frames = kernels.run_rk2(*lecture_state, **lecture_times, backend=off)
    with pytest.raises(AssertionError, match="over the tolerance"):
        frames_match(frames, lecture_baseline, lecture_tolerance)
