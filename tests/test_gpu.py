"""The GPU backends without a GPU: the `cuda` kernels on Numba's CUDA simulator, and what
`cuda` and `cupy` say where they cannot run."""

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import kernels

ROOT = Path(__file__).resolve().parents[1]
NUMBA_CUDA = importlib.util.find_spec("numba") is not None and (
    importlib.util.find_spec("numba.cuda") is not None
)

# Runs in a process of its own: the simulator is chosen when numba.cuda is first imported.
SIMULATED = r"""
import json, sys
import numpy as np
import kernels
from kernels import cuda as kc
from kernels.integrate import schedule
from nbody_bench import reference
from nbody_bench.workloads import bodies

found = {"per_call": {}, "whole_run": {}, "default_pair": kc.PAIR}


def per_call(device, n):  # one call at n bodies against the extended-precision reference
    pos, vel, mass = bodies(n)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    device.derivatives(state, mass, rate)
    exact, magnitude = reference.direct_sum(pos, mass)
    return {
        "excess": float(reference.excess(rate[1], exact, magnitude).max()),
        "velocities": bool(np.array_equal(rate[0], vel)),
    }


for pair in kc.PAIRS:
    device = kc.Device(tile=8, pair=pair)  # 8 threads a block: a few bodies span several tiles
    for n in (1, 2, 3, 7, 8, 9, 20):
        found["per_call"][f"{pair}-{n}"] = per_call(device, n)
# The block decoupled from the tile: fewer threads than a tile's bodies (each loads two),
# and more (a block's bodies span two tiles).
for threads in (4, 16):
    device = kc.Device(tile=8, threads=threads)
    for n in (7, 20, 33):
        found["per_call"][f"threads{threads}-{n}"] = per_call(device, n)
found["bad_threads"] = []
for threads in (-1, 1025):
    try:
        kc.Device(tile=8, threads=threads)
    except ValueError as exc:
        found["bad_threads"].append(str(exc))
try:
    kc.Device(pair="fast")
except ValueError as exc:
    found["unknown_pair"] = str(exc)
device = kc.Device(tile=8)
for n in (5, 8, 13, 40):
    pos, vel, mass = bodies(n)
    steps, ends = schedule(3, 0.01, 0.004)
    loop = kernels.run_rk2(pos, vel, mass, tend=0.03, tframe=0.01, dt=0.004, backend="c-reference")
    for one_block in (True, False):
        frames = np.empty_like(loop)
        device.integrate(np.stack((pos, vel)), mass, steps, ends, frames, one_block=one_block)
        found["whole_run"][f"{n}-{one_block}"] = float(np.abs(frames - loop).max())
# Which launches a whole run of 40 bodies makes by default: the one block, of whole warps.
device = kc.Device(tile=8)
pos, vel, mass = bodies(40)
frames = np.empty((len(ends), 40, 3))
device.integrate(np.stack((pos, vel)), mass, steps, ends, frames)
found["default_launches"] = sorted(
    [kernel is device.one_block_run, grid, block] for kernel, grid, block in device.launches
)
pos, vel, mass = bodies(kc.ONE_BLOCK + 1)
try:
    device.integrate(np.stack((pos, vel)), mass, steps, ends, frames, one_block=True)
except ValueError as exc:
    found["too_many_for_one_block"] = str(exc)
# The kernel's own time by CUDA events: the simulator's events record none.
pos, vel, mass = bodies(9)
try:
    device.kernel_seconds(np.stack((pos, vel)), mass, 2)
except kc.EventTimingError as exc:
    found["simulated_events"] = str(exc)
# The registry's backend, checked call and whole run, with the default tile.
pos, vel, mass = bodies(20)
backend = kernels.get("cuda")
dpdt, dvdt = backend.derivatives(pos, vel, mass)
exact, magnitude = reference.direct_sum(pos, mass)
found["checked"] = float(reference.excess(dvdt, exact, magnitude).max())
frames = kernels.run_rk2(pos, vel, mass, tend=0.02, tframe=0.01, dt=0.005, backend="cuda",
                         whole_run=True)
loop = kernels.run_rk2(pos, vel, mass, tend=0.02, tframe=0.01, dt=0.005, backend="c-reference")
found["registry_whole_run"] = float(np.abs(frames - loop).max())
# The FP64 peak from what the device reports, on stand-ins for an H200's answers.
class H200:
    name = b"NVIDIA H200"
    compute_capability = (9, 0)
    MULTIPROCESSOR_COUNT = 132
    CLOCK_RATE = 1980000  # kHz, as CUDA reports it
class H200NoClock(H200):
    @property
    def CLOCK_RATE(self):
        raise AttributeError("CLOCK_RATE")
class Unknown(H200NoClock):
    name = "Some GPU"
class H100(H200NoClock):
    name = "NVIDIA H100 80GB HBM3"
class H100NVL(H200NoClock):
    name = "NVIDIA H100 NVL"
class H100PCIe(H200NoClock):
    name = "NVIDIA H100 PCIe"
class H200NVL(H200NoClock):
    name = "NVIDIA H200 NVL"
found["peaks"] = {}
for stand_in in (H200, H200NoClock, Unknown, H100, H100NVL, H100PCIe, H200NVL):
    kc.cuda.get_current_device = stand_in
    found["peaks"][stand_in.__name__] = kc.fp64_peak()
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def simulated():
    if not NUMBA_CUDA:
        pytest.skip("numba-cuda is not installed; fix: pip install '.[cuda]'")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SIMULATED], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("pair", ["rsqrt", "divide"])
@pytest.mark.parametrize("n", ["1", "2", "3", "7", "8", "9", "20"])
def test_the_tiled_kernel_is_within_the_bound(simulated, pair, n):
    """N = 7, 8, 9 sit around the tile of 8 (one partial tile, one full, one full and a
    body over); N = 20 is three tiles, the last partial. Both forms of the pair's
    arithmetic (the simulator's rsqrt is 1 / sqrt: it has no libdevice)."""
    result = simulated["per_call"][f"{pair}-{n}"]
    assert result["excess"] <= 1, f"N = {n}: {result['excess']:.3g} times the float64 bound"
    assert result["velocities"]


@pytest.mark.parametrize("threads", ["4", "16"])
@pytest.mark.parametrize("n", ["7", "20", "33"])
def test_the_block_is_decoupled_from_the_tile(simulated, threads, n):
    """A block of fewer threads than the tile's 8 bodies (each thread stages two) and of
    more (its bodies span two tiles, and only the tile that holds a body leaves out its
    own term): the same accelerations, within the bound."""
    result = simulated["per_call"][f"threads{threads}-{n}"]
    assert result["excess"] <= 1, f"N = {n}: {result['excess']:.3g} times the float64 bound"
    assert result["velocities"]


def test_a_block_holds_one_to_1024_threads(simulated):
    assert simulated["bad_threads"] == [
        "threads=-1: a block holds 1 to 1024 threads",
        "threads=1025: a block holds 1 to 1024 threads",
    ]


def test_the_whole_run_on_the_device_follows_the_loop(simulated):
    """One block for the whole run and a launch per stage, each against run_rk2's loop over
    the C reference: the same steps, to rounding. The one block holds more bodies than
    the tile (13 and 40 bodies, tiles of 8: two and five tiles)."""
    assert set(simulated["whole_run"]) == {
        f"{n}-{one}" for n in (5, 8, 13, 40) for one in (True, False)
    }
    for case, difference in simulated["whole_run"].items():
        assert difference < 1e-12, f"{case}: frames {difference:.3g} from the loop's"


def test_the_whole_run_is_one_block_up_to_1024_bodies(simulated):
    """40 bodies with a tile of 8: by default one launch of one block of 64 threads (two
    warps, a thread a body) and no other launch; 1,025 bodies refused by the one block."""
    assert simulated["default_launches"] == [[True, 1, 64]]
    assert simulated["too_many_for_one_block"] == (
        "the one-block run takes up to 1024 bodies, not 1025"
    )


def test_the_simulator_kernel_time_is_refused_not_reported(simulated):
    """Device.kernel_seconds launches the kernel between CUDA events; the simulator's
    events record no time (-1 ms), which is an error naming it, never a figure."""
    assert "read -1.0 ms: no time was recorded" in simulated["simulated_events"]


def test_an_unknown_pair_arithmetic_is_named_with_the_choices(simulated):
    assert simulated["default_pair"] == "rsqrt"
    assert simulated["unknown_pair"] == "pair='fast': choose one of rsqrt, divide"


def test_the_registry_backend_runs_checked_and_whole(simulated):
    assert simulated["checked"] <= 1
    assert simulated["registry_whole_run"] < 1e-12


def test_the_fp64_peak_comes_from_the_clock_or_else_the_datasheet(simulated):
    """kernels.cuda.fp64_peak on an H200's answers: 132 SMs x 64 FP64 FMA x 2 flops x
    1.98 GHz = 33.5 TFLOP/s, the datasheet's 34 where CUDA gives no clock, and no figure
    (but the name) for a GPU it does not know."""
    peaks = simulated["peaks"]
    peak, source = peaks["H200"]
    assert peak == pytest.approx(132 * 64 * 2 * 1.98e9)
    assert source == "NVIDIA H200: 132 SMs x 64 FP64 FMA x 2 x 1.98 GHz"
    assert peaks["H200NoClock"] == [34e12, "NVIDIA H200: the datasheet's 34 TFLOP/s"]
    assert peaks["Unknown"] == [None, "Some GPU: unknown FP64 rate"]
    # The names H100s and the H200 NVL report, without a clock: their datasheets' rates.
    assert peaks["H100"] == [34e12, "NVIDIA H100 80GB HBM3: the datasheet's 34 TFLOP/s"]
    assert peaks["H100NVL"] == [30e12, "NVIDIA H100 NVL: the datasheet's 30 TFLOP/s"]
    assert peaks["H100PCIe"] == [26e12, "NVIDIA H100 PCIe: the datasheet's 26 TFLOP/s"]
    assert peaks["H200NVL"] == [30e12, "NVIDIA H200 NVL: the datasheet's 30 TFLOP/s"]


def test_without_a_gpu_each_says_why_and_how_to_fix_it(monkeypatch):
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("this process runs the CUDA simulator")
    # Each cause has its own fix: the package to install where it is missing; where it is
    # installed and no GPU answers, the GPU (and, for cuda, the simulator for tests).
    fixes = {
        "cuda": {
            "not installed": "pip install '.[cuda]'",
            "no CUDA GPU here": "NUMBA_ENABLE_CUDASIM=1",
        },
        "cupy": {
            "not installed": "pip install cupy-cuda12x or cupy-cuda13x",
            "no CUDA GPU here": "run on a machine with an NVIDIA GPU",
        },
    }
    for name, by_cause in fixes.items():
        try:
            kernels.get(name)
        except kernels.BackendUnavailable as exc:
            message = str(exc)
            causes = [cause for cause in by_cause if cause in message]
            assert len(causes) == 1, f"{name}: names no known cause, or two: {message}"
            _, _, fix = message.partition("fix:")
            wanted = by_cause[causes[0]]
            assert wanted in fix, f"{name}: {causes[0]}, but its fix lacks {wanted!r}: {message}"
        else:
            pytest.skip(f"{name} runs here: a GPU is present")


# The argument types kernels.cuda passes: C-contiguous float64 device arrays, the steps'
# float64 and the frame ends' intp (kernels.integrate.schedule), a frame's index as int64.
KERNEL_SIGNATURES = {
    "accelerations": "void(float64[:, ::1], float64[::1], float64[:, ::1])",
    "stage": "void(float64[:, ::1], float64[:, ::1], float64[:, ::1], float64, float64[:, ::1])",
    "record": "void(float64[:, ::1], float64[:, :, ::1], int64)",
    "one_block_run": "void(float64[:, ::1], float64[:, ::1], float64[::1], float64[::1], "
    "intp[::1], float64[:, :, ::1])",
}


# What numba-cuda raises where its compiler's libraries are not installed (cuda-pathfinder's
# and its own), as against a compiler that is there and fails.
MISSING_COMPILER = {"DynamicLibNotFoundError", "DynamicLibNotAvailableError", "NvvmSupportError"}


@pytest.mark.parametrize("pair", ["rsqrt", "divide"])
def test_every_kernel_compiles_for_an_h200(pair):
    """The simulator runs the kernels' Python, not the GPU compiler: here each kernel, with
    the argument types the backend passes, goes through numba-cuda's compiler to PTX for
    compute capability 9.0 (no GPU needed, only NVVM), so a kernel that would not type or
    lower fails on every machine with NVVM, not first on a lent GPU. Each form's PTX does
    the arithmetic it names."""
    if not NUMBA_CUDA:
        pytest.skip("numba-cuda is not installed; fix: pip install '.[cuda]'")
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("this process runs the CUDA simulator, which compiles nothing")
    from numba import cuda

    from kernels._cuda_device import ONE_BLOCK, TILE, kernels_for

    def probe(a):
        a[0] = 1.0

    try:  # where NVVM or NVRTC is missing, even this fails: nothing here can compile
        cuda.compile_ptx(probe, "void(float64[::1])", cc=(9, 0))
    except Exception as exc:
        if type(exc).__name__ not in MISSING_COMPILER and not isinstance(exc, OSError):
            raise  # a compiler that is there and fails: the failure this test is for
        pytest.skip(f"no CUDA compiler here ({exc}); fix: pip install 'numba-cuda[cu13]'")
    compiled = dict(zip(KERNEL_SIGNATURES, kernels_for(TILE, pair)[:4], strict=True))
    ptx = {
        name: cuda.compile_ptx(kernel.py_func, KERNEL_SIGNATURES[name], cc=(9, 0))[0]
        for name, kernel in compiled.items()
    }
    # Under NumPy 2.5 numba-cuda compiles only with kernels._cuda_device's registration, and
    # the name it lends np for that is gone again after it.
    assert hasattr(np, "row_stack") == (np.lib.NumpyVersion(np.__version__) < "2.5.0")
    for name in ("accelerations", "one_block_run"):  # the tiled ones: a tile, two barriers
        assert ".shared" in ptx[name], name
        assert ptx[name].count("bar.sync") >= 2, name
    # The one-block run is bounded to a block of ONE_BLOCK threads (PTX's .maxntid), so
    # it is compiled to launch with that many: a launch with 1,024 threads needs it.
    bounds = compiled["one_block_run"].targetoptions.get("launch_bounds")
    assert bounds == (ONE_BLOCK,)
    bounded = cuda.compile_ptx(
        compiled["one_block_run"].py_func,
        KERNEL_SIGNATURES["one_block_run"],
        cc=(9, 0),
        launch_bounds=bounds,
    )[0]
    assert re.search(rf"\.maxntid\s+{ONE_BLOCK}\b", bounded), "no launch bound in the PTX"
    tiled = ptx["accelerations"]
    if pair == "rsqrt":
        assert "__nv_rsqrt" in tiled or "rsqrt.approx.f64" in tiled
        assert "div.rn.f64" not in tiled
    else:
        assert "sqrt.rn.f64" in tiled
        assert "div.rn.f64" in tiled


def test_a_small_grid_is_launched_without_the_low_occupancy_warning():
    """numba-cuda warns of every grid under 128 blocks when the launch is made (under
    pytest's "error" filter, on a GPU, every cuda test below N = 16,384 would fail on it).
    The backend makes each launch shape once, that warning held back, and keeps it; any
    other warning still comes through."""
    if not NUMBA_CUDA:
        pytest.skip("numba-cuda is not installed; fix: pip install '.[cuda]'")
    from kernels._cuda_device import SIMULATED, configured

    if SIMULATED:
        pytest.skip("on Numba's CUDA simulator a launch is wrapped (kernels._cuda_device._quiet)")

    try:
        from numba.cuda.core.errors import NumbaPerformanceWarning
    except ImportError:  # numba-cuda before its own errors module
        from numba.core.errors import NumbaPerformanceWarning

    made = []

    class Kernel:
        def __init__(self, message):
            self.message = message

        def __getitem__(self, shape):
            made.append(shape)
            grid = shape[0]
            warnings.warn(NumbaPerformanceWarning(self.message.format(grid)), stacklevel=2)
            return shape

    # numba-cuda's own words (numba/cuda/dispatcher.py, _LaunchConfiguration).
    kernel = Kernel(
        "Grid size {} will likely result in GPU under-utilization due to low occupancy."
    )
    launches = {}
    assert configured(kernel, 1, 128, launches) == (1, 128)
    assert configured(kernel, 1, 128, launches) == (1, 128)
    assert configured(kernel, 8, 128, launches) == (8, 128)
    assert made == [(1, 128), (8, 128)]  # once per shape
    other = Kernel("something else about grid {}")
    with pytest.warns(NumbaPerformanceWarning, match="something else"):
        configured(other, 1, 128, launches)


def test_importing_kernels_touches_no_gpu():
    """`import kernels` and kernels.names() import neither numba.cuda nor cupy."""
    code = (
        "import sys, kernels; kernels.names(); "
        "print(sorted(m for m in ('numba.cuda', 'cupy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def gpu_entry(workload, backend, time, n, kind="derivative", peak=None, kernel=None):
    info = {"workload": workload, "kind": kind, "backend": backend, "n": n, "calls": 1}
    if peak:
        info |= {"fp64_peak": peak, "fp64_peak_source": f"a GPU: {peak / 1e12:g} TFLOP/s"}
    if kernel:
        info |= {"kernel_min": kernel, "kernel_median": kernel * 1.05}
        info["kernel_timing"] = f"events of {backend}"
    return {"extra_info": info, "stats": {"min": time, "median": time * 1.1}}


def gpu_table(runs):
    """format_gpu's table of `runs` as {(backend, N): cells} (a variant's backend cell is
    "cuda (VARIANT)"), and its other lines."""
    from nbody_bench.results import rows_from
    from nbody_bench.summary import format_gpu

    lines = format_gpu(rows_from(runs)).splitlines()
    table = {}
    for line in lines[3:]:
        if "  " not in line:  # past the table: its notes
            break
        cells = re.split(r" {2,}", line.strip())  # cells apart by two spaces or more
        table[cells[0], cells[1]] = cells
    return table, lines


def test_the_gpu_table_gives_the_fp64_share_by_call_and_kernel_and_the_crossover():
    peak = 20e12  # 20 flops an interaction: N^2 / time * 20 / peak
    runs = [
        gpu_entry("gpu-n1000", "simd-parallel", 100e-6, 1000),
        gpu_entry("gpu-n1000", "cuda", 200e-6, 1000, peak=peak),  # slower here
        gpu_entry("gpu-n1000", "cupy", 50e-6, 1000, peak=peak),  # faster here, not at 1e4
        gpu_entry("gpu-n10000", "simd-parallel", 10e-3, 10000),
        gpu_entry("gpu-n10000", "cuda", 1e-3, 10000, peak=peak),  # 10x; 2 TFLOP/s = 10%
        gpu_entry("gpu-n10000", "cupy", 20e-3, 10000, peak=peak),
        gpu_entry("gpu-n100000", "simd-parallel", 1.0, 100000),
        # 40x; 8 TFLOP/s = 40% by the call, 10 TFLOP/s = 50% by the kernel's 20 ms
        gpu_entry("gpu-n100000", "cuda", 25e-3, 100000, peak=peak, kernel=20e-3),
        gpu_entry("gpu-n100000", "cupy", 2.0, 100000, peak=peak),
        gpu_entry("gpu-divide-n100000", "cuda", 40e-3, 100000, kind="variant", peak=peak),
        gpu_entry("gpu-tile64-n100000", "cuda", 30e-3, 100000, "variant", peak, kernel=25e-3),
        gpu_entry("derivative-n1000", "numba", 1e-3, 1000),  # not a GPU-table benchmark
    ]
    table, lines = gpu_table(runs)
    assert len(table) == 11
    assert ("numba", "1000") not in table
    assert table["cuda", "10000"][2:] == ["1 ms", "-", "5e+10", "2 TFLOP/s", "10%", "-", "-", "10x"]
    assert table["cuda", "100000"][2:] == [
        "25 ms",
        "20 ms",
        "2e+11",
        "8 TFLOP/s",
        "40%",
        "10 TFLOP/s",
        "50%",
        "40x",
    ]
    assert table["cuda (divide)", "100000"][2:] == [
        "40 ms",
        "-",
        "1.25e+11",
        "5 TFLOP/s",
        "25%",
        "-",
        "-",
        "25x",
    ]
    assert table["cuda (tile64)", "100000"][5:9] == ["6.67 TFLOP/s", "33%", "8 TFLOP/s", "40%"]
    assert table["simd-parallel", "100000"][2:] == ["1 s", "-", "5e+09", "-", "-", "-", "-", "1x"]
    assert "cuda: faster than simd-parallel from N = 10000 on" in lines
    assert "cupy: slower than simd-parallel at the largest N measured" in lines
    assert "FP64 peak: a GPU: 20 TFLOP/s." in lines
    which = next(line for line in lines if line.startswith("call: "))
    assert which.endswith("on inputs already on the device, by cuda: events of cuda.")
    assert any(line.startswith("cuda (VARIANT): ") for line in lines)
    from nbody_bench.results import rows_from
    from nbody_bench.summary import format_gpu

    assert format_gpu(rows_from(runs[-1:])) == ""


def test_a_gpu_run_without_a_known_peak_or_kernel_time_leaves_them_out():
    table, lines = gpu_table([gpu_entry("gpu-n1000", "jax", 1e-4, 1000)])
    assert (
        table["jax", "1000"] == ["jax", "1000", "100 us", "-", "5e+09", "0.2 TFLOP/s"] + ["-"] * 4
    )
    assert any(line.endswith("on inputs already on the device: none timed.") for line in lines)


def test_kernel_times_are_read_from_extra_info_and_bad_ones_dropped():
    from nbody_bench.results import rows_from

    good = gpu_entry("gpu-n1000", "cuda", 1e-3, 1000, kernel=5e-4)
    negative = gpu_entry("gpu-n1000", "cupy", 1e-3, 1000, kernel=-1.0)
    text = gpu_entry("gpu-n1000", "jax", 1e-3, 1000)
    text["extra_info"] |= {"kernel_min": "fast", "kernel_median": 1.0}
    kernels_of = {r.backend: (r.kernel, r.kernel_timing) for r in rows_from([good, negative, text])}
    assert kernels_of == {
        "cuda": ((5e-4, 5e-4 * 1.05), "events of cuda"),
        "cupy": (None, None),
        "jax": (None, None),
    }


class FakeEvent:
    """A CUDA event's API (record, synchronize), logging each call."""

    def __init__(self, log, name):
        self.log, self.name = log, name

    def record(self, stream=0):
        self.log.append(f"{self.name}.record")

    def synchronize(self):
        self.log.append(f"{self.name}.synchronize")


def fake_events(log, readings):
    """(event, elapsed_ms) for kernels._timing.event_seconds: events named start and end
    in turn, and the elapsed milliseconds read from `readings`, one a call."""
    names = iter(("start", "end"))
    readings = iter(readings)

    def elapsed(start, end):
        log.append(f"elapsed({start.name}, {end.name})")
        return next(readings)

    return (lambda: FakeEvent(log, next(names))), elapsed


def test_the_events_bracket_each_run_and_give_seconds():
    """Each run between its start and end event, the end waited for before the time is
    read and before the next run: milliseconds read, seconds returned."""
    from kernels._timing import event_seconds

    log = []
    event, elapsed = fake_events(log, [2.5, 4.0])
    seconds = event_seconds(lambda: log.append("work"), 2, event, elapsed)
    assert seconds == [0.0025, 0.004]
    one = ["start.record", "work", "end.record", "end.synchronize", "elapsed(start, end)"]
    assert log == one + one


@pytest.mark.parametrize("reading", [-1.0, 0.0, float("nan")])
def test_events_that_recorded_no_time_are_an_error(reading):
    from kernels._timing import EventTimingError, event_seconds

    event, elapsed = fake_events([], [reading])
    with pytest.raises(EventTimingError, match="no time was recorded"):
        event_seconds(lambda: None, 1, event, elapsed)
    with pytest.raises(ValueError, match="time at least one run"):
        event_seconds(lambda: None, 0, event, elapsed)


def fake_cupy(log):
    """A stand-in for CuPy: NumPy's arithmetic, one device, CUDA events from FakeEvent, and
    every copy to and from the device logged."""
    import types

    fake = types.ModuleType("cupy")

    def asarray(a):
        log.append("upload")
        return np.asarray(a)

    def asnumpy(a):
        log.append("download")
        return np.asarray(a)

    names = iter(("start", "end"))
    fake.asarray, fake.asnumpy = asarray, asnumpy
    fake.__getattr__ = lambda name: getattr(np, name)  # einsum, sqrt, fill_diagonal, ...
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, CUDARuntimeError=RuntimeError)
    fake.cuda = types.SimpleNamespace(
        runtime=runtime,
        Event=lambda: FakeEvent(log, next(names)),
        get_elapsed_time=lambda start, end: 3.0,
    )
    return fake


@pytest.fixture
def cupy_backend(monkeypatch):
    """kernels.cupy imported on the stand-in CuPy, and forgotten afterwards."""
    import importlib

    log = []
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy(log))
    monkeypatch.delitem(sys.modules, "kernels.cupy", raising=False)
    module = importlib.import_module("kernels.cupy")
    yield module, log
    sys.modules.pop("kernels.cupy", None)
    if getattr(kernels, "cupy", None) is module:
        del kernels.cupy


