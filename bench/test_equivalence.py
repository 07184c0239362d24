"""Every backend's derivative against a higher-precision reference, before anything is timed."""

import numpy as np
import pytest

import kernels
from kernels.numpy import accelerations

# Per-pair Python work, where N = 1000 takes seconds a call: test_derivative.py times, and
# so checks, these two there.
SLOW = {"python", "multiprocessing"}
SIZES = [1, 2, 3, 20, 100, 1000]
CASES = [(b, n) for b in kernels.names() for n in SIZES if n < 1000 or b not in SLOW]


@pytest.mark.parametrize(("backend", "n"), CASES, indirect=["backend"])
def test_derivatives_match_reference(backend, n, state_of, accelerations_match):
    pos, vel, mass = state_of(n)
    dpdt, dvdt = kernels.get(backend).derivatives(pos, vel, mass)
    accelerations_match(dvdt, n)
    np.testing.assert_array_equal(dpdt, vel)


def test_tolerance_rejects_a_slightly_wrong_kernel(state_of, accelerations_match):
    """The float64 bound is tight enough to catch a force off by one part in 1e12."""
    pos, _, mass = state_of(100)
    nearly = accelerations(pos, mass) * (1 + 1e-12)
    with pytest.raises(AssertionError, match="times the float64 bound"):
        accelerations_match(nearly, 100)
