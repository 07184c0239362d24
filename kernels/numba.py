"""Numba: the scalar double loop, compiled by `@njit`.

`cache=True` keeps the machine code on disk, so only the first process on a machine pays
the compile (about 1.5 s); benchmarks warm it up before timing. `error_model="numpy"`
turns a division by zero into inf/nan (caught by the caller) instead of a
ZeroDivisionError check in the inner loop.
"""

import numpy as np

from .errors import BackendUnavailable

try:
    from numba import njit
except ImportError as exc:
    raise BackendUnavailable(
        f"numba is not installed ({exc}); fix: pip install numba "
        "(the project's extra: pip install '.[numba]')"
    ) from exc


@njit(cache=True, error_model="numpy")
def accelerations(pos, mass):
    n = pos.shape[0]
    acc = np.zeros((n, 3))
    for i in range(n):
        ax = ay = az = 0.0
        for j in range(n):
            if i == j:
                continue
            dx = pos[j, 0] - pos[i, 0]
            dy = pos[j, 1] - pos[i, 1]
            dz = pos[j, 2] - pos[i, 2]
            r2 = dx * dx + dy * dy + dz * dz
            s = mass[j] / (r2 * np.sqrt(r2))
            ax += s * dx
            ay += s * dy
            az += s * dz
        acc[i, 0] = ax
        acc[i, 1] = ay
        acc[i, 2] = az
    return acc
