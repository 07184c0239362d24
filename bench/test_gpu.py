"""The derivative past one CPU: one call at N = 1e3 .. 1e6 on the GPU backends, beside the
limit kernel on the host's cores. Run with --gpu (what ./dev gpu and .ci/gpu do): at
these sizes a CPU backend takes seconds to minutes a call, so the suite leaves them out.
Calls of seconds get counted rounds, and with --time-budget a call predicted not to fit is
skipped (nbody_bench.budget): a GPU is lent for minutes. With --gpu the headline runs
first (marker `headline`: cuda at N = 1e5 and 1e6, and its divide form there), then the
other GPU benchmarks, then the host's, the largest N last of each.

Each GPU benchmark makes an untimed warm call first (it compiles: NVVM, XLA, NVRTC, often
half a second or more), then the checking call whose time decides the rounds, then the
timed rounds of the end-to-end call (copies, host work and dispatch included), then the
kernel's own time on the device (`device_seconds` of each GPU backend: CUDA events for
cuda and cupy), all in its extra_info with the FP64 rate and share of the peak from each.

Checked before and after timing against the extended-precision direct sum of a sample of
bodies (every body's would take minutes at N = 1e6), with the suite's bound. The FP64 rate
counts 20 flops per pair interaction and N^2 interactions a call (every pair twice, as the
tiled kernel computes them; GPU Gems 3 ch. 31 counts the same).
"""

import importlib
import os
import time
import warnings

import numpy as np
import pytest

import kernels
from nbody_bench import reference
from nbody_bench.budget import device_rounds, fits, predicted_call, rounds_for
from nbody_bench.results import FLOPS_PER_INTERACTION

GPU = ("cuda", "cupy", "jax")
# The host's backends beside them, and the largest N each is timed at (a call's time).
HOST = {"simd": 100000, "simd-parallel": 1000000, "c-reference": 100000}
# The sizes, NBODY_GPU_SIZES (comma-separated) where it is set: the tests run this file's
# cuda path at a few bodies on Numba's CUDA simulator that way (tests/test_gpu_run.py).
SIZES = tuple(
    int(n) for n in os.environ.get("NBODY_GPU_SIZES", "1000,10000,100000,1000000").split(",")
)
# Where the GPU run's goals are judged: N = 1e5 and 1e6; with NBODY_GPU_SIZES, its two
# largest (a rehearsal on the simulator, .ci/gpu --rehearse, has the same order and parts).
HEADLINE = tuple(sorted(SIZES)[-2:]) if "NBODY_GPU_SIZES" in os.environ else (100000, 1000000)
SAMPLE = 64  # bodies whose accelerations are checked at large N
# The cuda kernel with one thing changed, at the N where the pairs, not the launch, set
# the time: the pair's other form (kernels.cuda.PAIRS) at both headline sizes, and the
# tile's other sizes (kernels.cuda.TILES) with the default pair. cuda's own benchmark is
# the default (rsqrt, a tile of 128).
VARIANTS = (
    *(("divide", {"pair": "divide"}, n) for n in HEADLINE),
    ("tile64", {"tile": 64}, HEADLINE[0]),
    ("tile256", {"tile": 256}, HEADLINE[0]),
)
# The calls a benchmark makes at the least: a GPU backend's warm call (it compiles), the
# checking call, one round, and one launch timed by its events; a host backend's check
# and one round.
CALLS_BEFORE_ROUNDS = {"gpu": 4, "host": 2}


def gpu_sample_check(pos, mass):
    n = len(mass)
    rows = np.unique(np.linspace(0, n - 1, min(n, SAMPLE)).astype(int))
    exact, magnitude = reference.direct_sum(pos, mass, rows=rows)

    def check(acc, _n):
        excess = reference.excess(acc[rows], exact, magnitude, n=n)
        assert excess.max() <= 1, f"N = {n}: error up to {excess.max():.3g} times the bound"

    return check


def _marks(backend, n):
    marks = [pytest.mark.at_scale] if n == max(SIZES) else []
    if backend == "cuda" and n in HEADLINE:
        marks.append(pytest.mark.headline)
    return marks


def gpu_cases():
    """(backend, n): the GPU backends at every size, the host's up to their largest (beyond
    it a call takes minutes)."""
    return [
        pytest.param(backend, n, marks=_marks(backend, n))
        for backend in (*GPU, *HOST)
        for n in SIZES
        if n <= HOST.get(backend, n)
    ]


def skip_unless_it_fits(expected, left, what, warm=True):
    calls = CALLS_BEFORE_ROUNDS["gpu" if warm else "host"]
    if not fits(expected, left, calls=calls):
        pytest.skip(
            f"{what}: about {expected:.3g} s a call (from its time at a smaller N): "
            f"{calls} calls (the check and one round"
            f"{', after a warm one and before one timed by events' if warm else ''}) "
            f"would not end inside the --time-budget ({max(left, 0):.0f} s left)"
        )


