"""The checked call's fast path (kernels/_boundary.pyx): it takes exactly what the kernels
read without a conversion, and its checks agree with check_state's value by value."""

import ctypes
import sys

import numpy as np
import pytest

import kernels
import kernels.registry
from kernels._boundary import Kernel, checked, finish, stage
from kernels.state import check_state

pos, vel, mass = kernels.initial_conditions(5, seed=3)
mass = mass + np.arange(5)

TINY = np.nextafter(0.0, 1.0)  # the smallest subnormal
# Values at the edges of the bit tests in kernels/checks.h.
EDGES = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    TINY,
    -TINY,
    np.finfo(float).tiny,
    -np.finfo(float).tiny,
    np.finfo(float).max,
    -np.finfo(float).max,
    np.inf,
    -np.inf,
    np.nan,
    -np.nan,
]


def put(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def places(value):
    return {
        "pos": (put(pos, (3, 1), value), vel, mass),
        "vel": (pos, put(vel, (0, 2), value), mass),
        "mass": (pos, vel, put(mass, 4, value)),
    }


@pytest.mark.parametrize("where", ["pos", "vel", "mass"])
@pytest.mark.parametrize("value", EDGES, ids=repr)
def test_stage_refuses_exactly_what_check_state_refuses(value, where):
    args = places(value)[where]
    try:
        check_state(*args)
        accepted = True
    except ValueError:
        accepted = False
    staged = stage(*args)
    assert (staged is not None) == accepted
    if accepted:
        state, owned_mass, rate = staged
        np.testing.assert_array_equal(state, np.stack(args[:2]))
        np.testing.assert_array_equal(owned_mass, args[2])
        assert np.signbit(owned_mass).tolist() == np.signbit(args[2]).tolist()
        assert rate.shape == state.shape == (2, 5, 3)
        for made in staged:
            assert made.dtype == np.float64
            assert made.flags.c_contiguous
            assert not any(np.shares_memory(made, a) for a in args)


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def test_stage_takes_float64_c_ordered_arrays_even_read_only():
    assert stage(pos, vel, mass) is not None
    assert stage(read_only(pos), read_only(vel), read_only(mass)) is not None


class Subclass(np.ndarray):
    pass


OTHERS = {
    "lists": (pos.tolist(), vel, mass),
    "float32": (pos.astype(np.float32), vel, mass),
    "ints": (pos, vel, np.arange(1, 6)),
    "fortran order": (np.asfortranarray(pos), vel, mass),
    "strided": (pos, np.repeat(vel, 2, axis=0)[::2], mass),
    "byte-swapped": (pos, vel, mass.astype(mass.dtype.newbyteorder("S"))),
    "subclass": (pos.view(Subclass), vel, mass),
    "pos (n, 2)": (pos[:, :2].copy(), vel[:, :2].copy(), mass),
    "vel (n - 1, 3)": (pos, vel[:4].copy(), mass),
    "mass (n - 1,)": (pos, vel, mass[:4].copy()),
    "mass (n, 1)": (pos, vel, mass[:, None].copy()),
    "no bodies": (np.empty((0, 3)), np.empty((0, 3)), np.empty(0)),
}


@pytest.mark.parametrize("kind", OTHERS, ids=str)
def test_stage_leaves_anything_else_to_check_state(kind):
    assert stage(*OTHERS[kind]) is None


def test_finish_returns_views_of_rate_or_none_when_not_finite():
    _, _, rate = stage(pos, vel, mass)
    rate[:] = 1.0
    dpdt, dvdt = finish(rate)
    assert np.shares_memory(dpdt, rate)
    assert np.shares_memory(dvdt, rate)
    assert dpdt.shape == dvdt.shape == (5, 3)
    rate[0, 0, 0] = np.nan  # the velocities are the caller's, already checked
    assert finish(rate) is not None
    for value in (np.nan, np.inf, -np.inf):
        rate[1, 4, 2] = value
        assert finish(rate) is None


def test_finish_refuses_an_array_stage_did_not_make():
    with pytest.raises(TypeError, match="rate array that stage made"):
        finish(np.ones((2, 5, 3), dtype=np.float32))


def test_checked_call_returns_new_arrays_and_no_reference_to_the_input(backend):
    args = (pos, vel, mass)
    counts = [sys.getrefcount(a) for a in args]
    dpdt, dvdt = kernels.get(backend).derivatives(*args)
    assert [sys.getrefcount(a) for a in args] == counts
    np.testing.assert_array_equal(dpdt, vel)
    assert not any(np.shares_memory(out, a) for out in (dpdt, dvdt) for a in args)


@pytest.mark.parametrize("n", [1, 20, 100, 700])
@pytest.mark.parametrize("backend", sorted(kernels.registry.C_KERNEL), indirect=True)
def test_checked_call_gives_the_unchecked_kernels_numbers(backend, n):
    """A backend with a C kernel (Backend.kernel) runs it from the boundary: the same
    arithmetic as its `derivatives_into`, bit for bit, on either side of the GIL switch."""
    chosen = kernels.get(backend)
    state_pos, state_vel, state_mass = kernels.initial_conditions(n, seed=n)
    state = np.stack((state_pos, state_vel))
    rate = np.empty_like(state)
    chosen.derivatives_into(state, state_mass, rate)
    dpdt, dvdt = chosen.derivatives(state_pos, state_vel, state_mass)
    np.testing.assert_array_equal(dpdt, rate[0])
    np.testing.assert_array_equal(dvdt, rate[1])


def test_every_compiled_backend_has_a_c_kernel(backend):
    """The compiled serial backends take the checked call's fastest path, and the registry's
    C_KERNEL says which they are without importing them."""
    with_kernel = {"c-reference", "simd", "cython", "fortran", "numba"}
    assert (kernels.get(backend).kernel is not None) == (backend in with_kernel)
    assert kernels.registry.C_KERNEL == with_kernel


KERNEL_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_ssize_t,
    *[ctypes.POINTER(ctypes.c_double)] * 4,
)


