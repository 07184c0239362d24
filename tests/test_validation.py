"""Bad input: a clear ValueError each time, and the caller's arrays left as they were."""

import numpy as np
import pytest

import kernels

TIMES = {"tend": 0.02, "tframe": 0.01, "dt": 0.005}


def good_state(n=4):
    return kernels.initial_conditions(n, seed=1)


def with_value(array, index, value):
    array = array.copy()
    array[index] = value
    return array


pos, vel, mass = good_state()
BAD_STATES = {
    "pos not (n, 3)": ((pos[:, :2], vel, mass), r"pos must have shape \(n, 3\)"),
    "pos 1-d": ((pos.ravel(), vel, mass), r"pos must have shape \(n, 3\)"),
    "no bodies": ((np.empty((0, 3)), np.empty((0, 3)), np.empty(0)), r"n >= 1"),
    "vel shape": ((pos, vel[:3], mass), r"vel must have the same shape as pos \(4, 3\)"),
    "mass shape": ((pos, vel, mass[:3]), r"mass must have shape \(4,\)"),
    "mass 2-d": ((pos, vel, mass[:, None]), r"mass must have shape \(4,\)"),
    "nan pos": ((with_value(pos, (2, 1), np.nan), vel, mass), r"pos must be finite.*pos\[2, 1\]"),
    "inf vel": ((pos, with_value(vel, (0, 2), np.inf), mass), r"vel must be finite.*vel\[0, 2\]"),
    "nan mass": ((pos, vel, with_value(mass, 3, np.nan)), r"mass must be finite.*mass\[3\]"),
    "negative mass": ((pos, vel, with_value(mass, 1, -2.0)), r"mass\[1\] = -2"),
    "same position": (
        (with_value(pos, 3, pos[1]), vel, mass),
        r"bodies 1 and 3 are at the same position",
    ),
    "complex": ((pos + 0j, vel, mass), r"pos must hold real numbers, but pos\[0, 0\] = .*complex"),
    "strings": ((pos, vel, ["a"] * 4), r"mass must hold real numbers, but mass\[0\] = 'a' \(str\)"),
    "a string among numbers": (
        (pos, vel, [1.0, 2.0, "3", 4.0]),
        r"mass must hold real numbers, but mass\[2\] = '3' \(str\)",
    ),
    "a complex number among reals": (
        (with_value(pos.astype(object), (1, 2), 1j), vel, mass),
        r"pos must hold real numbers, but pos\[1, 2\] = 1j \(complex\)",
    ),
    "None": (
        (pos, with_value(vel.astype(object), (3, 0), None), mass),
        r"vel must hold real numbers, but vel\[3, 0\] = None",
    ),
    "booleans": ((pos, vel, [True] * 4), r"mass must hold real numbers, but mass\[0\] = True"),
    "ragged": (
        ([[0, 0, 0], [1, 1]], vel, mass),
        r"pos must be a rectangular array-like of real numbers, but its nesting is ragged",
    ),
    "a sequence in place of a number": (
        (pos, vel, np.array([1.0, 2.0, [3.0], 4.0], dtype=object)),
        r"mass must hold real numbers, but mass\[2\] = \[3.0\] \(list\)",
    ),
}


def snapshot(args):
    return [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]


