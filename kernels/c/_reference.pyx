# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin wrapper of the C reference kernel in nbody.c."""

from cpython.pycapsule cimport PyCapsule_New

cdef extern from "nbody.h":
    int nbody_derivatives(Py_ssize_t n, const double *pos, const double *vel, const double *mass,
                          double *rate) nogil
    int nbody_integrate(Py_ssize_t n, const double *initial, const double *mass,
                        const double *steps, const Py_ssize_t *frame_ends, Py_ssize_t nframes,
                        double *frames) nogil


def derivatives(const double[:, :, ::1] state, const double[::1] mass, double[:, :, ::1] rate):
    cdef int status
    with nogil:
        status = nbody_derivatives(state.shape[1], &state[0, 0, 0], &state[1, 0, 0], &mass[0],
                                   &rate[0, 0, 0])
    if status != 0:
        raise MemoryError(f"nbody_derivatives: no memory for {state.shape[1]} bodies")


def integrate(const double[:, :, ::1] initial, const double[::1] mass, const double[::1] steps,
              const Py_ssize_t[::1] frame_ends, double[:, :, ::1] frames):
    """The whole midpoint-RK2 run in C: frame k is recorded after step frame_ends[k] - 1."""
    cdef int status
    with nogil:
        status = nbody_integrate(initial.shape[1], &initial[0, 0, 0], &mass[0], &steps[0],
                                 &frame_ends[0], frame_ends.shape[0], &frames[0, 0, 0])
    if status != 0:
        raise MemoryError(f"nbody_integrate: no memory for {initial.shape[1]} bodies")


cdef int kernel(const void *context, Py_ssize_t n, const double *pos, const double *vel,
                const double *mass, double *rate) noexcept nogil:
    return nbody_derivatives(n, pos, vel, mass, rate)


# The derivative for the checked call (kernels._boundary.Kernel).
KERNEL_CAPSULE = PyCapsule_New(<void *> kernel, b"nbody_bench.kernel", NULL)
