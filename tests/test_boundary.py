"""The checked call's fast path (kernels/_boundary.pyx): it takes exactly what the kernels
read without a conversion, and its checks agree with check_state's value by value."""

import sys

import numpy as np
import pytest

import kernels
from kernels._boundary import finish, stage
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
