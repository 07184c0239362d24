"""One derivative call across body counts: where each backend stands as N grows.

Two calls are timed. The backend's unchecked `derivatives_into`, the function `run_rk2`
calls in its hot loop (workloads derivative-nN), and the public, checked
`derivatives(pos, vel, mass)` a user's own loop calls (checked-nN): the summary sets the
two against each other, so what the checks cost at each N shows, and a regression there.
"""

import importlib

import numpy as np
import pytest

import kernels
from nbody_bench.paired import alternate

SIZES = [20, 100, 1000, 4000, 10000]

# The largest N each backend is timed at, and why not beyond (shown as the skip reason).
LARGEST = {
    "python": (1000, "one np.linalg.norm per pair: about 3 s a call at N = 1000, 50 s at N = 4000"),
    "multiprocessing": (
        1000,
        "the baseline's Python loop plus pos pickled per body: minutes at N = 4000",
    ),
    "numpy": (4000, "all pairs in blocks of rows: about 2.5 s a call at N = 10000"),
}

# The whole run at N = 10000 is 4 calls of a few seconds each for the array backends: a
# minute a benchmark, for a ratio the derivative at N = 10000 already shows.
RUN_LARGEST = {"jax": (4000, "4 calls of 3 s each at N = 10000: see derivative-n10000")}


# The smallest N the parallel variants are timed at. Below it a call is a few microseconds
# of work handed between threads or processes, and its time measures how soon the other
# core of a shared 2-vCPU machine answers: a second run of an unchanged tree differed by
# up to 97% there, while N >= 1000 repeats within a few percent.
SMALLEST = {
    "numba-parallel": (1000, "below N = 1000 the thread hand-off, not the kernel, sets the time"),
    "multiprocessing-shared": (1000, "below N = 1000 the inter-process hand-off sets the time"),
    "simd-parallel": (1000, "below N = 1000 the thread hand-off, not the kernel, sets the time"),
    "dask": (
        10000,
        "below N = 10000 a call is mostly the cluster's round trips (docs/scale-out.md)",
    ),
}


def skip_outside_range(backend, n):
    largest, why = LARGEST.get(backend, (max(SIZES), ""))
    if n > largest:
        pytest.skip(f"{backend} at N = {n}: {why}")
    smallest, why = SMALLEST.get(backend, (0, ""))
    if n < smallest:
        pytest.skip(f"{backend} at N = {n}: {why}")


@pytest.mark.parametrize("n", SIZES)
def test_derivative(timed, backend, n, state_of, accelerations_match):
    skip_outside_range(backend, n)
    check_then_time(timed, backend, *state_of(n), accelerations_match)


# The checked call at the sizes where its cost can show: a fixed cost per call, which
# matters at small N, and a copy and a check per body, 2% of the kernel at most from
# N = 1000 (the goal). At N = 10000 both vanish in the kernel's time.
CHECKED_SIZES = [20, 100, 1000, 4000]


# The checked call's cost over the kernel is measured with the two alternating in blocks
# of a few milliseconds (nbody_bench.paired): timed as separate benchmarks, seconds apart,
# they differed by up to 5% at N = 1000 and 4000 from noise alone, more than the cost.
# Only where a call is quick enough for blocks of several calls.
PAIRED_UNDER = 0.02  # seconds a call


@pytest.mark.parametrize("n", CHECKED_SIZES)
def test_checked_derivative(timed, benchmark, backend, n, state_of, accelerations_match):
    """The public derivatives() on the same bodies as test_derivative (read-only float64
    arrays, as a user's loop passes them), checked, then timed; then its cost over the
    unchecked kernel, the two alternating."""
    skip_outside_range(backend, n)
    pos, vel, mass = state_of(n)
    chosen = kernels.get(backend)

    def check(result):
        dpdt, dvdt = result
        accelerations_match(dvdt, n)
        np.testing.assert_array_equal(dpdt, vel)

    check(chosen.derivatives(pos, vel, mass))  # untimed: compiles (Numba), starts pools
    label = {"workload": f"checked-n{n}", "kind": "checked", "backend": backend, "n": n, "calls": 1}
    check(timed(**label)(chosen.derivatives, pos, vel, mass))
    if benchmark.stats is None or benchmark.stats.stats.min > PAIRED_UNDER:
        return
    state, rate = np.stack((pos, vel)), np.empty((2, n, 3))
    cost = alternate(
        lambda: chosen.derivatives_into(state, mass, rate),
        lambda: chosen.derivatives(pos, vel, mass),
    ).difference()
    benchmark.extra_info["checked_cost"] = {
        "median": cost.median,
        "low": cost.low,
        "high": cost.high,
    }


