"""The numba backend's two pair loops, and the switch between them set per vector level."""

import os
import subprocess
import sys

import numpy as np
import pytest

import kernels

numba_kernels = pytest.importorskip("kernels.numba", exc_type=kernels.BackendUnavailable)


def bodies(n):
    pos, _, _ = kernels.initial_conditions(n, seed=n)
    return pos, np.random.default_rng(n).uniform(0.5, 2.0, n)


@pytest.mark.parametrize("loop", ["all_pairs", "half_pairs"])
@pytest.mark.parametrize("n", [1, 2, 3, 9, 23, 24, 25, 79, 80, 81, 300])
def test_both_loops_match_the_direct_sum(loop, n, assert_direct_sum):
    """Either loop at any N, whichever one `pair_accelerations` would pick there; the
    positions array may carry more rows than x, y, z (the whole run passes six)."""
    pos, mass = bodies(n)
    p = np.vstack((pos.T, np.full((3, n), np.nan)))
    a = np.full((3, n), np.nan)
    getattr(numba_kernels, loop)(p, mass, a)
    assert_direct_sum(a.T, pos, mass)


@pytest.mark.parametrize("n", [1, 20, 100])
def test_derivatives_copy_in_and_out(n, assert_direct_sum):
    pos, mass = bodies(n)
    vel = np.random.default_rng(0).standard_normal((n, 3))
    state = np.stack((pos, vel))
    before = state.copy()
    rate = np.full_like(state, np.nan)
    numba_kernels.derivatives(state, mass, rate)
    np.testing.assert_array_equal(state, before)
    np.testing.assert_array_equal(rate[0], vel)
    assert_direct_sum(rate[1], pos, mass)


@pytest.mark.parametrize(
    ("env", "level"),
    [
        ({"NUMBA_CPU_NAME": "generic"}, "sse2"),
        ({"NUMBA_CPU_NAME": "sandybridge", "NUMBA_CPU_FEATURES": "+sse2,+avx"}, "sse2"),
        ({"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+sse2,+avx,+avx2,+fma"}, "avx2"),
        ({"NUMBA_CPU_NAME": "skylake-avx512", "NUMBA_CPU_FEATURES": "+avx2,+avx512f"}, "avx512"),
    ],
)
def test_the_switch_follows_the_vectors_numba_compiles_for(env, level):
    """SMALL comes from the features Numba generates code for, not from this CPU's: the
    portable build (NUMBA_CPU_NAME=generic) gets SSE2's loop choice on any machine."""
    code = "import kernels.numba as k; print(k.vector_level(), k.SMALL)"
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    got_level, small = run.stdout.split()
    assert got_level == level
    assert int(small) == numba_kernels.SMALL_BY_LEVEL[level]
