# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The checked call's fast path: the input checks fused into the one copy every call makes.

`Backend.derivatives` is the boundary a user's own loop crosses on every call (the
lecture's driver calls it 2000 times for 20 bodies), so at N = 20 its checks must cost
about as little as the kernel's own argument handling. `stage` takes the common case,
float64 C-ordered arrays of the right shapes, in one pass: it copies positions and
velocities into the (2, n, 3) state the kernels take and the masses into an array of
their own, checking on the way that every value is finite and no mass is negative, so
what was checked is exactly what the kernel reads. Anything else (another dtype, order
or shape, a list, a value the checks refuse) gets None, and the caller's slow path,
`state.check_state`, names the fault or converts the input.

The check that two bodies sit at the same position is not made here: it would cost a
sort, and the kernel's result already makes it, since such a pair gives 0/0 = nan.
`finish` checks the accelerations, and only when they are not finite does the caller
look for the cause.

The loops are in checks.h.
"""

cimport numpy as cnp


cdef extern from "checks.h" nogil:
    bint copy_finite "nbody_copy_finite"(const double *source, double *target, Py_ssize_t count)
    bint copy_masses "nbody_copy_masses"(const double *source, double *target, Py_ssize_t count)
    bint all_finite "nbody_all_finite"(const double *values, Py_ssize_t count)

cnp.import_array()


cdef inline bint is_plain(object a, int ndim):
    """A float64 ndarray (not a subclass) of `ndim` dimensions, C-ordered, aligned and in
    this machine's byte order: what the kernels read without a conversion."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray array = <cnp.ndarray> a
    return (
        cnp.PyArray_NDIM(array) == ndim
        and cnp.PyArray_TYPE(array) == cnp.NPY_DOUBLE
        and cnp.PyArray_ISCARRAY_RO(array)
        and cnp.PyArray_ISNOTSWAPPED(array)
    )


def stage(pos, vel, mass):
    """(state, mass, rate) for the kernel, new arrays, or None if the slow path must decide.

    state (2, n, 3) holds copies of pos and vel, mass a copy of mass, and rate (2, n, 3)
    is uninitialized, for the kernel to fill. None when the input is not float64 C-ordered
    arrays of shapes (n, 3), (n, 3), (n,) with n >= 1, or holds a non-finite value or a
    negative mass: `state.check_state` then says which.
    """
    if not (is_plain(pos, 2) and is_plain(vel, 2) and is_plain(mass, 1)):
        return None
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(<cnp.ndarray> pos)
    cdef cnp.npy_intp n = shape[0]
    if (
        n < 1
        or shape[1] != 3
        or cnp.PyArray_DIMS(<cnp.ndarray> vel)[0] != n
        or cnp.PyArray_DIMS(<cnp.ndarray> vel)[1] != 3
        or cnp.PyArray_DIMS(<cnp.ndarray> mass)[0] != n
    ):
        return None
    cdef cnp.npy_intp dims[3]
    dims[0], dims[1], dims[2] = 2, n, 3
    cdef cnp.ndarray state = cnp.PyArray_EMPTY(3, dims, cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray rate = cnp.PyArray_EMPTY(3, dims, cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray masses = cnp.PyArray_EMPTY(1, &dims[1], cnp.NPY_DOUBLE, 0)
    cdef double *target = <double *> cnp.PyArray_DATA(state)
    cdef bint valid
    with nogil:
        valid = (
            copy_finite(<const double *> cnp.PyArray_DATA(<cnp.ndarray> pos), target, 3 * n)
            & copy_finite(<const double *> cnp.PyArray_DATA(<cnp.ndarray> vel), target + 3 * n, 3 * n)
            & copy_masses(
                <const double *> cnp.PyArray_DATA(<cnp.ndarray> mass),
                <double *> cnp.PyArray_DATA(masses),
                n,
            )
        )
    if not valid:
        return None
    return state, masses, rate


def finish(rate):
    """(rate[0], rate[1]), the velocities and accelerations a kernel wrote into a rate from
    `stage`, or None if an acceleration is not finite."""
    if not is_plain(rate, 3):
        raise TypeError("finish takes the rate array that stage made")
    cdef Py_ssize_t half = cnp.PyArray_SIZE(<cnp.ndarray> rate) // 2
    cdef const double *acc = <const double *> cnp.PyArray_DATA(<cnp.ndarray> rate) + half
    cdef bint finite
    with nogil:
        finite = all_finite(acc, half)
    if not finite:
        return None
    return rate[0], rate[1]
