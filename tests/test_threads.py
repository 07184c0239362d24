"""Every backend gives the same answer when called from several threads at once."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import kernels

THREADS = 4
CALLS = 5
SLOW = {"python", "multiprocessing"}  # per-pair Python work: small N keeps the test short


def sizes(backend):
    # Both sides of the numba backends' switch between their two loops (640 bodies).
    return (30, 40, 50, 60) if backend in SLOW else (300, 500, 700, 900)


def run_threads(work):
    """Run work(k) for k = 0 .. THREADS - 1 in as many threads, started together."""
    start = threading.Barrier(THREADS)
    results, errors = [None] * THREADS, []

    def target(k):
        try:
            start.wait()
            results[k] = work(k)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish in 300 s"
    if errors:
        raise errors[0]
    return results


def assert_same(concurrent, sequential, what):
    # Bit for bit, except where the backend's own summation order varies between calls
    # (numba-parallel's per-thread accumulators): one part in 1e12 of the largest term.
    scale = np.abs(sequential).max()
    error = np.abs(concurrent - sequential).max()
    assert error <= 1e-12 * scale, f"{what}: differs by {error:.3g} (scale {scale:.3g})"


def test_concurrent_derivatives_match_sequential_ones(backend):
    derivatives = kernels.get(backend).derivatives
    states = [kernels.initial_conditions(n, seed=n) for n in sizes(backend)]
    sequential = [derivatives(*state)[1] for state in states]

    def work(k):
        return [derivatives(*states[k])[1] for _ in range(CALLS)]

    for k, calls in enumerate(run_threads(work)):
        for call, acc in enumerate(calls):
            assert_same(acc, sequential[k], f"{backend}, thread {k}, call {call}")


def test_concurrent_runs_match_sequential_ones(backend):
    if backend == "cuda" and os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip(
            "Numba's CUDA simulator cannot run the whole-run kernel from several Python "
            "threads at once (its thread lookup fails); on a GPU this runs (.ci/gpu)"
        )
    times = {"tend": 0.05, "tframe": 0.01, "dt": 0.001}
    states = [kernels.initial_conditions(20, seed=k) for k in range(THREADS)]
    whole_run = kernels.get(backend).integrate is not None

    def run(k):
        return kernels.run_rk2(*states[k], **times, backend=backend, whole_run=whole_run)

    sequential = [run(k) for k in range(THREADS)]
    for k, frames in enumerate(run_threads(run)):
        assert_same(frames, sequential[k], f"{backend}, run_rk2 in thread {k}")


@pytest.mark.parametrize("n", [300, 600])
def test_the_numba_parallel_kernel_is_correct_under_threads(n, needs):
    """numba-parallel's thread pool must not be entered twice at once (its default
    threading layer aborts the process when it is), nor mix the callers' accumulators."""
    derivatives = needs("numba-parallel").derivatives
    state = kernels.initial_conditions(n, seed=1)
    expected = derivatives(*state)[1]
    for acc in run_threads(lambda k: derivatives(*state)[1]):
        assert_same(acc, expected, f"numba-parallel at N = {n}")


def test_numba_parallel_under_threads_without_openmp_or_tbb(needs):
    """Numba's fallback threading layer, workqueue, is what a machine without OpenMP or
    TBB gets; it aborts the process if two threads enter it at once."""
    needs("numba-parallel")
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    test = f"{__file__}::test_the_numba_parallel_kernel_is_correct_under_threads"
    # --ci: the inner run fails, rather than skips, if numba-parallel cannot load there;
    # and its two tests must both have passed (a skip would end it with status 0 too).
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--ci", "-rA", test],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.count("PASSED") == 2, done.stdout[-2000:]
