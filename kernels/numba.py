"""Numba: the pair loop compiled by `@njit`, past the lecture.

Two loops, each where it is fastest (the switch is at SMALL bodies, measured): for a few
bodies, every pair (i, j) twice, a loop of plain sums that LLVM vectorizes with no set-up;
for many, Newton's third law (each pair once, i < j, its force added to i and taken from
j), which halves the work, swept two rows at a time so that each load and store of body
k serves two pairs (as in the limit kernel). LLVM vectorizes that loop only when the rows
work on array slices, which cost a little to make, hence the small-N loop; the row
functions are inlined (`inline="always"`), which measured 0.73 -> 0.95 of the C
reference at N = 1000: a call per row passing seven slices cost more than the row.

Coordinates are copied to structure-of-arrays form (x, y, z) first. The fast-math flags
leave out `nnan` and `ninf`: a collision must still give inf/nan for the caller to
detect; `error_model="numpy"` keeps a division by zero an inf rather than a check that
blocks vectorization. `cache=True` keeps the machine code on disk, so only the first
process on a machine pays the compile; benchmarks warm it up before timing.
"""

import numpy as np

from .errors import BackendUnavailable

try:
    from numba import njit, prange
except ImportError as exc:
    raise BackendUnavailable(
        f"numba is not installed ({exc}); fix: pip install numba "
        "(the project's extra: pip install '.[numba]')"
    ) from exc

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
SMALL = 200  # all_pairs is the faster below about 200 bodies (measured on AMD Zen 5, AVX-512)
jit = njit(cache=True, fastmath=FASTMATH, error_model="numpy")
inlined = njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")


def all_pairs_loop(x, y, z, m, ax, ay, az):
    """Every pair twice; compiled here serially and by numba_parallel over threads
    (`prange` is a plain `range` in a function compiled without parallel=True)."""
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


all_pairs = jit(all_pairs_loop)


@inlined
def pair_rows(x0, y0, z0, m0, x1, y1, z1, m1, x, y, z, m, ax, ay, az):
    """Rows i and i + 1 of the triangle, given the slices [i + 2:]: returns the force sums
    on i and on i + 1. Two rows per sweep: each load and store of body k serves two pairs."""
    sx0 = sy0 = sz0 = sx1 = sy1 = sz1 = 0.0
    for k in range(x.shape[0]):
        dx0 = x[k] - x0
        dy0 = y[k] - y0
        dz0 = z[k] - z0
        dx1 = x[k] - x1
        dy1 = y[k] - y1
        dz1 = z[k] - z1
        r0 = dx0 * dx0 + dy0 * dy0 + dz0 * dz0
        r1 = dx1 * dx1 + dy1 * dy1 + dz1 * dz1
        s0 = 1.0 / (r0 * np.sqrt(r0))
        s1 = 1.0 / (r1 * np.sqrt(r1))
        sk0 = m[k] * s0
        sk1 = m[k] * s1
        sx0 += sk0 * dx0
        sy0 += sk0 * dy0
        sz0 += sk0 * dz0
        sx1 += sk1 * dx1
        sy1 += sk1 * dy1
        sz1 += sk1 * dz1
        si0 = m0 * s0
        si1 = m1 * s1
        ax[k] -= si0 * dx0 + si1 * dx1
        ay[k] -= si0 * dy0 + si1 * dy1
        az[k] -= si0 * dz0 + si1 * dz1
    return sx0, sy0, sz0, sx1, sy1, sz1


@inlined
def row_pair(i, x, y, z, m, ax, ay, az):
    """Rows i and i + 1: their own pair, then both against every body past them."""
    k = i + 1
    dx = x[k] - x[i]
    dy = y[k] - y[i]
    dz = z[k] - z[i]
    r2 = dx * dx + dy * dy + dz * dz
    s = 1.0 / (r2 * np.sqrt(r2))
    ax[i] += m[k] * s * dx
    ay[i] += m[k] * s * dy
    az[i] += m[k] * s * dz
    ax[k] -= m[i] * s * dx
    ay[k] -= m[i] * s * dy
    az[k] -= m[i] * s * dz
    j = i + 2
    sx0, sy0, sz0, sx1, sy1, sz1 = pair_rows(
        x[i], y[i], z[i], m[i], x[k], y[k], z[k], m[k],
        x[j:], y[j:], z[j:], m[j:], ax[j:], ay[j:], az[j:],
    )  # fmt: skip
    ax[i] += sx0
    ay[i] += sy0
    az[i] += sz0
    ax[k] += sx1
    ay[k] += sy1
    az[k] += sz1


@jit
def half_pairs(x, y, z, m, ax, ay, az):
    ax[:] = 0.0
    ay[:] = 0.0
    az[:] = 0.0
    # Rows in twos; an odd n's last row has no pairs left to add.
    for i in range(0, x.shape[0] - 1, 2):
        row_pair(i, x, y, z, m, ax, ay, az)


@jit
def to_columns(pos, work):
    """Copy (n, 3) positions into rows 0-2 of the (6, n) scratch array: x, y, z."""
    for i in range(pos.shape[0]):
        work[0, i] = pos[i, 0]
        work[1, i] = pos[i, 1]
        work[2, i] = pos[i, 2]


@jit
def from_columns(work, acc):
    """Copy rows 3-5 of the scratch array (ax, ay, az) into (n, 3) accelerations."""
    for i in range(acc.shape[0]):
        acc[i, 0] = work[3, i]
        acc[i, 1] = work[4, i]
        acc[i, 2] = work[5, i]


@jit
def pair_accelerations(pos, mass, acc, work):
    """acc = the accelerations for positions pos; work is a (6, n) scratch array."""
    to_columns(pos, work)
    pairs(work[0], work[1], work[2], mass, work[3], work[4], work[5])
    from_columns(work, acc)


@jit
def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    rate[0] = state[1]
    pair_accelerations(state[0], mass, rate[1], np.empty((6, state.shape[1])))


@jit
def pairs(x, y, z, m, ax, ay, az):
    if x.shape[0] < SMALL:
        all_pairs(x, y, z, m, ax, ay, az)
    else:
        half_pairs(x, y, z, m, ax, ay, az)


@jit
def integrate(initial, mass, steps, frame_ends, frames):
    """The whole midpoint-RK2 run: frame k is recorded after step frame_ends[k] - 1.

    The state stays in structure-of-arrays form (x, y, z, vx, vy, vz) for the whole run,
    so no step pays for converting it; the arithmetic is the Python loop's, step for step.
    """
    n = initial.shape[1]
    y = np.empty((6, n))
    for c in range(3):
        for i in range(n):
            y[c, i] = initial[0, i, c]
            y[3 + c, i] = initial[1, i, c]
    mid = np.empty((6, n))
    acc = np.empty((3, n))
    start = 0
    for k in range(frame_ends.shape[0]):
        for s in range(start, frame_ends[k]):
            h = steps[s]
            pairs(y[0], y[1], y[2], mass, acc[0], acc[1], acc[2])
            for c in range(3):
                for i in range(n):
                    mid[c, i] = y[c, i] + y[3 + c, i] * (0.5 * h)
                    mid[3 + c, i] = y[3 + c, i] + acc[c, i] * (0.5 * h)
            pairs(mid[0], mid[1], mid[2], mass, acc[0], acc[1], acc[2])
            for c in range(3):
                for i in range(n):
                    y[c, i] = y[c, i] + mid[3 + c, i] * h
                    y[3 + c, i] = y[3 + c, i] + acc[c, i] * h
        start = frame_ends[k]
        for c in range(3):
            for i in range(n):
                frames[k, i, c] = y[c, i]
