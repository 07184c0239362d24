"""The suite's references, equivalence checks, and the conditions every timing runs under.

Nothing is timed before it is checked: each benchmark first runs untimed, which both
verifies the answer and pays one-off costs (Numba's compile, the worker pool's start-up)
outside the timing. BLAS and OpenMP pools are pinned to one thread for the whole session
(threadpoolctl), so a timing does not depend on what else the machine runs.
"""

import fcntl
import functools
import hashlib
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import kernels
import kernels.registry
from kernels.multiprocessing import usable_cores
from nbody_bench import lecture, reference
from nbody_bench.ab_worker import slowed_down
from nbody_bench.budget import SLOW_CALL, rounds_for
from nbody_bench.gate import (
    GateConfigError,
    benchmarks_judged,
    confirm,
    evaluate,
    load_thresholds,
    report,
)
from nbody_bench.keep import keep
from nbody_bench.lecture import plugged_in, run_nbody_rk2
from nbody_bench.paired import Interval, Paired, alternate
from nbody_bench.required import required_backends, under_ci
from nbody_bench.results import baseline_for, extra_info_of, rows_from
from nbody_bench.summary import (
    format_checked_cost,
    format_crossover,
    format_gpu,
    format_table,
)
from nbody_bench.workloads import bodies, workload  # the seeded inputs, shared with A/B

# The lecture workload (nbody_bench.lecture): 20 bodies, 100 frames, 2000 derivative calls.
LECTURE_N = lecture.N
LECTURE_TIMES = lecture.TIMES
LECTURE_CALLS = lecture.CALLS  # tests/test_integrate.py holds it to run_rk2's schedule

_RESULTS = pytest.StashKey[list]()
_SUMMARY = pytest.StashKey[list]()
_SLOW_DOWN = pytest.StashKey[dict]()
_START = pytest.StashKey[float]()


def pytest_addoption(parser):
    parser.addoption(
        "--gate",
        action="store_true",
        help="fail the run when a ratio breaks its bound in pyproject.toml [tool.nbody-bench.gate]",
    )
    parser.addoption(
        "--gpu",
        action="store_true",
        help="also time one call at N = 1e3 .. 1e6 on the GPU backends and the host's limit "
        "kernel (bench/test_gpu.py; what ./dev gpu runs)",
    )
    parser.addoption(
        "--keep",
        default=None,
        metavar="DIR",
        help="after each benchmark, write DIR/results.json (the run so far, without each "
        "round's times) and DIR/table.txt (the GPU and summary tables), each replaced whole, "
        "so a run cut short keeps what it measured (nbody_bench.keep; ./dev gpu sets it)",
    )
    parser.addoption(
        "--time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="end inside SECONDS from the session's start: a large call predicted not to fit "
        "is skipped with its prediction, slow calls get counted rounds (nbody_bench.budget; "
        "./dev gpu sets it for a GPU machine's lease)",
    )
    group = parser.getgroup("nbody-bench selection")
    group.addoption(
        "--gated",
        action="store_true",
        help="only the benchmarks a gate bound or target reads, with the baselines they are "
        "set against (what ./dev gate times)",
    )
    group.addoption(
        "--ungated",
        action="store_true",
        help="every item but those of --gated (what the tests leave to the gate under CI, so "
        "each item's checks run once)",
    )
    parser.addoption(
        "--slow-down",
        action="append",
        default=[],
        metavar="BACKEND=FACTOR",
        help="check the checks: make every timed call of BACKEND FACTOR times slower (the "
        "extra time busy-waits on the CPU), to see the gate and the compare catch it",
    )


# Backends that hand work to other processes: a round's time includes waking them, which
# spreads rounds widely (at N = 20 the median round of the per-body pool sat 79% above its
# fastest), so one call gets at least this many rounds for the minimum to settle. Not the
# lecture's 2000 calls a round (seconds of them for the per-body pool), whose hand-offs
# average out within the round: pytest-benchmark's 5 rounds suffice there.
POOLED = kernels.registry.POOLED
POOLED_ROUNDS = 10


