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

A backend whose derivative is a C function (a `Kernel`) is called from here too, by
`checked`: stage, kernel and finish in one call from Python, with no Python object
made for the kernel's arguments. At N = 20 that is what a call costs beyond the pair
loop itself (README, "The checked call").

The loops are in checks.h.
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc
from cpython.pycapsule cimport PyCapsule_GetContext, PyCapsule_GetPointer


cdef extern from "checks.h" nogil:
    bint copy_finite "nbody_copy_finite"(const double *source, double *target, Py_ssize_t count)
    bint copy_masses "nbody_copy_masses"(const double *source, double *target, Py_ssize_t count)
    bint all_finite "nbody_all_finite"(const double *values, Py_ssize_t count)

cnp.import_array()

# A backend's derivative as a C function: rate[0] = velocities, rate[1] = accelerations
# for state (positions, velocities), both (2, n, 3) float64 C-ordered, mass (n,); returns
# 0, or -1 when out of memory. `context` is the backend's own (the limit kernel's variant).
ctypedef int (*kernel_function)(const void *context, Py_ssize_t n, const double *state,
                                const double *mass, double *rate) noexcept nogil

CAPSULE_NAME = "nbody_bench.kernel"  # the name a backend's capsule of a kernel_function has
# From this many bodies the GIL is released around the kernel, so other threads run
# meanwhile; below it, releasing and taking it back would cost more than the pairs.
cdef Py_ssize_t GIL_FREE_FROM = 64
# Up to this many bodies `checked` stages the input on the C stack (7 doubles a body,
# 14 KiB), not in memory of its own.
cdef enum:
    STACK_BODIES = 256


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
    def at(size_t address, owner):
        """The kernel_function at `address`, which `owner` keeps alive."""
        if address == 0:
            raise ValueError("a kernel's address cannot be 0")
        cdef Kernel kernel = Kernel.__new__(Kernel)
        kernel.function = <kernel_function> address
        kernel.context = NULL
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


cdef bint copy_checked(pos, vel, mass, Py_ssize_t n, double *state, double *masses):
    """state (2, n, 3) = (pos, vel), masses = mass; whether every value passed the checks."""
    cdef const double *p = data(pos)
    cdef const double *v = data(vel)
    cdef const double *m = data(mass)
    with nogil:
        return (
            copy_finite(p, state, 3 * n)
            & copy_finite(v, state + 3 * n, 3 * n)
            & copy_masses(m, masses, n)
        )


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
    if n == 0:
        return None
    cdef cnp.ndarray state = new_rate(n)
    cdef cnp.ndarray masses = cnp.PyArray_EMPTY(1, &n, cnp.NPY_DOUBLE, 0)
    if not copy_checked(
        pos, vel, mass, n, <double *> cnp.PyArray_DATA(state), <double *> cnp.PyArray_DATA(masses)
    ):
        return None
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

    The same checks as `stage`, into a buffer of its own: the kernel needs no arrays.
    """
    cdef Py_ssize_t n = bodies(pos, vel, mass)
    if n == 0:
        return None
    cdef double on_stack[7 * STACK_BODIES]
    cdef double *staged = on_stack
    if n > STACK_BODIES:
        staged = <double *> PyMem_RawMalloc(7 * n * sizeof(double))
        if staged == NULL:
            raise MemoryError(f"no memory to check the input of {n} bodies")
    cdef cnp.ndarray rate
    cdef double *out
    cdef int status = 0
    try:
        if not copy_checked(pos, vel, mass, n, staged, staged + 6 * n):
            return None
        rate = new_rate(n)
        out = <double *> cnp.PyArray_DATA(rate)
        if n >= GIL_FREE_FROM:
            with nogil:
                status = kernel.function(kernel.context, n, staged, staged + 6 * n, out)
        else:
            status = kernel.function(kernel.context, n, staged, staged + 6 * n, out)
    finally:
        if staged != on_stack:
            PyMem_RawFree(staged)
    if status != 0:
        raise MemoryError(f"no memory for the derivative of {n} bodies")
    return views_if_finite(rate)