def assert_untouched(args, before):
    for a, b in zip(args, before, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", BAD_STATES, ids=str)
def test_derivatives_rejects_bad_state(case):
    args, message = BAD_STATES[case]
    before = snapshot(args)
    with pytest.raises(ValueError, match=message):
        kernels.get("numpy").derivatives(*args)
    assert_untouched(args, before)


@pytest.mark.parametrize("case", BAD_STATES, ids=str)
def test_run_rk2_rejects_bad_state(case):
    args, message = BAD_STATES[case]
    with pytest.raises(ValueError, match=message):
        kernels.run_rk2(*args, **TIMES, backend="numpy")


@pytest.mark.parametrize("name", ["tend", "tframe", "dt"])
@pytest.mark.parametrize("value", [0, -0.01, np.nan, np.inf, "0.01", None, True])
def test_run_rk2_rejects_bad_times(name, value):
    times = dict(TIMES, **{name: value})
    with pytest.raises(ValueError, match=name):
        kernels.run_rk2(*good_state(), **times, backend="numpy")


def test_run_rk2_rejects_run_shorter_than_a_frame():
    with pytest.raises(ValueError, match="no frame to record"):
        kernels.run_rk2(*good_state(), tend=0.004, tframe=0.01, dt=0.001, backend="numpy")


def test_run_rk2_rejects_unknown_backend():
    with pytest.raises(kernels.UnknownBackend):
        kernels.run_rk2(*good_state(), **TIMES, backend="fastest")


def test_valid_calls_leave_caller_arrays_untouched(backend):
    args = good_state()
    before = snapshot(args)
    dpdt, _ = kernels.get(backend).derivatives(*args)
    kernels.run_rk2(*args, **TIMES, backend=backend)
    assert_untouched(args, before)
    assert not np.shares_memory(dpdt, args[1])


def head_on_collision():
    """Two massless bodies meeting exactly at x = 0.5, t = 1 (every step is exact in binary)."""
    pos = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    vel = np.array([[0.5, 0.0, 0.0], [-0.5, 0.0, 0.0]])
    return pos, vel, np.zeros(2)


def test_collision_during_run_names_bodies_and_time(backend):
    with pytest.raises(FloatingPointError, match=r"bodies 0 and 1 collided at t = 1\b"):
        kernels.run_rk2(*head_on_collision(), tend=2.0, tframe=0.5, dt=0.25, backend=backend)


@pytest.mark.parametrize("backend", ["numba", "cython", "fortran"], indirect=True)
def test_collision_in_whole_run_names_bodies_and_time(backend):
    name = backend
    with pytest.raises(FloatingPointError, match=r"bodies 0 and 1 collided at t = 1\b"):
        kernels.run_rk2(
            *head_on_collision(), tend=2.0, tframe=0.5, dt=0.25, backend=name, whole_run=True
        )


@pytest.mark.parametrize("case", BAD_STATES, ids=str)
def test_every_backend_rejects_bad_state(backend, case):
    """The checked call's fast path (checks fused into the copy for the kernel, coincident
    bodies found from the result) refuses what check_state refuses, in every backend."""
    args, message = BAD_STATES[case]
    before = snapshot(args)
    with pytest.raises(ValueError, match=message):
        kernels.get(backend).derivatives(*args)
    assert_untouched(args, before)


def test_bodies_too_close_for_float64_are_named(backend):
    """Two bodies 1e-200 apart are not at one position, but their |r|^3 underflows to
    zero: the call names them and their distance rather than returning inf."""
    pos = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [1e-200, 0.0, 0.0]])
    vel, mass = np.zeros((3, 3)), np.ones(3)
    with pytest.raises(FloatingPointError, match=r"bodies 0 and 2 are only 1e-200 apart"):
        kernels.get(backend).derivatives(pos, vel, mass)


@pytest.mark.parametrize("n", [5, 90, 300])
def test_coincident_bodies_named_by_every_loop(backend, n):
    """The checked call finds two bodies at one position from the kernel's non-finite
    result, so each loop must give one: all-pairs and third-law loops, SIMD widths and
    remainders (the limit kernel's vectors take 4 or 8 bodies; numba's two loops, switched
    where timed on each machine, each at these sizes in tests/test_numba.py)."""
    pos, vel, mass = kernels.initial_conditions(n, seed=n)
    i, j = n // 3, n - 2
    pos[j] = pos[i]
    mass[i] = mass[j] = 0.0  # 0 * inf: the pair's own terms are nan, not inf
    with pytest.raises(ValueError, match=rf"bodies {i} and {j} are at the same position"):
        kernels.get(backend).derivatives(pos, vel, mass)
