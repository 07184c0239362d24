# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython: typed memoryviews and C doubles, so the double loop runs without Python objects.

Bounds and wraparound checks are off (indices stay in range by construction), and C
division gives inf/nan on a zero distance instead of raising (the caller checks).
"""

from libc.math cimport sqrt

import numpy as np


def accelerations(const double[:, ::1] pos, const double[::1] mass):
    cdef Py_ssize_t n = pos.shape[0]
    cdef Py_ssize_t i, j
    cdef double ax, ay, az, dx, dy, dz, r2, s
    acc = np.empty((n, 3))
    cdef double[:, ::1] a = acc
    with nogil:
        for i in range(n):
            ax = ay = az = 0.0
            for j in range(n):
                if i == j:
                    continue
                dx = pos[j, 0] - pos[i, 0]
                dy = pos[j, 1] - pos[i, 1]
                dz = pos[j, 2] - pos[i, 2]
                r2 = dx * dx + dy * dy + dz * dz
                s = mass[j] / (r2 * sqrt(r2))
                ax += s * dx
                ay += s * dy
                az += s * dz
            a[i, 0] = ax
            a[i, 1] = ay
            a[i, 2] = az
    return acc
