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
from kernels.registry import has_whole_run
from nbody_bench.paired import alternate

SIZES = [20, 100, 1000, 4000, 10000]

# The largest N each backend is timed at, and why not beyond.
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


def timed_at(backend, n):
    """Whether the suite times `backend` at N = n: only those combinations are generated, so
    every skip left says what this machine lacks."""
    return SMALLEST.get(backend, (0, ""))[0] <= n <= LARGEST.get(backend, (max(SIZES), ""))[0]


def matrix(sizes, keep=timed_at):
    """(backend, n) for every backend and size that `keep` allows, backend by backend."""
    return [(b, n) for b in kernels.names() for n in sizes if keep(b, n)]


@pytest.mark.workload(lambda p: f"derivative-n{p['n']}")
@pytest.mark.parametrize(("backend", "n"), matrix(SIZES), indirect=["backend"])
def test_derivative(timed, untimed, benchmarking, backend, n, state_of, accelerations_match):
    check_then_time(timed, untimed, benchmarking, backend, *state_of(n), accelerations_match)


# The checked call at the sizes where its cost can show: a fixed cost per call, which
# matters at small N, and a copy and a check per body, 2% of the kernel at most from
# N = 1000 (the goal). At N = 10000 both vanish in the kernel's time.
CHECKED_SIZES = [20, 100, 1000, 4000]


# The checked call's cost over the kernel is measured with the two alternating in blocks
# of a few milliseconds (nbody_bench.paired): timed as separate benchmarks, seconds apart,
# they differed by up to 5% at N = 1000 and 4000 from noise alone, more than the cost.
# Only where a call is quick enough for blocks of several calls.
PAIRED_UNDER = 0.02  # seconds a call


@pytest.mark.workload(lambda p: f"checked-n{p['n']}")
@pytest.mark.parametrize(("backend", "n"), matrix(CHECKED_SIZES), indirect=["backend"])
def test_checked_derivative(
    timed, untimed, benchmark, benchmarking, backend, n, state_of, accelerations_match
):
    """The public derivatives() on the same bodies as test_derivative (read-only float64
    arrays, as a user's loop passes them), checked, then timed; then its cost over the
    unchecked kernel, the two alternating."""
    pos, vel, mass = state_of(n)
    chosen = kernels.get(backend)

    def check(result):
        dpdt, dvdt = result
        accelerations_match(dvdt, n)
        np.testing.assert_array_equal(dpdt, vel)

    first = None
    if benchmarking:  # untimed: compiles (Numba), starts pools
        result, first = untimed(chosen.derivatives, pos, vel, mass)
        check(result)
    label = {"workload": f"checked-n{n}", "kind": "checked", "backend": backend, "n": n, "calls": 1}
    label["first"] = first
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


def check_then_time(timed, untimed, benchmarking, backend, pos, vel, mass, check):
    """One untimed call, checked by check(acc, n), which also compiles (Numba) and starts
    pools (multiprocessing); then the timed calls into a cleared buffer, checked again.
    Not timing (`benchmarking` False), the one call is checked."""
    n = len(mass)
    state = np.stack((pos, vel))
    rate = np.full_like(state, np.nan)
    derivatives_into = kernels.get(backend).derivatives_into
    first = None
    if benchmarking:
        _, first = untimed(derivatives_into, state, mass, rate)
        check(rate[1], n)
        np.testing.assert_array_equal(rate[0], vel)
        rate[:] = np.nan
    label = {
        "workload": f"derivative-n{n}",
        "kind": "derivative",
        "backend": backend,
        "n": n,
        "calls": 1,
        "first": first,
    }
    timed(**label)(derivatives_into, state, mass, rate)
    check(rate[1], n)
    np.testing.assert_array_equal(rate[0], vel)


# Past the matrix, where the scale-out backend can start to pay (docs/scale-out.md): the
# backends of the crossover table, checked on a sample of bodies against the
# extended-precision sum (over all of them it takes a minute at this N).
LARGE_N = 20000
AT_SCALE = ("c-reference", "numba", "numba-parallel", "simd", "simd-parallel", "dask")


@pytest.mark.workload(lambda p: f"derivative-n{LARGE_N}")
@pytest.mark.parametrize("backend", AT_SCALE, indirect=True)
def test_derivative_at_scale(
    timed, untimed, benchmarking, backend, state_of, accelerations_near_reference
):
    n = LARGE_N
    check = accelerations_near_reference
    check_then_time(timed, untimed, benchmarking, backend, *state_of(n), check)


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


def runs_whole_at(backend, n):
    """Backends with a whole-run mode, up to their largest N (a plugin that cannot be loaded
    is generated, and its tests fail saying why)."""
    return has_whole_run(backend) is not False and n <= RUN_LARGEST.get(backend, (n, ""))[0]


@pytest.mark.workload(lambda p: f"run-n{p['n']}")
@pytest.mark.parametrize(("backend", "n"), matrix(RUN_SIZES, runs_whole_at), indirect=["backend"])
def test_whole_run(timed, untimed, benchmarking, backend, n, state_of, acceleration_bound):
    pos, vel, mass = state_of(n)
    run = {**RUN, "whole_run": True, "backend": backend}
    expected, tolerance = run_reference(n, state_of, acceleration_bound)

    def check(frames):
        excess = np.abs(frames - expected) / tolerance
        assert excess.max() <= 1, (
            f"{backend} whole run at N = {n}: positions off by up to {excess.max():.3g} "
            "times the tolerance"
        )

    first = None
    if benchmarking:
        frames, first = untimed(kernels.run_rk2, pos, vel, mass, **run)
        check(frames)
    label = {"workload": f"run-n{n}", "kind": "run", "backend": backend, "n": n, "calls": 4}
    label["first"] = first
    check(timed(**label)(kernels.run_rk2, pos, vel, mass, **run))


# The lecture's loop exactly as the lecture wrote it (one np.linalg.norm per pair),
# compiled unchanged by Pythran (kernels/pythran/_kernel.py, lecture_accelerations): what
# the tool makes of untouched code, against the same loop in Python.
UNTOUCHED_N = 100


# Only Pythran compiles the lecture's loop unchanged; the baseline runs beside it.
@pytest.mark.workload(lambda p: f"untouched-n{UNTOUCHED_N}")
@pytest.mark.parametrize("backend", ["python", "pythran"], indirect=True)
def test_untouched_loop(timed, untimed, benchmarking, backend, state_of, accelerations_match):
    module = importlib.import_module(f"kernels.{backend}")
    loop = module.accelerations if backend == "python" else module.lecture_accelerations
    pos, _, mass = state_of(UNTOUCHED_N)
    first = None
    if benchmarking:
        acc, first = untimed(loop, pos, mass)
        accelerations_match(acc, UNTOUCHED_N)
    label = {"workload": f"untouched-n{UNTOUCHED_N}", "kind": "untouched", "backend": backend}
    label["first"] = first
    accelerations_match(timed(**label, n=UNTOUCHED_N, calls=1)(loop, pos, mass), UNTOUCHED_N)
