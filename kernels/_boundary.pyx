# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The checked call's fast path: the input checks fused into the one copy every call makes.

`Backend.derivatives` is the boundary a user's own loop crosses on every call (the
lecture's driver calls it 2000 times for 20 bodies), so at N = 20 its checks must cost
about as little as the kernel's own argument handling. The common case, float64
C-ordered arrays of the right shapes, is checked in one vectorized pass over the input
(every value finite, no mass negative), which leaves it in the cache for the kernel.
Anything else (another dtype, order or shape, a list, a value the checks refuse) gets
None, and the caller's slow path, `state.check_state`, names the fault or converts the
input.

The check that two bodies sit at the same position is not made here: it would cost a
sort, and the kernel's result already makes it, since such a pair gives 0/0 = nan.
`finish` checks the accelerations, and only when they are not finite does the caller
look for the cause.

A backend whose derivative is a C function (a `Kernel`) is called from here too, by
`checked`: checks, kernel and result check in one call from Python, the kernel reading
the caller's arrays in place, with nothing made but the result. Other backends take
`stage`'s private copies into the (2, n, 3) state their `derivatives_into` reads, then
`finish` (docs/backends.md, "The checked call").

The loops are in checks.h.
"""

cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetContext, PyCapsule_GetPointer


from libc.string cimport memcpy


cdef extern from "checks.h" nogil:
    bint all_finite "nbody_all_finite"(const double *values, Py_ssize_t count)
    bint valid_masses "nbody_valid_masses"(const double *masses, Py_ssize_t count)

cnp.import_array()

# A backend's derivative as a C function: rate (2, n, 3) = (velocities, accelerations) for
# positions pos and velocities vel (n, 3) and masses (n,), float64 C-ordered; returns 0,
# or -1 when out of memory. `context` is the backend's own (the limit kernel's variant).
ctypedef int (*kernel_function)(const void *context, Py_ssize_t n, const double *pos,
                                const double *vel, const double *mass,
                                double *rate) noexcept nogil

CAPSULE_NAME = "nbody_bench.kernel"  # the name a backend's capsule of a kernel_function has
# From this many bodies the GIL is released around the checks and the kernel, so other
# threads run meanwhile; below it, releasing and taking it back costs more than the pairs.
cdef Py_ssize_t GIL_FREE_FROM = 64


cdef class Kernel:
    """A backend's derivative as a C function, for `checked`.

    Made from a capsule named CAPSULE_NAME (a compiled extension's; its context, if any,
    is passed to every call) or, with `Kernel.at`, from a function's address (Numba's
    cfunc, a Fortran bind(C) function found through ctypes) and the object that keeps it
    alive.
    """

    cdef kernel_function function
    cdef const void *context
    cdef readonly object owner

    def __init__(self, capsule):
        self.function = <kernel_function> PyCapsule_GetPointer(capsule, b"nbody_bench.kernel")
        self.context = PyCapsule_GetContext(capsule)
        self.owner = capsule

    @staticmethod
    def at(size_t address, owner, size_t context=0):
        """The kernel_function at `address`, which `owner` keeps alive, called with the
        address `context` (0: NULL), which `owner` keeps alive too."""
        if address == 0:
            raise ValueError("a kernel's address cannot be 0")
        cdef Kernel kernel = Kernel.__new__(Kernel)
        kernel.function = <kernel_function> address
        kernel.context = <const void *> context
        kernel.owner = owner
        return kernel


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


cdef inline const double *data(cnp.ndarray a) noexcept nogil:
    return <const double *> cnp.PyArray_DATA(a)


cdef Py_ssize_t bodies(pos, vel, mass):
    """n if pos, vel and mass are plain (n, 3), (n, 3) and (n,) arrays with n >= 1, else 0."""
    if not (is_plain(pos, 2) and is_plain(vel, 2) and is_plain(mass, 1)):
        return 0
    cdef cnp.npy_intp *shape = cnp.PyArray_DIMS(<cnp.ndarray> pos)
    cdef cnp.npy_intp n = shape[0]
    if (
        shape[1] != 3
        or cnp.PyArray_DIMS(<cnp.ndarray> vel)[0] != n
        or cnp.PyArray_DIMS(<cnp.ndarray> vel)[1] != 3
        or cnp.PyArray_DIMS(<cnp.ndarray> mass)[0] != n
    ):
        return 0
    return n


cdef inline bint valid(const double *pos, const double *vel, const double *mass,
                       Py_ssize_t n) noexcept nogil:
    """Whether every position and velocity is finite and every mass finite and >= 0."""
    return all_finite(pos, 3 * n) & all_finite(vel, 3 * n) & valid_masses(mass, n)


cdef cnp.ndarray new_rate(Py_ssize_t n):
    cdef cnp.npy_intp dims[3]
    dims[0], dims[1], dims[2] = 2, n, 3
    return cnp.PyArray_EMPTY(3, dims, cnp.NPY_DOUBLE, 0)


def stage(pos, vel, mass):
    """(state, mass, rate) for the kernel, new arrays, or None if the slow path must decide.

    state (2, n, 3) holds copies of pos and vel, mass a copy of mass, and rate (2, n, 3)
    is uninitialized, for the kernel to fill. None when the input is not float64 C-ordered
    arrays of shapes (n, 3), (n, 3), (n,) with n >= 1, or holds a non-finite value or a
    negative mass: `state.check_state` then says which.
    """
    cdef cnp.npy_intp n = bodies(pos, vel, mass)
    if n == 0 or not valid(data(pos), data(vel), data(mass), n):
        return None
    cdef cnp.ndarray state = new_rate(n)
    cdef cnp.ndarray masses = cnp.PyArray_EMPTY(1, &n, cnp.NPY_DOUBLE, 0)
    cdef double *target = <double *> cnp.PyArray_DATA(state)
    memcpy(target, data(pos), 3 * n * sizeof(double))
    memcpy(target + 3 * n, data(vel), 3 * n * sizeof(double))
    memcpy(cnp.PyArray_DATA(masses), data(mass), n * sizeof(double))
    return state, masses, new_rate(n)


cdef object views_if_finite(cnp.ndarray rate):
    """(rate[0], rate[1]), or None if an acceleration (in rate[1]) is not finite."""
    cdef Py_ssize_t half = cnp.PyArray_SIZE(rate) // 2
    cdef const double *acc = data(rate) + half
    cdef bint finite
    with nogil:
        finite = all_finite(acc, half)
    if not finite:
        return None
    return rate[0], rate[1]


def finish(rate):
    """(rate[0], rate[1]), the velocities and accelerations a kernel wrote into a rate from
    `stage`, or None if an acceleration is not finite."""
    if not is_plain(rate, 3):
        raise TypeError("finish takes the rate array that stage made")
    return views_if_finite(rate)


def checked(Kernel kernel not None, pos, vel, mass):
    """(dpdt, dvdt) from `kernel`, or None where `stage` or `finish` would give None: the
    input needs the slow path, or the result is not finite and its cause must be found.

    The kernel reads the caller's arrays where they are, after the same checks as `stage`.
    """
    cdef Py_ssize_t n = bodies(pos, vel, mass)
    if n == 0:
        return None
    cdef const double *p = data(pos)
    cdef const double *v = data(vel)
    cdef const double *m = data(mass)
    cdef cnp.ndarray rate = new_rate(n)
    cdef double *out = <double *> cnp.PyArray_DATA(rate)
    cdef bint ok
    cdef int status = 0
    if n >= GIL_FREE_FROM:
        with nogil:
            ok = valid(p, v, m, n)
            if ok:
                status = kernel.function(kernel.context, n, p, v, m, out)
    else:
        ok = valid(p, v, m, n)
        if ok:
            status = kernel.function(kernel.context, n, p, v, m, out)
    if not ok:
        return None
    if status != 0:
        raise MemoryError(f"no memory for the derivative of {n} bodies")
    return views_if_finite(rate)
