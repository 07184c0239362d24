# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin wrapper of the limit kernel in limit.c; the variant and thread count are the caller's."""

from cpython.pycapsule cimport PyCapsule_New, PyCapsule_SetContext

cdef extern from "limit.h":
    enum: NBODY_VARIANTS
    int nbody_limit_best() nogil
    const char *nbody_limit_variant_name(int variant) nogil
    int nbody_limit_runs(int variant) nogil
    int nbody_limit_has_threads() nogil
    int nbody_limit_derivatives(int variant, int threads, Py_ssize_t n, const double *pos,
                                const double *vel, const double *mass, double *rate) nogil
    void nbody_limit_rows(int variant, Py_ssize_t n, const double *x, const double *y,
                          const double *z, const double *m, Py_ssize_t first, Py_ssize_t last,
                          double *ax, double *ay, double *az) nogil
    int nbody_limit_integrate(int variant, int threads, Py_ssize_t n, const double *initial,
                              const double *mass, const double *steps,
                              const Py_ssize_t *frame_ends, Py_ssize_t nframes,
                              double *frames) nogil

VARIANTS = tuple(nbody_limit_variant_name(v).decode() for v in range(NBODY_VARIANTS))
HAS_THREADS = bool(nbody_limit_has_threads())


def runs(int variant):
    """Whether this build and CPU run `variant` (an index into VARIANTS)."""
    return bool(nbody_limit_runs(variant))


def best():
    """The fastest variant on this CPU, timed on first call (a few milliseconds) and kept."""
    with nogil:
        variant = nbody_limit_best()
    return variant


def derivatives(int variant, int threads, const double[:, :, ::1] state,
                const double[::1] mass, double[:, :, ::1] rate):
    cdef int status
    with nogil:
        status = nbody_limit_derivatives(variant, threads, state.shape[1], &state[0, 0, 0],
                                         &state[1, 0, 0], &mass[0], &rate[0, 0, 0])
    if status != 0:
        raise MemoryError(f"limit kernel: no memory for {state.shape[1]} bodies")


def rows(int variant, const double[:, ::1] positions, const double[::1] mass,
         Py_ssize_t first, Py_ssize_t last, double[:, ::1] acc):
    """Add the forces of the triangle's rows [first, last) into acc, (3, n) like positions
    (rows x, y, z: structure of arrays)."""
    cdef Py_ssize_t n = positions.shape[1]
    if not 0 <= first <= last <= n:
        raise ValueError(f"rows [{first}, {last}) are not within 0 .. {n}")
    if positions.shape[0] != 3 or acc.shape[0] != 3 or acc.shape[1] != n or mass.shape[0] != n:
        raise ValueError("positions and acc must be (3, n) and mass (n,)")
    with nogil:
        nbody_limit_rows(variant, n, &positions[0, 0], &positions[1, 0], &positions[2, 0],
                         &mass[0], first, last, &acc[0, 0], &acc[1, 0], &acc[2, 0])


def integrate(int variant, int threads, const double[:, :, ::1] initial, const double[::1] mass,
              const double[::1] steps, const Py_ssize_t[::1] frame_ends,
              double[:, :, ::1] frames):
    cdef int status
    with nogil:
        status = nbody_limit_integrate(variant, threads, initial.shape[1], &initial[0, 0, 0],
                                       &mass[0], &steps[0], &frame_ends[0],
                                       frame_ends.shape[0], &frames[0, 0, 0])
    if status != 0:
        raise MemoryError(f"limit kernel: no memory for {initial.shape[1]} bodies")


cdef int VARIANT_IDS[NBODY_VARIANTS]  # kernel()'s contexts: a pointer to each variant's index
for _v in range(NBODY_VARIANTS):
    VARIANT_IDS[_v] = _v


cdef int kernel(const void *context, Py_ssize_t n, const double *pos, const double *vel,
                const double *mass, double *rate) noexcept nogil:
    return nbody_limit_derivatives((<const int *> context)[0], 1, n, pos, vel, mass, rate)


def kernel_capsule(int variant):
    """The one-thread derivative of `variant` for the checked call
    (kernels._boundary.Kernel)."""
    if not 0 <= variant < NBODY_VARIANTS:
        raise ValueError(f"no variant {variant}; there are {NBODY_VARIANTS}")
    capsule = PyCapsule_New(<void *> kernel, b"nbody_bench.kernel", NULL)
    PyCapsule_SetContext(capsule, &VARIANT_IDS[variant])
    return capsule
