"""Numba on every core: the numba backend's pair loops spread over threads with `prange`.

For many bodies, rows of the third-law triangle go to threads in pairs (row i with row
n - 1 - i, so every task has the same n - 1 pairs), and each thread adds its forces into
its own accumulator, summed at the end: no two threads write the same memory. For few
bodies, each thread takes whole rows of the all-pairs loop. The serial `numba` backend
runs the same loops on one thread, which makes it this backend's single-thread twin.
The number of threads is Numba's (one per core; NUMBA_NUM_THREADS sets it).
"""

# The serial backend first: without numba it raises BackendUnavailable, saying how to fix it.
from .numba import FASTMATH, SMALL, all_pairs_loop, jit, pair_row, to_columns, to_rate  # noqa: I001

import threading

import numpy as np
from numba import get_num_threads, get_thread_id, njit, prange

# No cache=True here: the thread-id lookup is a dynamic global that Numba cannot cache,
# so each process compiles these (a few seconds, paid before any timing).
parallel_jit = njit(parallel=True, fastmath=FASTMATH, error_model="numpy")

# Called, not inlined, from the prange loop: inlined into its body (numba's
# inline="always"), the parallel transform gave wrong sums (measured: 3e12 times the
# error bound at N = 1000).
pair_row_call = jit(pair_row.py_func)


all_pairs = parallel_jit(all_pairs_loop)


@parallel_jit
def half_pairs(p, m, a):
    x, y, z = p[0], p[1], p[2]
    n = x.shape[0]
    partial = np.zeros((get_num_threads(), 3, n))
    for task in prange((n + 1) // 2):
        own = partial[get_thread_id()]
        first = np.int64(task)
        last = n - 1 - first
        for i in (first, last):
            j = i + 1
            sx, sy, sz = pair_row_call(
                x[i],
                y[i],
                z[i],
                m[i],
                x[j:],
                y[j:],
                z[j:],
                m[j:],
                own[0, j:],
                own[1, j:],
                own[2, j:],
            )
            own[0, i] += sx
            own[1, i] += sy
            own[2, i] += sz
            if last == first:  # the middle row of an odd n comes once
                break
    for i in prange(n):
        a[0, i] = partial[:, 0, i].sum()
        a[1, i] = partial[:, 1, i].sum()
        a[2, i] = partial[:, 2, i].sum()


COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)


# Numba's own thread pool is entered by one caller at a time: its fallback threading layer
# (workqueue, used where neither OpenMP nor TBB is installed) aborts the whole process
# when two threads launch parallel work at once, and the work already fills every core.
_one_caller = threading.Lock()


def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    with _one_caller:
        _derivatives(state, mass, rate)


@njit(fastmath=FASTMATH, error_model="numpy")
def _derivatives(state, mass, rate):
    work = np.empty((2, 3, state.shape[1]))
    to_columns(state[0], work[0])
    # The serial loops' switch (not cached on disk, so it follows the one timed here); the
    # suite times this backend from N = 1000, where both switches pick the triangle.
    if state.shape[1] < SMALL:
        all_pairs(work[0], mass, work[1])
    else:
        half_pairs(work[0], mass, work[1])
    to_rate(state[1], work[1], rate)
