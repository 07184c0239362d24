"""The derivative past one CPU: one call at N = 1e3 .. 1e6 on the GPU backends, beside the
limit kernel on the host's cores. Run with --gpu (what ./dev gpu and .ci/gpu do): at
these sizes a CPU backend takes seconds to minutes a call, so the suite leaves them out.
Calls of seconds get counted rounds, and with --time-budget a call predicted not to fit is
skipped, N = 1e6 last of the run (nbody_bench.budget): a GPU is lent for minutes.

Checked before timing against the extended-precision direct sum of a sample of bodies
(every body's would take minutes at N = 1e6), with the suite's bound. Each GPU
benchmark's extra_info adds its FP64 rate, counting 20 flops per pair interaction and
N^2 interactions a call (every pair twice, as the tiled kernel computes them; GPU Gems 3
ch. 31 counts the same), and its fraction of the GPU's FP64 peak.
"""

import importlib
import time

import numpy as np
import pytest

import kernels
from nbody_bench import reference
from nbody_bench.budget import fits, predicted_call, rounds_for
from nbody_bench.results import FLOPS_PER_INTERACTION

# N = 1e6 last of the run (marker at_scale): under a --time-budget, the first to go.
GPU_SIZES = [1000, 10000, 100000, pytest.param(1000000, marks=pytest.mark.at_scale)]
GPU = ("cuda", "cupy", "jax")
# The host's backends beside them, and the largest N each is timed at (a call's time).
HOST = {"simd": 100000, "simd-parallel": 1000000, "c-reference": 100000}
SAMPLE = 64  # bodies whose accelerations are checked at large N
PAIR_N = 100000  # where the pair arithmetic, not the launch, sets the time


def gpu_sample_check(pos, mass):
    n = len(mass)
    rows = np.unique(np.linspace(0, n - 1, min(n, SAMPLE)).astype(int))
    exact, magnitude = reference.direct_sum(pos, mass, rows=rows)

    def check(acc, _n):
        excess = reference.excess(acc[rows], exact, magnitude, n=n)
        assert excess.max() <= 1, f"N = {n}: error up to {excess.max():.3g} times the bound"

    return check


def first_call(fn, *args):
    """Runs fn(*args) once, untimed by the benchmark (it compiles, allocates, warms), and
    returns its seconds: they decide how the call is timed (nbody_bench.budget)."""
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def gpu_cases():
    """(backend, n): the GPU backends at every size, the host's up to their largest (beyond
    it a call takes minutes)."""
    cases = []
    for backend in (*GPU, *HOST):
        for size in GPU_SIZES:
            n = size.values[0] if hasattr(size, "values") else size
            if n <= HOST.get(backend, n):
                marks = size.marks if hasattr(size, "values") else ()
                cases.append(pytest.param(backend, n, marks=marks))
    return cases


# Collected only with --gpu (bench/conftest.py): without it this file is not a skip per
# item but absent, as the GPU run is a separate command (./dev gpu).
@pytest.mark.workload(lambda p: f"gpu-n{p['n']}")
@pytest.mark.parametrize(("backend", "n"), gpu_cases(), indirect=["backend"])
def test_gpu_derivative(request, timed, measured, time_left, backend, n, state_of):
    if (
        backend == "jax"
        and kernels.get("jax")
        and importlib.import_module("kernels.jax").platform() != "gpu"
    ):
        pytest.skip("jax runs on the CPU here: the GPU table is for GPUs")
    expected, left = predicted_call(measured("gpu-n", backend), n), time_left()
    if not fits(expected, left):
        pytest.skip(
            f"{backend} at N = {n}: about {expected:.3g} s a call (from its time at a smaller "
            "N): a checked and a timed call would not end inside the --time-budget "
            f"({max(left, 0):.0f} s left)"
        )
    pos, vel, mass = state_of(n)
    check = gpu_sample_check(pos, mass)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    derivatives_into = kernels.get(backend).derivatives_into
    first = first_call(derivatives_into, state, mass, rate)
    check(rate[1], n)
    rate[:] = np.nan
    label = {"workload": f"gpu-n{n}", "kind": "derivative", "backend": backend, "n": n, "calls": 1}
    label["rounds"] = rounds_for(first, time_left())
    timed(**label)(derivatives_into, state, mass, rate)
    check(rate[1], n)
    if backend in GPU:
        record_fp64(request.getfixturevalue("benchmark"), n)


def record_fp64(benchmark, n):
    """The FP64 rate of a GPU benchmark, and the GPU's peak with where it came from, in its
    extra_info (the summary's GPU table reads them)."""
    if benchmark.stats is None:
        return
    benchmark.extra_info["fp64_flops"] = FLOPS_PER_INTERACTION * n * n / benchmark.stats.stats.min
    if "cuda" in kernels.available():
        from kernels.cuda import fp64_peak

        peak, source = fp64_peak()
        if peak:
            benchmark.extra_info["fp64_peak"] = peak
        benchmark.extra_info["fp64_peak_source"] = source


@pytest.mark.workload(lambda p: f"gpu-{p['pair']}-n{PAIR_N}")
@pytest.mark.parametrize("backend", ["cuda"], indirect=True)
@pytest.mark.parametrize("pair", ["rsqrt", "divide"])
def test_cuda_pair_arithmetic(request, timed, time_left, backend, pair, state_of):
    """The cuda kernel's two forms of one pair's arithmetic (kernels.cuda.PAIRS) at
    N = 1e5, one call each: which the backend should use, measured."""
    from kernels.cuda import Device

    n = PAIR_N
    device = Device(pair=pair)
    pos, vel, mass = state_of(n)
    check = gpu_sample_check(pos, mass)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    first = first_call(device.derivatives, state, mass, rate)
    check(rate[1], n)
    rate[:] = np.nan
    label = {"workload": f"gpu-{pair}-n{n}", "kind": "variant", "backend": "cuda", "n": n}
    timed(**label, calls=1, rounds=rounds_for(first, time_left()))(
        device.derivatives, state, mass, rate
    )
    check(rate[1], n)
    record_fp64(request.getfixturevalue("benchmark"), n)