def check_then_time(timed, backend, pos, vel, mass, check):
    """One untimed call, checked by check(acc, n), which also compiles (Numba) and starts
    pools (multiprocessing); then the timed calls into a cleared buffer, checked again."""
    n = len(mass)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    derivatives_into = kernels.get(backend).derivatives_into
    derivatives_into(state, mass, rate)
    check(rate[1], n)
    np.testing.assert_array_equal(rate[0], vel)

    rate[:] = np.nan
    label = {
        "workload": f"derivative-n{n}",
        "kind": "derivative",
        "backend": backend,
        "n": n,
        "calls": 1,
    }
    timed(**label)(derivatives_into, state, mass, rate)
    check(rate[1], n)


# Past the matrix, where the scale-out backend can start to pay (README, "Past one
# machine"): the backends of the crossover table, checked against the C reference in
# float64 (an extended-precision sum at this N takes a minute).
LARGE_N = 20000
AT_SCALE = ("c-reference", "numba", "numba-parallel", "simd", "simd-parallel", "dask")


def test_derivative_at_scale(timed, backend, state_of, accelerations_near_reference):
    n = LARGE_N
    if backend not in AT_SCALE:
        pytest.skip(f"N = {n} times only the crossover table's backends: {', '.join(AT_SCALE)}")
    check_then_time(timed, backend, *state_of(n), accelerations_near_reference)


# A few steps of the whole run at the sizes where the pair arithmetic decides: the same
# derivative, with no Python between the calls (run_rk2(..., whole_run=True)).
RUN = {"tend": 0.002, "tframe": 0.001, "dt": 0.001}  # 2 frames, 2 steps: 4 derivative calls
RUN_SIZES = [4000, 10000]


_run_references = {}


def run_reference(n, bodies, acceleration_bound):
    """The C reference's frames for `bodies(n)`, from run_rk2's Python loop, and the
    per-frame tolerance (frames, 1, 1) for any correct backend.

    Two parts. An acceleration error d moves a position by at most h^2 d / 2 in its step
    and, through the velocity, h^2 d in the next: 10 h^2 times the float64 bound on the
    accelerations covers it. And the seeded bodies include close pairs, which amplify any
    rounding difference within a step (a fused multiply-add or not, another summation
    order): as for the lecture run, four runs from one-ulp nudges of the state measure
    that spread, and 10 times it is allowed. A wrong force exceeds both by far.
    """
    if n in _run_references:
        return _run_references[n]
    pos, vel, mass = bodies(n)
    expected = kernels.run_rk2(pos, vel, mass, **RUN, backend="c-reference")
    rng = np.random.default_rng(n)

    def nudge(x):
        return np.where(rng.integers(0, 2, x.shape) == 1, np.nextafter(x, np.inf), x)

    spread = np.zeros(len(expected))
    for _ in range(4):
        nudged = kernels.run_rk2(nudge(pos), nudge(vel), mass, **RUN, backend="c-reference")
        spread = np.maximum(spread, np.abs(nudged - expected).max(axis=(1, 2)))
    tolerance = 10 * RUN["dt"] ** 2 * acceleration_bound(n) + 10 * spread[:, None, None]
    _run_references[n] = expected, tolerance
    return expected, tolerance


@pytest.mark.parametrize("n", RUN_SIZES)
def test_whole_run(timed, backend, n, state_of, acceleration_bound):
    if kernels.get(backend).integrate is None:
        pytest.skip(f"{backend} has no whole-run mode")
    largest, why = RUN_LARGEST.get(backend, (n, ""))
    if n > largest:
        pytest.skip(f"{backend} whole run at N = {n}: {why}")
    pos, vel, mass = state_of(n)
    run = {**RUN, "whole_run": True, "backend": backend}
    expected, tolerance = run_reference(n, state_of, acceleration_bound)

    def check(frames):
        excess = np.abs(frames - expected) / tolerance
        assert excess.max() <= 1, (
            f"{backend} whole run at N = {n}: positions off by up to {excess.max():.3g} "
            "times the tolerance"
        )

    check(kernels.run_rk2(pos, vel, mass, **run))
    label = {"workload": f"run-n{n}", "kind": "run", "backend": backend, "n": n, "calls": 4}
    check(timed(**label)(kernels.run_rk2, pos, vel, mass, **run))


# The lecture's loop exactly as the lecture wrote it (one np.linalg.norm per pair),
# compiled unchanged by Pythran (kernels/pythran/_kernel.py, lecture_accelerations): what
# the tool makes of untouched code, against the same loop in Python.
UNTOUCHED_N = 100


def test_untouched_loop(timed, backend, state_of, accelerations_match):
    if backend not in ("python", "pythran"):
        pytest.skip("only Pythran compiles the lecture's loop unchanged (the baseline beside it)")
    module = importlib.import_module(f"kernels.{backend}")
    loop = module.accelerations if backend == "python" else module.lecture_accelerations
    pos, _, mass = state_of(UNTOUCHED_N)
    accelerations_match(loop(pos, mass), UNTOUCHED_N)
    label = {"workload": f"untouched-n{UNTOUCHED_N}", "kind": "untouched", "backend": backend}
    accelerations_match(timed(**label, n=UNTOUCHED_N, calls=1)(loop, pos, mass), UNTOUCHED_N)
