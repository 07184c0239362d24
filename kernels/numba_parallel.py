"""Numba on every core: the numba backend's pair loops spread over threads with `prange`.

For many bodies, rows of the third-law triangle go to threads in pairs (row i with row
n - 1 - i, so every task has the same n - 1 pairs), and each thread adds its forces into
its own accumulator, summed at the end: no two threads write the same memory. For few
bodies, each thread takes whole rows of the all-pairs loop. The serial `numba` backend
runs the same loops on one thread, which makes it this backend's single-thread twin.
The number of threads is Numba's (one per core; NUMBA_NUM_THREADS sets it).
"""

import numpy as np

from .errors import BackendUnavailable

try:
    from numba import get_num_threads, get_thread_id, njit, prange
except ImportError as exc:
    raise BackendUnavailable(
        f"numba is not installed ({exc}); fix: pip install numba "
        "(the project's extra: pip install '.[numba]')"
    ) from exc

from .numba import FASTMATH, SMALL, pair_row

# No cache=True here: the thread-id lookup is a dynamic global that Numba cannot cache,
# so each process compiles these (a few seconds, paid before any timing).
parallel_jit = njit(parallel=True, fastmath=FASTMATH, error_model="numpy")


@parallel_jit
def all_pairs(x, y, z, m, ax, ay, az):
    n = x.shape[0]
    for i in prange(n):
        xi, yi, zi = x[i], y[i], z[i]
        sx = sy = sz = 0.0
        for j in range(n):
            dx = x[j] - xi
            dy = y[j] - yi
            dz = z[j] - zi
            r2 = dx * dx + dy * dy + dz * dz
            s = m[j] / (r2 * np.sqrt(r2)) if j != i else 0.0
            sx += s * dx
            sy += s * dy
            sz += s * dz
        ax[i] = sx
        ay[i] = sy
        az[i] = sz


@parallel_jit
def half_pairs(x, y, z, m, ax, ay, az):
    n = x.shape[0]
    partial = np.zeros((get_num_threads(), 3, n))
    for task in prange((n + 1) // 2):
        own = partial[get_thread_id()]
        first = np.int64(task)
        last = n - 1 - first
        for i in (first, last):
            j = i + 1
            sx, sy, sz = pair_row(
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
        ax[i] = partial[:, 0, i].sum()
        ay[i] = partial[:, 1, i].sum()
        az[i] = partial[:, 2, i].sum()


@njit(fastmath=FASTMATH, error_model="numpy")
def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    rate[0] = state[1]
    pos, acc = state[0], rate[1]
    n = pos.shape[0]
    x = pos[:, 0].copy()
    y = pos[:, 1].copy()
    z = pos[:, 2].copy()
    ax, ay, az = np.empty(n), np.empty(n), np.empty(n)
    if n < SMALL:
        all_pairs(x, y, z, mass, ax, ay, az)
    else:
        half_pairs(x, y, z, mass, ax, ay, az)
    for i in range(n):
        acc[i, 0] = ax[i]
        acc[i, 1] = ay[i]
        acc[i, 2] = az[i]
