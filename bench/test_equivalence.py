"""Every backend's derivative against a higher-precision reference, before anything is timed."""

import numpy as np
import pytest

import kernels

SLOW = {"python", "multiprocessing"}  # per-pair Python work: N = 1000 would take minutes


def state(n):
    """Seeded bodies with unequal masses, so a kernel that mixes up m_i and m_j fails."""
    pos, vel, _ = kernels.initial_conditions(n, seed=n)
    mass = np.random.default_rng(n).uniform(0.5, 2.0, n)
    return pos, vel, mass


@pytest.mark.parametrize("n", [1, 2, 3, 20, 100, 1000])
def test_derivatives_match_reference(backend, n, reference):
    if n >= 1000 and backend in SLOW:
        pytest.skip(f"{backend} is too slow for N = {n} in the test suite")
    pos, vel, mass = state(n)
    dpdt, dvdt = kernels.get(backend).derivatives(pos, vel, mass)

    exact, magnitude = reference(pos, mass)
    # Bound on the float64 error: each pair term m_j d / |d|^3 carries about ten
    # roundings (d, |d|^2, sqrt, the product and the quotient), and adding n - 1 terms in
    # any order adds at most (n - 2) more, each relative to the magnitudes summed, hence
    # (n + 10) eps * sum |terms| per component. Independent of the order of summation,
    # so it holds for any correct kernel, while a wrong term or mass breaks it by far.
    tolerance = (n + 10) * np.finfo(np.float64).eps * magnitude.astype(np.float64)
    error = np.abs(dvdt - exact.astype(np.float64))
    assert dvdt.dtype == np.float64
    assert dvdt.shape == (n, 3)
    assert np.all(error <= tolerance), f"max error / tolerance = {np.max(error / tolerance):.3g}"
    np.testing.assert_array_equal(dpdt, vel)


def test_tolerance_rejects_a_wrong_kernel(reference):
    """The tolerance above is tight enough to catch a kernel that is wrong by a little."""
    pos, _, mass = state(100)
    exact, magnitude = reference(pos, mass)
    tolerance = 110 * np.finfo(np.float64).eps * magnitude.astype(np.float64)
    nearly = kernels.get("numpy").accelerations(pos, mass) * (1 + 1e-12)
    assert np.any(np.abs(nearly - exact.astype(np.float64)) > tolerance)
