"""The Pythran kernel: plain Python that Pythran compiles ahead of time to C++.

The loops are the C reference's (`kernels/c/nbody.c`), written as Python: positions in
structure-of-arrays form, each pair once (Newton's third law). Pythran needs only the
export lines below, which give each entry point's argument types; the meson build runs
`pythran -E` on this file and compiles the C++ it writes like any extension.

`lecture_accelerations` is the lecture's double loop exactly as the lecture wrote it
(`np.linalg.norm` per pair; `kernels/python.py`), compiled unchanged, to show what the
tool makes of untouched code.
"""

import numpy as np

# pythran export derivatives(float64[:, :, :], float64[:], float64[:, :, :])
# pythran export integrate(float64[:, :, :], float64[:], float64[:], int64[:], float64[:, :, :])
# pythran export lecture_accelerations(float64[:, :], float64[:])


def pair_accelerations(x, y, z, m, ax, ay, az):
    """ax, ay, az = the accelerations of the bodies at x, y, z, each pair once."""
    n = x.shape[0]
    ax[:] = 0.0
    ay[:] = 0.0
    az[:] = 0.0
    for i in range(n):
        xi, yi, zi, mi = x[i], y[i], z[i], m[i]
        sx = sy = sz = 0.0
        for j in range(i + 1, n):
            dx = x[j] - xi
            dy = y[j] - yi
            dz = z[j] - zi
            r2 = dx * dx + dy * dy + dz * dz
            s = 1.0 / (r2 * np.sqrt(r2))
            sj = m[j] * s
            si = mi * s
            sx += sj * dx
            sy += sj * dy
            sz += sj * dz
            ax[j] -= si * dx
            ay[j] -= si * dy
            az[j] -= si * dz
        ax[i] += sx
        ay[i] += sy
        az[i] += sz


def rates(state, mass, p, a, rate):
    """rate = (velocities, accelerations) for state = (positions, velocities); p and a are
    (3, n) work arrays."""
    n = state.shape[1]
    for i in range(n):
        for c in range(3):
            p[c, i] = state[0, i, c]
    pair_accelerations(p[0], p[1], p[2], mass, a[0], a[1], a[2])
    for i in range(n):
        for c in range(3):
            rate[0, i, c] = state[1, i, c]
            rate[1, i, c] = a[c, i]


def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    n = state.shape[1]
    rates(state, mass, np.empty((3, n)), np.empty((3, n)), rate)


def integrate(initial, mass, steps, frame_ends, frames):
    """The whole midpoint-RK2 run: frame k is recorded after step frame_ends[k] - 1.

    The state stays in structure-of-arrays form (rows x, y, z, vx, vy, vz) for the whole
    run, so no step pays for converting it; the arithmetic is the Python loop's. The
    updates are loops, not array expressions on slices (`mid[:3] = y[:3] + ...`): with
    those, Pythran's whole run at 20 bodies took 1.37x as long (909 us against 666 us).
    """
    n = initial.shape[1]
    y = np.empty((6, n))
    for i in range(n):
        for c in range(3):
            y[c, i] = initial[0, i, c]
            y[3 + c, i] = initial[1, i, c]
    mid = np.empty((6, n))
    acc = np.empty((3, n))
    start = 0
    for k in range(frame_ends.shape[0]):
        for s in range(start, frame_ends[k]):
            h = steps[s]
            pair_accelerations(y[0], y[1], y[2], mass, acc[0], acc[1], acc[2])
            for c in range(3):
                for i in range(n):
                    mid[c, i] = y[c, i] + y[3 + c, i] * (0.5 * h)
                    mid[3 + c, i] = y[3 + c, i] + acc[c, i] * (0.5 * h)
            pair_accelerations(mid[0], mid[1], mid[2], mass, acc[0], acc[1], acc[2])
            for c in range(3):
                for i in range(n):
                    y[c, i] = y[c, i] + mid[3 + c, i] * h
                    y[3 + c, i] = y[3 + c, i] + acc[c, i] * h
        start = frame_ends[k]
        for i in range(n):
            for c in range(3):
                frames[k, i, c] = y[c, i]


def lecture_accelerations(pos, mass):
    n_bodies = len(mass)
    dvdt = np.zeros(pos.shape)
    for i in range(n_bodies):
        for j in range(n_bodies):
            if i == j:
                continue
            r = np.linalg.norm(pos[j] - pos[i])
            rhat = (pos[j] - pos[i]) / r
            dvdt[i] += mass[j] / (r * r) * rhat
    return dvdt
