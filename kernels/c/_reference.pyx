# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin wrapper of the C reference kernel in nbody.c."""

cdef extern from "nbody.h":
    int nbody_derivatives(Py_ssize_t n, const double *state, const double *mass, double *rate) nogil


def derivatives(const double[:, :, ::1] state, const double[::1] mass, double[:, :, ::1] rate):
    cdef int status
    with nogil:
        status = nbody_derivatives(state.shape[1], &state[0, 0, 0], &mass[0], &rate[0, 0, 0])
    if status != 0:
        raise MemoryError(f"nbody_derivatives: no memory for {state.shape[1]} bodies")
