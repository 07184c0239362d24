# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Cython: typed memoryviews and C doubles, so the loops run without Python objects.

Past the lecture: Newton's third law (each pair once, i < j) halves the work, and
structure-of-arrays copies of the coordinates let the C compiler vectorize the pair loop
(fast-math flags from the top-level meson.build). Bounds and wraparound checks are off
(indices stay in range by construction); C division gives inf/nan on a zero distance
instead of raising (the caller checks).
"""

from cpython.pycapsule cimport PyCapsule_New
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef int pair_accelerations(Py_ssize_t n, const double *pos, const double *mass,
                            double *acc) noexcept nogil:
    """acc = the accelerations for positions pos, both (n, 3) C-ordered; returns -1 when
    out of memory."""
    cdef double *buffer = <double *> malloc(6 * n * sizeof(double))
    if buffer == NULL:
        return -1
    cdef double *x = buffer
    cdef double *y = buffer + n
    cdef double *z = buffer + 2 * n
    cdef double *ax = buffer + 3 * n
    cdef double *ay = buffer + 4 * n
    cdef double *az = buffer + 5 * n
    cdef Py_ssize_t i, j
    cdef double xi, yi, zi, mi, sx, sy, sz, dx, dy, dz, r2, s, sj, si
    for i in range(n):
        x[i] = pos[3 * i]
        y[i] = pos[3 * i + 1]
        z[i] = pos[3 * i + 2]
        ax[i] = 0.0
        ay[i] = 0.0
        az[i] = 0.0
    for i in range(n):
        xi = x[i]
        yi = y[i]
        zi = z[i]
        mi = mass[i]
        sx = sy = sz = 0.0
        for j in range(i + 1, n):
            dx = x[j] - xi
            dy = y[j] - yi
            dz = z[j] - zi
            r2 = dx * dx + dy * dy + dz * dz
            s = 1.0 / (r2 * sqrt(r2))
            sj = mass[j] * s
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
    for i in range(n):
        acc[3 * i] = ax[i]
        acc[3 * i + 1] = ay[i]
        acc[3 * i + 2] = az[i]
    free(buffer)
    return 0


cdef int kernel(const void *context, Py_ssize_t n, const double *pos, const double *vel,
                const double *mass, double *rate) noexcept nogil:
    """rate[0] = velocities, rate[1] = accelerations, for positions pos and velocities vel
    (n, 3), rate (2, n, 3), C-ordered; returns -1 when out of memory."""
    memcpy(rate, vel, 3 * n * sizeof(double))
    return pair_accelerations(n, pos, mass, rate + 3 * n)


# The derivative for the checked call (kernels._boundary.Kernel).
KERNEL_CAPSULE = PyCapsule_New(<void *> kernel, b"nbody_bench.kernel", NULL)


def derivatives(const double[:, :, ::1] state, const double[::1] mass, double[:, :, ::1] rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    cdef Py_ssize_t n = state.shape[1]
    cdef int status
    with nogil:
        status = kernel(NULL, n, &state[0, 0, 0], &state[1, 0, 0], &mass[0], &rate[0, 0, 0])
    if status != 0:
        raise MemoryError(f"no memory for {n} bodies")


def integrate(const double[:, :, ::1] initial, const double[::1] mass, const double[::1] steps,
              const Py_ssize_t[::1] frame_ends, double[:, :, ::1] frames):
    """The whole midpoint-RK2 run in C: frame k is recorded after step frame_ends[k] - 1."""
    cdef Py_ssize_t n = initial.shape[1], k, s, start = 0, a, i, c
    cdef double h
    cdef double[:, :, ::1] y = initial.copy()
    cdef double[:, :, ::1] k1 = initial.copy()
    cdef double[:, :, ::1] yh = initial.copy()
    cdef double[:, :, ::1] k2 = initial.copy()
    cdef int status = 0
    with nogil:
        for k in range(frame_ends.shape[0]):
            for s in range(start, frame_ends[k]):
                h = steps[s]
                status |= kernel(NULL, n, &y[0, 0, 0], &y[1, 0, 0], &mass[0], &k1[0, 0, 0])
                for a in range(2):
                    for i in range(n):
                        for c in range(3):
                            yh[a, i, c] = y[a, i, c] + k1[a, i, c] * (0.5 * h)
                status |= kernel(NULL, n, &yh[0, 0, 0], &yh[1, 0, 0], &mass[0], &k2[0, 0, 0])
                for a in range(2):
                    for i in range(n):
                        for c in range(3):
                            y[a, i, c] = y[a, i, c] + k2[a, i, c] * h
            start = frame_ends[k]
            frames[k, :, :] = y[0, :, :]
    if status != 0:
        raise MemoryError(f"no memory for {n} bodies")
