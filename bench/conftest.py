"""References for the equivalence checks, and the conditions every timing runs under."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import kernels

# The lecture workload: 20 bodies, 100 frames, 2000 derivative calls.
LECTURE_N = 20
LECTURE_TIMES = {"tend": 1.0, "tframe": 0.01, "dt": 0.001}


@pytest.fixture(autouse=True, scope="session")
def single_threaded_blas():
    """Pin BLAS/OpenMP pools to one thread so no timing depends on what else runs."""
    with threadpool_limits(limits=1):
        yield


def reference_accelerations(pos, mass):
    """Direct sum in extended precision: (accelerations, sum of |terms|), both (n, 3).

    The second array scales the error bound: a float64 sum of terms that cancel can
    only be as accurate as the magnitudes summed, not as the small result.
    """
    if np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps:
        pytest.skip("long double is no wider than float64 here: no higher-precision reference")
    p = pos.astype(np.longdouble)
    d = p[np.newaxis, :, :] - p[:, np.newaxis, :]
    r2 = (d * d).sum(axis=-1)
    np.fill_diagonal(r2, 1)
    terms = (mass.astype(np.longdouble) / (r2 * np.sqrt(r2)))[:, :, np.newaxis] * d
    return terms.sum(axis=1), np.abs(terms).sum(axis=1)


@pytest.fixture(scope="session")
def lecture_times():
    return dict(LECTURE_TIMES)


@pytest.fixture(scope="session")
def lecture_state():
    return kernels.initial_conditions(LECTURE_N, seed=0)


@pytest.fixture(scope="session")
def lecture_baseline(lecture_state):
    """The baseline's frames for the lecture workload: what every backend must reproduce."""
    return kernels.run_rk2(*lecture_state, **LECTURE_TIMES, backend="python")


@pytest.fixture(scope="session")
def lecture_tolerance(lecture_state, lecture_baseline):
    """Per-frame tolerance, shape (frames, 1, 1), from the run's measured sensitivity.

    The run is chaotic: a last-bit difference grows by about 1e9 by t = 1. A backend
    that rounds differently is equivalent to a few ulp-sized nudges of the state, so we
    measure how far eight random one-ulp nudges of the initial state (each coordinate
    moved up, down or kept) carry the run by each frame, take the largest (kept
    non-decreasing in time), and allow 10 times that. Measured on the development
    machine: correct backends stay below 0.4 of the nudge response, while a kernel off
    by 1e-12 relative exceeds it 350-fold.
    """
    pos, vel, mass = lecture_state
    rng = np.random.default_rng(2024)

    def nudge(x):
        step = rng.integers(-1, 2, size=x.shape)
        return np.where(step > 0, np.nextafter(x, np.inf), np.where(step < 0, np.nextafter(x, -np.inf), x))

    spread = np.zeros(len(lecture_baseline))
    for _ in range(8):
        frames = kernels.run_rk2(nudge(pos), nudge(vel), mass, **LECTURE_TIMES, backend="numpy")
        spread = np.maximum(spread, np.abs(frames - lecture_baseline).max(axis=(1, 2)))
    return 10 * np.maximum.accumulate(spread)[:, np.newaxis, np.newaxis]


def assert_frames_match(frames, baseline, tolerance):
    assert frames.shape == baseline.shape
    excess = np.abs(frames - baseline) / tolerance
    worst = np.unravel_index(np.argmax(excess), excess.shape)
    assert excess[worst] <= 1, (
        f"frame {worst[0]} body {worst[1]} differs from the baseline by "
        f"{abs(frames[worst] - baseline[worst]):.3g}, over the tolerance "
        f"{tolerance[worst[0], 0, 0]:.3g} for that frame"
    )


@pytest.fixture(scope="session")
def frames_match():
    return assert_frames_match


@pytest.fixture(scope="session")
def reference():
    return reference_accelerations