def test_cupys_kernel_time_leaves_the_copies_out(cupy_backend):
    """kernels.cupy's device_seconds uploads once, times only the arithmetic between
    CuPy's events and copies nothing back; its accelerations are the numpy lesson's."""
    from nbody_bench import reference
    from nbody_bench.workloads import bodies

    module, log = cupy_backend
    pos, vel, mass = bodies(50)
    exact, magnitude = reference.direct_sum(pos, mass)
    assert reference.excess(module.accelerations(pos, mass), exact, magnitude).max() <= 1
    assert log == ["upload", "upload", "download"]
    log.clear()
    assert module.device_seconds(np.stack((pos, vel)), mass, 3) == [0.003] * 3
    assert log[:2] == ["upload", "upload"]
    assert log[2:] == ["start.record", "end.record", "end.synchronize"] * 3
    assert "CuPy" in module.DEVICE_TIMING


def test_jaxs_device_time_is_a_call_per_round():
    """kernels.jax's device_seconds (no GPU needed: JAX runs it on the CPU here) gives a
    time for each round, from inputs put on the device once."""
    try:
        jax_backend = importlib.import_module("kernels.jax")
    except kernels.BackendUnavailable as exc:
        pytest.skip(str(exc))
    from nbody_bench.workloads import bodies

    pos, vel, mass = bodies(30)
    seconds = jax_backend.device_seconds(np.stack((pos, vel)), mass, 4)
    assert len(seconds) == 4
    assert all(s > 0 for s in seconds)
    assert "inputs on the device" in jax_backend.DEVICE_TIMING