def measure(request, timed, time_left, label, call, device_seconds, state, mass, rate, check):
    """A GPU backend's warm call (with `device_seconds`: the host's backends compile
    nothing at run time), the checking call, the timed rounds and the check of their
    result; then, for a GPU backend, the kernel's own time. Returns the benchmark."""
    if device_seconds is not None:
        call(state, mass, rate)  # warm: compiles, allocates; not what decides the rounds
    rate[:] = np.nan
    checked = _seconds(call, state, mass, rate)
    check(rate[1], label["n"])
    rate[:] = np.nan
    label["rounds"] = rounds_for(checked, time_left())
    timed(**label)(call, state, mass, rate)
    check(rate[1], label["n"])
    benchmark = request.getfixturevalue("benchmark")
    if device_seconds is not None and benchmark.stats is not None:
        record_kernel(benchmark, device_seconds, state, mass, checked, time_left())
    return benchmark


def _seconds(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def record_kernel(benchmark, device_seconds, state, mass, call, left):
    """The kernel's own seconds (fastest and middle of its launches), how they were taken,
    and its FP64 rate, in extra_info; a timing that fails is recorded as such and said,
    and the end-to-end figure stands."""
    info = benchmark.extra_info
    try:
        seconds = sorted(device_seconds(state, mass, device_rounds(call, left)))
    except Exception as exc:  # any failure of the events: the call's figure is kept
        info["kernel_error"] = f"{type(exc).__name__}: {exc}"
        warnings.warn(f"{info['backend']} at N = {info['n']}: no kernel time: {exc}", stacklevel=2)
        return
    info["kernel_min"] = seconds[0]
    info["kernel_median"] = float(np.median(seconds))
    info["kernel_rounds"] = len(seconds)
    info["kernel_timing"] = info.get("kernel_timing") or "on the device"
    info["fp64_flops_kernel"] = FLOPS_PER_INTERACTION * info["n"] ** 2 / seconds[0]


def record_fp64(benchmark, n):
    """The FP64 rate of a GPU benchmark's end-to-end call, and the GPU's peak with where it
    came from, in its extra_info (the summary's GPU table reads them)."""
    if benchmark.stats is None:
        return
    benchmark.extra_info["fp64_flops"] = FLOPS_PER_INTERACTION * n * n / benchmark.stats.stats.min
    if "cuda" in kernels.available():
        from kernels.cuda import fp64_peak

        peak, source = fp64_peak()
        if peak:
            benchmark.extra_info["fp64_peak"] = peak
        benchmark.extra_info["fp64_peak_source"] = source


def _device_timer(backend):
    """(device_seconds, how) of a GPU backend's module, or (None, None)."""
    if backend not in GPU:
        return None, None
    module = importlib.import_module(f"kernels.{backend}")
    return module.device_seconds, module.DEVICE_TIMING


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
    expected = predicted_call(measured("gpu-n", backend), n)
    skip_unless_it_fits(expected, time_left(), f"{backend} at N = {n}", warm=backend in GPU)
    pos, vel, mass = state_of(n)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    device_seconds, how = _device_timer(backend)
    label = {"workload": f"gpu-n{n}", "kind": "derivative", "backend": backend, "n": n, "calls": 1}
    call = kernels.get(backend).derivatives_into
    check = gpu_sample_check(pos, mass)
    benchmark = request.getfixturevalue("benchmark")
    if how:
        benchmark.extra_info["kernel_timing"] = how
    measure(request, timed, time_left, label, call, device_seconds, state, mass, rate, check)
    if backend in GPU:
        record_fp64(benchmark, n)


@pytest.mark.workload(lambda p: f"gpu-{p['variant'][0]}-n{p['variant'][2]}")
@pytest.mark.parametrize("backend", ["cuda"], indirect=True)
@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(v, id=f"{v[0]}-{v[2]}", marks=_marks("cuda", v[2]) if v[0] == "divide" else ())
        for v in VARIANTS
    ],
)
def test_cuda_variant(request, timed, measured, time_left, backend, variant, state_of):
    """The cuda kernel with its pair's other form or another tile (kernels.cuda.Device),
    one call each, end to end and by CUDA events: which the backend should use, measured."""
    from kernels.cuda import DEVICE_TIMING, Device

    name, options, n = variant
    expected = predicted_call(measured(f"gpu-{name}-n", "cuda"), n)
    skip_unless_it_fits(expected, time_left(), f"cuda ({name}) at N = {n}")
    device = Device(**options)
    pos, vel, mass = state_of(n)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    label = {"workload": f"gpu-{name}-n{n}", "kind": "variant", "backend": "cuda", "n": n}
    label["calls"] = 1
    benchmark = request.getfixturevalue("benchmark")
    benchmark.extra_info["kernel_timing"] = DEVICE_TIMING
    check = gpu_sample_check(pos, mass)
    measure(
        request, timed, time_left, label, device.derivatives, device.kernel_seconds, state,
        mass, rate, check,
    )  # fmt: skip
    record_fp64(benchmark, n)