def python_kernel(body):
    """A Kernel calling body(n, pos, vel, mass, rate) (numpy views) through ctypes."""

    def call(context, n, pos, vel, mass, rate):
        def view(pointer, *shape):
            return np.ctypeslib.as_array(pointer, shape)

        return body(n, view(pos, n, 3), view(vel, n, 3), view(mass, n), view(rate, 2, n, 3))

    function = KERNEL_TYPE(call)
    return Kernel.at(ctypes.cast(function, ctypes.c_void_p).value, function)


def test_checked_runs_the_kernel_on_the_callers_arrays_and_checks_its_result():
    seen = {}

    def doubled_positions(n, pos_seen, vel_seen, mass_seen, rate):
        seen.update(pos=pos_seen.ctypes.data, vel=vel_seen.ctypes.data)
        rate[0] = vel_seen
        rate[1] = 2 * pos_seen * mass_seen[:, None]
        return 0

    dpdt, dvdt = checked(python_kernel(doubled_positions), pos, vel, mass)
    assert seen == {"pos": pos.ctypes.data, "vel": vel.ctypes.data}  # read in place
    np.testing.assert_array_equal(dpdt, vel)
    np.testing.assert_array_equal(dvdt, 2 * pos * mass[:, None])

    def infinite(n, pos, vel, mass, rate):
        rate[:] = np.inf
        return 0

    assert checked(python_kernel(infinite), pos, vel, mass) is None
    assert checked(python_kernel(infinite), pos.tolist(), vel, mass) is None  # slow path's
    assert checked(python_kernel(doubled_positions), pos, put(vel, (1, 1), np.nan), mass) is None


def test_checked_says_when_the_kernel_ran_out_of_memory():
    with pytest.raises(MemoryError, match="no memory for the derivative of 5 bodies"):
        checked(python_kernel(lambda *args: -1), pos, vel, mass)


def test_kernel_refuses_a_capsule_of_another_kind_and_address_zero():
    from kernels.c._reference import KERNEL_CAPSULE

    assert Kernel(KERNEL_CAPSULE).owner is KERNEL_CAPSULE
    other = ctypes.pythonapi.PyCapsule_New
    other.restype, other.argtypes = (
        ctypes.py_object,
        [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p],
    )
    with pytest.raises(ValueError, match="name"):
        Kernel(other(1, b"another.kind", None))
    with pytest.raises(ValueError, match="cannot be 0"):
        Kernel.at(0, None)
