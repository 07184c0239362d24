"""Numba: the pair loop compiled by `@njit`, past the lecture.

Two loops, each where it is fastest (the switch is at SMALL bodies, measured): for a few
bodies, every pair (i, j) twice, a loop of plain sums that LLVM vectorizes with no set-up;
for many, Newton's third law (each pair once, i < j, its force added to i and taken from
j), which halves the work. LLVM vectorizes that second loop only when each row works on
array slices, which cost a little to make, hence the small-N loop. The row function is
inlined into the loop over rows (`inline="always"`): a call per row passing seven array
slices had cost more than the row itself (0.73 of the C reference at N = 1000, 0.95
inlined). Two rows per sweep, as in the limit kernel, measured the same natively, but
in the portable build (NUMBA_CPU_NAME=generic) its code loaded from Numba's cache ran
25% slower than freshly compiled, which one row per sweep does not.

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
SMALL = 200  # all_pairs is the faster below about 200 bodies (measured on AMD Zen 5)
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
def pair_row(xi, yi, zi, mi, x, y, z, m, ax, ay, az):
    """Row i of the triangle, given the slices [i + 1:]: returns the force sum on i."""
    sx = sy = sz = 0.0
    for k in range(x.shape[0]):
        dx = x[k] - xi
        dy = y[k] - yi
        dz = z[k] - zi
        r2 = dx * dx + dy * dy + dz * dz
        s = 1.0 / (r2 * np.sqrt(r2))
        sk = m[k] * s
        si = mi * s
        sx += sk * dx
        sy += sk * dy
        sz += sk * dz
        ax[k] -= si * dx
        ay[k] -= si * dy
        az[k] -= si * dz
    return sx, sy, sz


@jit
def half_pairs(x, y, z, m, ax, ay, az):
    ax[:] = 0.0
    ay[:] = 0.0
    az[:] = 0.0
    for i in range(x.shape[0]):
        j = i + 1
        sx, sy, sz = pair_row(
            x[i], y[i], z[i], m[i], x[j:], y[j:], z[j:], m[j:], ax[j:], ay[j:], az[j:]
        )
        ax[i] += sx
        ay[i] += sy
        az[i] += sz


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
