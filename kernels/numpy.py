"""NumPy: the double loop replaced by broadcasting over the (i, j) pairs.

All pairs at once would ask for O(n^2) memory: 50 MB of temporaries at n = 1000, 20 GiB
for one of them at n = 30000. So the rows i go in blocks, each against every body j,
sized to keep a call's temporaries near BLOCK_BYTES whatever n: one block up to
n = 1800, where a call is as it always was, and from there as many as it takes.
"""

import numpy as np

# What one call's temporaries may take: a block of b rows holds about ten (b, n) arrays of
# float64 at its peak (d is three, r2, its square root, their product and the weights
# four more, and einsum's own buffers the rest: 320 MB measured at N = 4000 when counted
# as eight).
BLOCK_BYTES = 256 * 2**20
PAIR_BYTES = 10 * 8
# The same on a GPU (the cupy backend, and jax where it runs on one): memory is larger and
# every block costs kernel launches, so blocks are larger: 26 rows at N = 1e6, not 3.
DEVICE_BLOCK_BYTES = 2 * 2**30


def block_rows(n, budget=None):
    """Rows per block for n bodies: all n if they fit in `budget` bytes (default
    BLOCK_BYTES), else fewer (at least 1)."""
    budget = BLOCK_BYTES if budget is None else budget
    return max(1, min(n, budget // (PAIR_BYTES * max(n, 1))))


def accelerations(pos, mass):
    n = len(mass)
    if n * n * PAIR_BYTES <= BLOCK_BYTES:  # all pairs at once, as the lecture does
        return block_accelerations(pos, pos, mass, 0)
    rows = block_rows(n)
    acc = np.empty_like(pos)
    for first in range(0, n, rows):
        acc[first : first + rows] = block_accelerations(pos[first : first + rows], pos, mass, first)
    return acc


def block_accelerations(rows, pos, mass, first, xp=np):
    """The accelerations of the bodies `rows`, pos[first : first + len(rows)]. `xp`: the
    array library of the arrays (NumPy here; CuPy's arrays in kernels/cupy.py)."""
    d = pos[xp.newaxis, :, :] - rows[:, xp.newaxis, :]  # d[i, j] = r_j - r_(first + i)
    r2 = xp.einsum("ijk,ijk->ij", d, d)
    # d[i, first + i] is zero, so any finite r2 there makes the self-term vanish.
    xp.fill_diagonal(r2[:, first:], 1.0)
    weight = mass / (r2 * xp.sqrt(r2))  # m_j / |r_j - r_i|^3
    return xp.einsum("ij,ijk->ik", weight, d)
