"""Dask distributed: the limit kernel's rows of the pair triangle dealt out to a cluster.

Past one machine. Each call deals the triangle's rows out in contiguous blocks of equal
pair work, one per worker, sends the positions and masses once to every worker (with its
block's task), runs each block with the limit kernel's row-range entry
point (`kernels.simd.rows`, the same compiled kernel as the `simd` backend), and sums the
blocks' partial accelerations into the caller's buffer.

Where it runs: the scheduler that Dask's own configuration names (`scheduler-address`,
for example the environment variable DASK_SCHEDULER_ADDRESS), starting nothing; else an
embedded `distributed.LocalCluster`, one single-threaded worker process per usable core,
started on first use (never at import), reused, and closed at exit. `describe()` says
which. A worker lost mid-call has its blocks rerun on the others; a call that cannot
finish within NBODY_BENCH_DASK_TIMEOUT seconds (default 120) raises, and nothing is
written to the caller's buffer unless every block came back.
"""

# The limit kernel first: without it there is no kernel to deal out.
from . import simd  # noqa: I001

import atexit
import itertools
import os
import threading
import time

import numpy as np

from .errors import BackendUnavailable
from .multiprocessing import check_main_guard, usable_cores

try:
    import dask
    import distributed
except ImportError as exc:
    raise BackendUnavailable(
        f"dask distributed is not installed ({exc}); fix: pip install distributed "
        "(the project's extra: pip install '.[dask]')"
    ) from exc

CONNECT_TIMEOUT = 5  # seconds to reach a configured scheduler before saying it cannot
_lock = threading.Lock()
_client = None  # the Client of this process, made on first use
_cluster = None  # the embedded LocalCluster, when this process started one


def call_timeout():
    """Seconds one call may take before it is given up (NBODY_BENCH_DASK_TIMEOUT)."""
    value = os.environ.get("NBODY_BENCH_DASK_TIMEOUT", "120")
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"NBODY_BENCH_DASK_TIMEOUT={value!r} is not a positive number of seconds")
    return seconds


def client():
    """The Client every call uses: to the configured scheduler, else an embedded cluster."""
    global _client, _cluster
    with _lock:
        if _client is not None:
            return _client
        address = dask.config.get("scheduler-address", None)
        if address:
            try:
                _client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise RuntimeError(
                    f"dask: cannot reach the scheduler at {address} (from Dask's "
                    f"configuration, scheduler-address) within {CONNECT_TIMEOUT} s: {exc}; "
                    "fix: start it there (dask scheduler), or unset DASK_SCHEDULER_ADDRESS "
                    "to run on an embedded cluster"
                ) from exc
        else:
            # Worker processes are spawned: an unguarded main script would start them again.
            check_main_guard()
            _cluster = distributed.LocalCluster(
                n_workers=usable_cores(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                # The scheduler serves HTTP even without a dashboard, by default on port
                # 8787: two processes starting clusters at once would collide there.
                dashboard_address=":0",
            )
            _client = distributed.Client(_cluster, set_as_default=False)
        atexit.register(close)
        return _client


def close():
    """Close the client, and the embedded cluster if this process started one."""
    global _client, _cluster
    with _lock:
        if _client is not None:
            _client.close()
        if _cluster is not None:
            _cluster.close()
        _client = _cluster = None


def worker_info(c):
    """Every worker's info (newer distributed lists only 5 unless asked for all)."""
    try:
        return c.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # distributed before n_workers existed lists them all
        return c.scheduler_info()["workers"]


def describe():
    """Which cluster the calls run on: kind, scheduler address, workers, threads."""
    c = client()
    workers = worker_info(c).values()
    return {
        "cluster": "embedded LocalCluster" if _cluster is not None else "configured scheduler",
        "address": c.scheduler.address,
        "workers": len(workers),
        "threads": sum(w["nthreads"] for w in workers),
    }


def row_blocks(n, count):
    """`count` contiguous row ranges of the n-body triangle with equal pair work.

    Row i has n - 1 - i pairs, so the pairs before row r number r (n - 1) - r (r - 1) / 2;
    each cut is the first row where that passes its share.
    """
    rows = np.arange(n + 1)
    before = rows * (n - 1) - rows * (rows - 1) // 2
    shares = np.arange(1, count) * before[-1] / count
    cuts = [0, *np.searchsorted(before, shares).tolist(), n]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def block_accelerations(positions, mass, first, last):
    """What rows [first, last) add to every body: runs on a worker."""
    acc = np.zeros_like(positions)
    simd.rows(positions, mass, first, last, acc)
    return acc


def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    n = state.shape[1]
    workers = len(worker_info(client()))
    acc = run_blocks(np.ascontiguousarray(state[0].T), mass, row_blocks(n, max(workers, 1)))
    rate[0] = state[1]
    rate[1] = acc.T


def run_blocks(positions, mass, blocks, workers=None):
    """The sum of what each (first, last) row range of `blocks` adds, each a task on the
    cluster: positions (3, n) and mass (n,) go to every worker once, each task returns a
    (3, n) partial sum, and they are added here. `workers` (addresses) restricts where
    the tasks may run. Raises TimeoutError or RuntimeError rather than return a partial sum.
    """
    c = client()
    timeout = call_timeout()
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _attempt(c, positions, mass, blocks, workers, deadline)
        except TimeoutError as exc:
            raise TimeoutError(
                f"dask: a derivative call for {positions.shape[1]} bodies did not finish in "
                f"{timeout:g} s on the cluster at {c.scheduler.address} "
                f"({len(worker_info(c))} workers now: {exc}); are its workers alive? "
                "(NBODY_BENCH_DASK_TIMEOUT sets the limit)"
            ) from exc
        except distributed.KilledWorker as exc:
            raise RuntimeError(
                f"dask: the workers running a block of rows kept dying ({exc}); the call "
                "was given up"
            ) from exc
        except OSError as exc:
            # A connection closed mid-call (a worker or the scheduler's link to it went
            # away): the scheduler drops the worker and reassigns its work, so the call
            # goes again, on the workers left, until the time limit.
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"dask: a derivative call for {positions.shape[1]} bodies did not finish "
                    f"in {timeout:g} s on the cluster at {c.scheduler.address}: workers kept "
                    f"dropping out ({exc})"
                ) from exc
            time.sleep(0.1)


def _attempt(c, positions, mass, blocks, workers, deadline):
    """One try of run_blocks; its tasks are cancelled whatever happens."""

    def left():
        return max(deadline - time.monotonic(), 0.0)

    # The positions and masses travel with each worker's one task, through the scheduler,
    # which knows which workers are alive and reassigns a lost worker's task: so they
    # reach each worker once a call. (A broadcast scatter straight to the workers was
    # tried: sent to a worker that had just died, it hung for distributed's 30 s connect
    # timeout in about 1 call of 12 in the test that kills a worker mid-call.)
    futures = []
    try:
        futures += [
            c.submit(block_accelerations, positions, mass, first, last, pure=False, workers=workers)
            for first, last in blocks
        ]
        return sum(f.result(timeout=left()) for f in futures)
    finally:
        c.cancel(futures)