def pytest_ignore_collect(collection_path, config):
    """bench/test_gpu.py only with --gpu: its sizes are a separate run (./dev gpu), not
    skips of this one."""
    if collection_path.name == "test_gpu.py" and not config.getoption("--gpu"):
        return True
    return None


def workload_of(item):
    """The workload id an item of the suite times (its `workload` marker), or None."""
    marker = item.get_closest_marker("workload")
    spec = getattr(item, "callspec", None)
    return marker.args[0](spec.params if spec else {}) if marker else None


def _select_gated(config, items):
    gated, ungated = config.getoption("--gated"), config.getoption("--ungated")
    if gated and ungated:
        raise pytest.UsageError("--gated and --ungated select complementary halves: give one")
    if not (gated or ungated):
        return
    try:
        thresholds = load_thresholds(config.rootpath / "pyproject.toml", kernels.names())
    except GateConfigError as exc:
        raise pytest.UsageError(f"--gated/--ungated: {exc}") from exc
    judged = benchmarks_judged(thresholds)
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        backend = spec.params.get("backend") if spec else None
        is_judged = (workload_of(item), backend) in judged
        # Only the suite's items are split; tests/ are never gated.
        inside = item.path.is_relative_to(Path(__file__).parent)
        (keep if not inside or is_judged == gated else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collection_modifyitems(config, items):
    _select_gated(config, items)
    for item in items:
        spec = getattr(item, "callspec", None)
        lecture = (workload_of(item) or "").startswith("lecture")
        if spec and spec.params.get("backend") in POOLED and not lecture:
            item.add_marker(pytest.mark.benchmark(min_rounds=POOLED_ROUNDS))
    # The largest calls last, so that a --time-budget cuts them first (stable: in order).
    # With --gpu: the headline first (marker `headline`: cuda at N = 1e5 and 1e6), then
    # the other GPU backends' items, then the host's, each part's largest calls last.
    gpu = config.getoption("--gpu")
    items.sort(key=lambda item: (*(_gpu_part(item) if gpu else ()), _at_scale(item)))


def _at_scale(item):
    return item.get_closest_marker("at_scale") is not None


def _gpu_part(item):
    """(0,) for a headline item, (1,) for another of a GPU backend, (2,) for the host's."""
    if item.get_closest_marker("headline") is not None:
        return (0,)
    spec = getattr(item, "callspec", None)
    return (1,) if spec and spec.params.get("backend") in kernels.registry.GPU else (2,)


def pytest_configure(config):
    if config.getoption("--gpu"):
        # JAX takes 75% of the GPU's memory when it starts unless told otherwise, and CuPy
        # and numba-cuda share the card with it in this run.
        os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    config.stash[_START] = time.monotonic()
    config.stash[_RESULTS] = []
    config.stash[_SUMMARY] = []
    config.stash[_SLOW_DOWN] = _slow_downs(config.getoption("--slow-down"))


def _slow_downs(options):
    factors = {}
    for option in options:
        backend, _, factor = option.partition("=")
        try:
            factors[backend] = float(factor)
        except ValueError:
            factors[backend] = float("nan")
        if backend not in kernels.names() or not factors[backend] >= 1:
            raise pytest.UsageError(
                f"--slow-down {option!r}: give BACKEND=FACTOR with a backend of "
                f"{', '.join(kernels.names())} and a factor of at least 1, e.g. numpy=2"
            )
    return factors


# -- inputs and references ---------------------------------------------------------------


# The extended-precision sums from N = 1000 (seconds each, 40 at N = 10000), kept between
# runs of one checkout: `./dev gate` after `./dev test` (CI) and every xdist worker read
# the file the first of them wrote. Keyed by the bodies and by the code that sums them.
REFERENCE_CACHE = Path(__file__).resolve().parents[1] / "build" / "reference"
CACHED_FROM = 1000


@functools.cache
def reference_accelerations(n):
    """Direct sum for `bodies(n)` in extended precision (nbody_bench.reference): the
    accelerations and the sum of |terms|, both float64 (n, 3)."""
    if not reference.EXTENDED:
        pytest.skip("long double is no wider than float64 here: no higher-precision reference")
    pos, _, mass = bodies(n)
    if n < CACHED_FROM:
        return reference.direct_sum(pos, mass)
    key = hashlib.sha256(pos.tobytes() + mass.tobytes())
    key.update(Path(reference.__file__).read_bytes())
    path = REFERENCE_CACHE / f"direct-sum-n{n}-{key.hexdigest()[:16]}.npz"
    REFERENCE_CACHE.mkdir(parents=True, exist_ok=True)
    # One process sums, the others (xdist's workers) wait for its file rather than sum too.
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with np.load(path) as stored:
                return stored["exact"], stored["magnitude"]
        except (OSError, KeyError, ValueError):
            pass  # not there yet, or unreadable: summed again, and written whole
        exact, magnitude = reference.direct_sum(pos, mass)
        with tempfile.NamedTemporaryFile(dir=REFERENCE_CACHE, suffix=".npz", delete=False) as f:
            np.savez(f, exact=exact, magnitude=magnitude)
        os.replace(f.name, path)  # atomic: a reader sees the whole file or none
    return exact, magnitude


# Bodies checked at N = 20000, where the extended-precision sum over all of them would
# take minutes: evenly spaced through the seeded bodies. Every backend timed there is
# checked on all bodies at N <= 10000 too.
SAMPLE_ROWS = 256


@functools.cache
def sampled_reference(n):
    """(rows, accelerations, sum of |terms|) of the extended-precision direct sum for a
    sample of `bodies(n)`."""
    if not reference.EXTENDED:
        pytest.skip("long double is no wider than float64 here: no higher-precision reference")
    pos, _, mass = bodies(n)
    rows = np.unique(np.linspace(0, n - 1, min(n, SAMPLE_ROWS)).astype(int))
    return (rows, *reference.direct_sum(pos, mass, rows=rows))


def acceleration_tolerance(n, magnitude):
    """Bound on a correct float64 kernel's error, per component: (n + 10) eps sum |terms|
    (see nbody_bench.reference.tolerance)."""
    return reference.tolerance(n, magnitude)


def assert_accelerations_match(acc, n):
    exact, magnitude = reference_accelerations(n)
    assert acc.shape == (n, 3)
    assert acc.dtype == np.float64
    excess = reference.excess(acc, exact, magnitude)
    assert np.all(excess <= 1), (
        f"N = {n}: error up to {excess.max():.3g} times the float64 bound at body "
        f"{np.unravel_index(np.argmax(excess), excess.shape)[0]}"
    )


@pytest.fixture(scope="session")
def lecture_state():
    return lecture.state()


@pytest.fixture(scope="session")
def lecture_times():
    return dict(LECTURE_TIMES)


@pytest.fixture(scope="session")
def lecture_calls():
    return LECTURE_CALLS


@pytest.fixture(scope="session")
def lecture_baseline(lecture_state):
    """The baseline's frames for the lecture workload: what every backend must reproduce."""
    return kernels.run_rk2(*lecture_state, **LECTURE_TIMES, backend="python")


@pytest.fixture(scope="session")
def lecture_tolerance(lecture_state, lecture_baseline):
    """Per-frame tolerance for run_rk2's frames (see `nudged_tolerance`)."""
    mass = lecture_state[2]
    return nudged_tolerance(
        lambda pos, vel: kernels.run_rk2(pos, vel, mass, **LECTURE_TIMES, backend="numpy"),
        lecture_state,
        lecture_baseline,
    )


@pytest.fixture(scope="session")
def as_written_baseline(lecture_state):
    """The baseline's frames through the lecture's own driver, whose steps (the time summed
    step by step) and arithmetic order differ from run_rk2's by rounding: by t = 1 the
    chaotic run carries that apart by about 1e-7, so it has its own reference."""
    pos, vel, mass = lecture_state
    return run_nbody_rk2(pos, vel, **LECTURE_TIMES, derivatives=plugged_in("python", mass))


@pytest.fixture(scope="session")
def as_written_tolerance(lecture_state, as_written_baseline):
    """Per-frame tolerance for the lecture driver's frames (see `nudged_tolerance`)."""
    derivatives = plugged_in("numpy", lecture_state[2])
    return nudged_tolerance(
        lambda pos, vel: run_nbody_rk2(pos, vel, **LECTURE_TIMES, derivatives=derivatives),
        lecture_state,
        as_written_baseline,
    )


def nudged_tolerance(run, lecture_state, baseline):
    """Per-frame tolerance, shape (frames, 1, 1), from the run's measured sensitivity;
    run(pos, vel) gives the frames from that start.

    The run is chaotic: a last-bit difference grows about 1e9-fold by t = 1. A backend
    that rounds differently acts like a few ulp-sized nudges of the state, so we measure
    how far eight random one-ulp nudges of the initial state (each coordinate moved up,
    down or kept) carry the run by each frame, take the largest (kept non-decreasing in
    time), and allow 10 times that. Measured on the development machine: correct backends
    stay below 0.4 of the nudge spread, while a force off by 1e-12 relative exceeds it
    350-fold.
    """
    pos, vel, _ = lecture_state
    rng = np.random.default_rng(2024)

    def nudge(x):
        step = rng.integers(-1, 2, size=x.shape)
        up, down = np.nextafter(x, np.inf), np.nextafter(x, -np.inf)
        return np.where(step > 0, up, np.where(step < 0, down, x))

    spread = np.zeros(len(baseline))
    for _ in range(8):
        frames = run(nudge(pos), nudge(vel))
        spread = np.maximum(spread, np.abs(frames - baseline).max(axis=(1, 2)))
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
def accelerations_match():
    return assert_accelerations_match


@pytest.fixture(scope="session")
def accelerations_near_reference():
    """`check(acc, n)`: a sample of the bodies within the float64 bound of the exact sum
    (large N)."""

    def check(acc, n):
        rows, exact, magnitude = sampled_reference(n)
        excess = reference.excess(acc[rows], exact, magnitude, n=n)
        assert acc.shape == (n, 3)
        assert excess.max() <= 1, (
            f"N = {n}: error up to {excess.max():.3g} times the float64 bound at body "
            f"{rows[np.unravel_index(np.argmax(excess), excess.shape)[0]]}"
        )

    return check


@pytest.fixture(scope="session")
def acceleration_bound():
    """`acceleration_bound(n)`: the (n, 3) float64 error bound for `bodies(n)`."""

    def bound(n):
        return acceleration_tolerance(n, reference_accelerations(n)[1])

    return bound


@pytest.fixture(scope="session")
def state_of():
    return bodies


# -- timing ------------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def single_threaded_blas():
    # BLAS only: the parallel backends' own threads are what they are measured on.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def benchmarking(benchmark):
    """Whether this run times (False under --benchmark-disable, as in ./dev test). Then each
    benchmark's function runs once, and is checked: the untimed call that otherwise comes
    first (to check, compile and start pools before the timing) would only repeat it."""
    return benchmark.enabled


def call_seconds(fn, *args, **kwargs):
    """(fn's result, its seconds)."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


_STARTED = pytest.StashKey[set]()


@pytest.fixture
def untimed(request):
    """`untimed(fn, *args, **kwargs)`: (fn's result, its seconds), the untimed checking
    call, whose time decides the rounds of a slow one (`timed(first=...)`).

    A backend's first call in this process also compiles (Numba, JAX) or starts its pool,
    which can take it past SLOW_CALL when the call itself takes milliseconds, and a call
    given 3 rounds is at the mercy of one burst. So a slow first call of a backend's entry
    point (derivatives, derivatives_into, run_rk2) is made once more, and the second one's
    time counts."""
    started = request.config.stash.setdefault(_STARTED, set())
    spec = getattr(request.node, "callspec", None)
    backend = spec.params.get("backend") if spec else None

    def call(fn, *args, **kwargs):
        result, seconds = call_seconds(fn, *args, **kwargs)
        first = (backend, getattr(fn, "__qualname__", repr(fn)))  # each entry compiles apart
        if backend is not None and first not in started:
            started.add(first)
            if seconds >= SLOW_CALL:
                _, seconds = call_seconds(fn, *args, **kwargs)
        return result, seconds

    return call


@pytest.fixture
def time_left(request):
    """`time_left()`: the seconds left of --time-budget (infinite without one)."""
    budget = request.config.getoption("--time-budget")
    start = request.config.stash[_START]

    def left():
        return math.inf if budget is None else budget - (time.monotonic() - start)

    return left


@pytest.fixture
def measured(request):
    """`measured(workload_prefix, backend)`: {n: fastest round in seconds} of this session's
    benchmarks of `backend` whose workload starts with the prefix."""

    def times(prefix, backend):
        return {
            r["extra_info"]["n"]: r["stats"]["min"]
            for r in request.config.stash[_RESULTS]
            if r["extra_info"]["backend"] == backend
            and r["extra_info"]["workload"].startswith(prefix)
        }

    return times


@pytest.fixture
def timed(benchmark, request):
    """`timed(workload=, kind=, backend=, n=, calls=, rounds=None, first=None)(fn, *args,
    **kwargs)` times the call with pytest-benchmark, labelled for the summary and the gate,
    and returns its result. `rounds`: exactly that many timed calls, uncalibrated
    (nbody_bench.budget, for calls of seconds); None: pytest-benchmark's calibrated rounds,
    or, given `first` (the seconds of the untimed checking call), counted rounds for a call
    of SLOW_CALL or more."""
    slow_downs = request.config.stash[_SLOW_DOWN]

    def label(*, workload, kind, backend, n, calls, rounds=None, first=None):
        if rounds is None and first is not None:
            rounds = rounds_for(first, round_seconds=math.inf)

        def run(fn, *args, **kwargs):
            benchmark.group = workload
            benchmark.extra_info.update(
                workload=workload,
                kind=kind,
                backend=backend,
                n=n,
                calls=calls,
                cores=usable_cores(),
                build=kernels.registry.build(),
            )
            if backend in ("simd", "simd-parallel", "dask"):
                # The limit kernel's variant, timed at import by each process: a compare
                # across runs can tell a changed choice from a slower kernel.
                from kernels.simd import VARIANT, VARIANTS

                benchmark.extra_info["simd_variant"] = VARIANTS[VARIANT]
            if backend == "dask":  # which cluster it ran on: embedded, or the configured one
                from kernels.dask import describe

                benchmark.extra_info["cluster"] = describe()
            if backend in slow_downs:
                fn = slowed_down(fn, slow_downs[backend])
                benchmark.extra_info["slowed_down"] = slow_downs[backend]
            if rounds is None:
                result = benchmark(fn, *args, **kwargs)
            else:
                result = benchmark.pedantic(fn, args, kwargs, rounds=rounds, iterations=1)
            if benchmark.stats is not None:  # None when benchmarks are disabled
                stats = benchmark.stats.stats
                request.config.stash[_RESULTS].append(
                    {
                        "name": request.node.name,
                        "group": workload,
                        "extra_info": benchmark.extra_info,  # the test may add to it after
                        "stats": {key: getattr(stats, key) for key in KEPT_STATISTICS},
                    }
                )
            return result

        return run

    return label


KEPT_STATISTICS = ("min", "max", "mean", "median", "stddev", "rounds")
_KEPT = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """--keep DIR: what the session has measured, written after each test that added to it
    (its setup, call and teardown done)."""
    try:
        return (yield)
    finally:
        if item.config.getoption("--keep"):
            _keep_results(item.config)


def _keep_results(config):
    """nbody_bench.keep of the session's results, with the machine's and the commit's
    description from pytest-benchmark's own hooks (made once)."""
    results = config.stash[_RESULTS]
    state = config.stash.setdefault(_KEPT, {"written": 0})
    if len(results) == state["written"]:
        return
    try:
        if "machine_info" not in state:
            info = config.hook.pytest_benchmark_generate_machine_info(config=config)
            config.hook.pytest_benchmark_update_machine_info(config=config, machine_info=info)
            state["machine_info"] = info
            state["commit_info"] = config.hook.pytest_benchmark_generate_commit_info(config=config)
        keep(config.getoption("--keep"), results, state["machine_info"], state["commit_info"])
    except Exception as exc:  # whatever it is, the run goes on
        # A measurement is never lost to its copy on disk: said, and the run goes on (an
        # error raised here, in the test's protocol, would end the whole session).
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"--keep: the results could not be written: {exc}", red=True)
    state["written"] = len(results)


def pytest_benchmark_update_machine_info(config, machine_info):
    # The measured clock speed differs on every run; left in, every --benchmark-compare
    # on the same machine would warn that the machine changed.
    cpu = machine_info.get("cpu", {})
    for key in [k for k in cpu if k.startswith("hz_actual")]:
        del cpu[key]


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Store speedups, pairs/s, ns/pair, % of ref and % of limit in each saved benchmark's
    extra_info."""
    all_rows = rows_from(output_json["benchmarks"])
    rows = {(r.workload, r.backend): r for r in all_rows}
    for entry in output_json["benchmarks"]:
        info = entry.get("extra_info") or {}
        row = rows.get((info.get("workload"), info.get("backend")))
        if row is not None:
            info.update(extra_info_of(row, all_rows))


def remeasurer(rows, slow_downs):
    """remeasure(verdict) for gate.confirm: the bound's two sides, alternating in blocks
    (nbody_bench.paired), with any --slow-down of the run; returns the speedup's interval."""

    def side(workload_id, backend):
        fn = workload(workload_id, backend)
        return slowed_down(fn, slow_downs[backend]) if backend in slow_downs else fn

    measured = {}  # per bound: every pair measured so far, so that a second look adds to it

    def remeasure(verdict, fresh=False):
        bound = verdict.bound
        row = next(r for r in rows if (r.workload, r.backend) == (bound.workload, bound.backend))
        base, _ = baseline_for(rows, row, bound.over)
        # The python baseline runs for seconds a call: fewer, longer pairs there.
        pairs = 25 if max(row.time, base.time) < 0.05 else 9
        more = alternate(
            side(base.workload, base.backend), side(row.workload, row.backend), pairs=pairs
        )
        if fresh:
            measured.pop(id(bound), None)
        so_far = measured.setdefault(id(bound), Paired())
        so_far.a += more.a
        so_far.b += more.b
        ratio = so_far.ratio()  # this backend's time over the other's
        return Interval(1 / ratio.median, 1 / ratio.high, 1 / ratio.low, ratio.confidence)

    return remeasure


def pytest_sessionfinish(session):
    # A plugin named like a built-in backend has no tests of its own to fail (the name
    # runs the built-in): the run fails here instead, naming both.
    problems = kernels.registry.plugin_problems()
    if problems:
        session.config.stash[_SUMMARY].extend(f"plugin problem: {p}" for p in problems)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    results = session.config.stash[_RESULTS]
    if not results:
        return
    rows = rows_from(results)
    lines = session.config.stash[_SUMMARY]
    try:
        thresholds = load_thresholds(session.config.rootpath / "pyproject.toml", kernels.BACKENDS)
    except GateConfigError as exc:
        lines += [format_table(rows), f"gate: {exc}"]
        failed = True
    else:
        required = required_backends(session.config.getoption("--ci") or under_ci())
        verdicts = evaluate(rows, thresholds, required)
        if session.config.getoption("--gate") and any(v.failed for v in verdicts):
            verdicts = confirm(verdicts, remeasurer(rows, session.config.stash[_SLOW_DOWN]))
        lines += [
            format_table(rows, verdicts),
            format_crossover(rows),
            format_checked_cost(rows),
            format_gpu(rows),
            *report(verdicts),
        ]
        failed = any(v.failed for v in verdicts)
    if failed and session.config.getoption("--gate"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter, config):
    # After pytest-benchmark's own table, and even when its --benchmark-compare-fail
    # raises PerformanceRegression there.
    try:
        return (yield)
    finally:
        lines = config.stash[_SUMMARY]
        if lines:
            terminalreporter.section("nbody-bench summary: speedups over python in this run")
            for line in lines:
                terminalreporter.write_line(line)
