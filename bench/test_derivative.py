"""One derivative call across body counts: where each backend stands as N grows.

What is timed is the backend's unchecked kernel, the function `run_rk2` calls in its hot
loop; input validation happens once per public call and is not part of it.
"""

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


@pytest.mark.parametrize("n", SIZES)
def test_derivative(timed, backend, n, state_of, accelerations_match):
    largest, why = LARGEST.get(backend, (max(SIZES), ""))
    if n > largest:
        pytest.skip(f"{backend} at N = {n}: {why}")
    pos, _, mass = state_of(n)
    accelerations = kernels.get(backend).accelerations
    accelerations_match(accelerations(pos, mass), n)  # untimed: checks, compiles, starts pools

    label = {
        "workload": f"derivative-n{n}",
        "kind": "derivative",
        "backend": backend,
        "n": n,
        "calls": 1,
    }
    acc = timed(**label)(accelerations, pos, mass)
    accelerations_match(acc, n)
