"""The lecture's parallel attempt: one task per body, farmed out with `Pool.starmap`.

Kept to show the lecture's lesson: each task is far too small for what it costs to send
(the whole position array is pickled once per body), so this loses to the serial loop.
Unlike the lecture, no pool exists at import time: one is started on the first call,
reused by every later call, and closed when the interpreter exits.
"""

import atexit
import multiprocessing
import os
import threading
from itertools import repeat

import numpy as np

_pool = None
_pool_lock = threading.Lock()


def onebody_accelerations(i, pos, mass):
    dvdt = np.zeros(3)
    for j in range(len(mass)):
        if i == j:
            continue
        r = np.linalg.norm(pos[j] - pos[i])
        rhat = (pos[j] - pos[i]) / r
        dvdt += mass[j] / (r * r) * rhat
    return dvdt


def accelerations(pos, mass):
    n = len(mass)
    res = pool().starmap(
        onebody_accelerations, zip(range(n), repeat(pos, n), repeat(mass, n), strict=True)
    )
    return np.array(res)


def pool():
    """The shared worker pool, started on first use with one process per usable core."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = start_pool()
        return _pool


def start_pool(**options):
    """A new Pool with one process per usable core (options go to Pool).

    forkserver, not fork: forking a process that already runs threads (BLAS, Numba) can
    deadlock the child.
    """
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method).Pool(processes=usable_cores(), **options)


def close_pool():
    """Stop the workers and wait for them; the next call starts a new pool."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
            _pool.join()
            _pool = None


atexit.register(close_pool)


def usable_cores():
    """The cores this process may run on (its CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
