"""One derivative call across body counts: where each backend stands as N grows.

What is timed is the backend's unchecked `derivatives_into`, the function `run_rk2` calls
in its hot loop; input validation happens once per public call and is not part of it.
"""

import numpy as np
import pytest

import kernels

SIZES = [20, 100, 1000, 4000, 10000]

# The largest N each backend is timed at, and why not beyond (shown as the skip reason).
LARGEST = {
    "python": (1000, "one np.linalg.norm per pair: about 3 s a call at N = 1000, 50 s at N = 4000"),
    "multiprocessing": (
        1000,
        "the baseline's Python loop plus pos pickled per body: minutes at N = 4000",
    ),
    "numpy": (4000, "O(N^2) temporaries: over 7 GB and about 10 s a call at N = 10000"),
}


# The smallest N the parallel variants are timed at. Below it a call is a few microseconds
# of work handed between threads or processes, and its time measures how soon the other
# core of a shared 2-vCPU machine answers: a second run of an unchanged tree differed by
# up to 97% there, while N >= 1000 repeats within a few percent.
SMALLEST = {
    "numba-parallel": (1000, "below N = 1000 the thread hand-off, not the kernel, sets the time"),
    "multiprocessing-shared": (1000, "below N = 1000 the inter-process hand-off sets the time"),
}


@pytest.mark.parametrize("n", SIZES)
def test_derivative(timed, backend, n, state_of, accelerations_match):
    largest, why = LARGEST.get(backend, (max(SIZES), ""))
    if n > largest:
        pytest.skip(f"{backend} at N = {n}: {why}")
    smallest, why = SMALLEST.get(backend, (0, ""))
    if n < smallest:
        pytest.skip(f"{backend} at N = {n}: {why}")
    pos, vel, mass = state_of(n)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    derivatives_into = kernels.get(backend).derivatives_into

    # Untimed first: checks the answer, compiles (Numba), starts pools (multiprocessing).
    derivatives_into(state, mass, rate)
    accelerations_match(rate[1], n)
    np.testing.assert_array_equal(rate[0], vel)

    rate[:] = np.nan
    label = {
        "workload": f"derivative-n{n}",
        "kind": "derivative",
        "backend": backend,
        "n": n,
        "calls": 1,
    }
    timed(**label)(derivatives_into, state, mass, rate)
    accelerations_match(rate[1], n)
