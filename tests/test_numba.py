"""The numba backend's two pair loops, and the switch between them, timed once per machine."""

import json
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


SHOW_SWITCH = "import kernels.numba as k; print(k.vector_level(), k.SMALL)"


def show_switch(cache, **env):
    """The vector level and SMALL a fresh process gets, with its choices kept in `cache`."""
    run = subprocess.run(
        [sys.executable, "-c", SHOW_SWITCH],
        env={**os.environ, "NBODY_BENCH_CACHE_DIR": str(cache), **env},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    level, small = run.stdout.split()
    return level, int(small)


@pytest.mark.parametrize(
    "env",
    [
        {"NUMBA_CPU_NAME": "generic"},
        {"NUMBA_CPU_NAME": "sandybridge", "NUMBA_CPU_FEATURES": "+sse2,+avx"},
    ],
)
def test_below_avx2_half_pairs_runs_from_the_start_untimed(tmp_path, env):
    """With SSE2 only (the portable build, NUMBA_CPU_NAME=generic, on any machine), LLVM
    leaves all_pairs scalar: SMALL is 0, and nothing is timed or kept."""
    assert show_switch(tmp_path, **env) == ("sse2", 0)
    assert not (tmp_path / "numba-small.json").exists()


@pytest.mark.parametrize(
    ("env", "level"),
    [
        ({"NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "+sse2,+avx,+avx2,+fma"}, "avx2"),
        ({"NUMBA_CPU_NAME": "skylake-avx512", "NUMBA_CPU_FEATURES": "+avx2,+avx512f"}, "avx512"),
    ],
)
def test_the_switch_kept_is_the_one_for_the_code_numba_generates(tmp_path, env, level):
    """The switch is kept per target Numba compiles for, not per CPU alone: a planted
    choice under this target's key is taken (nothing is timed, so no AVX-512 code runs on
    a CPU without it), one under another target's is not."""
    target = f"{env['NUMBA_CPU_NAME']} {env['NUMBA_CPU_FEATURES']}"
    kept = {
        numba_kernels.small_key(target, level): 33,
        numba_kernels.small_key("another-cpu +sse2", level): 77,
    }
    (tmp_path / "numba-small.json").write_text(json.dumps(kept))
    assert show_switch(tmp_path, **env) == (level, 33)
    assert json.loads((tmp_path / "numba-small.json").read_text()) == kept


def test_the_switch_is_timed_once_per_machine(tmp_path):
    """The first process times the two loops and keeps its switch; a later one reads it
    back, so every process here runs the same loop at each N."""
    if numba_kernels.vector_level() == "sse2":
        pytest.skip("Numba compiles for SSE2 only here: the switch is 0, untimed")
    first = show_switch(tmp_path)
    kept = json.loads((tmp_path / "numba-small.json").read_text())
    assert kept == {numba_kernels.small_key(): first[1]}
    assert 0 <= first[1] <= max(numba_kernels.TIMED_SIZES) + 1
    (tmp_path / "numba-small.json").write_text(json.dumps({numba_kernels.small_key(): 41}))
    assert show_switch(tmp_path)[1] == 41


@pytest.mark.parametrize("kept", ["80", -1, 1000, 12.5, True, None])
def test_a_kept_switch_that_cannot_be_one_is_timed_again(tmp_path, kept):
    path = tmp_path / "numba-small.json"
    key = numba_kernels.small_key()
    path.write_text("{half-written" if kept is None else json.dumps({key: kept}))
    timed = numba_kernels.timed_small(path)
    assert isinstance(timed, int)
    if numba_kernels.vector_level() != "sse2":
        assert json.loads(path.read_text()) == {key: timed}


def fake_times(ratios):
    """time_loops' answer for all_pairs / half_pairs = ratio at each size."""
    return {n: (ratio * 1e-6, 1e-6) for n, ratio in ratios.items()}


@pytest.mark.parametrize(
    ("ratios", "small"),
    [
        ({8: 0.5, 16: 0.7, 24: 0.9, 32: 1.2, 48: 1.5}, 25),  # a clean crossing after 24
        ({8: 0.8, 12: 1.8, 16: 0.95, 20: 1.7, 24: 1.1}, 9),  # jagged: 16 alone does not pay for 12
        ({8: 1.2, 16: 1.5, 32: 2.0}, 0),  # half_pairs faster everywhere
        ({8: 0.5, 64: 0.9, 128: 0.95}, 129),  # all_pairs faster everywhere timed
    ],
)
def test_the_switch_loses_least_against_the_faster_loop_at_each_size(ratios, small):
    assert numba_kernels.crossover(fake_times(ratios)) == small


def each_path(n, small):
    """The answers of the three compiled paths with the switch at `small`: the jitted
    derivative, the whole run (20 steps) and the checked call (kernels.get), whose C
    kernel reads the switch from its context (SWITCH)."""
    pos, mass = bodies(n)
    vel = np.random.default_rng(1).standard_normal((n, 3))
    rate = np.empty((2, n, 3))
    numba_kernels.derivatives_switched_at(small)(np.stack((pos, vel)), mass, rate)
    frames = np.empty((1, n, 3))
    numba_kernels.whole_run(
        np.stack((pos, vel)), mass, np.full(20, 0.01), np.array([20]), frames, small
    )
    switch = numba_kernels.SWITCH
    kept, switch[0] = switch[0], small
    try:
        _, checked = kernels.get("numba").derivatives(pos, vel, mass)
    finally:
        switch[0] = kept
    return {"derivatives": rate[1], "whole run": frames[0], "checked call": checked}


@pytest.mark.parametrize("n", [20, 90])
def test_every_compiled_path_runs_the_loop_the_switch_picks(n):
    """The switch reaches the compiled code as an argument, so whatever Numba compiled or
    cached before, each path runs all_pairs below it and half_pairs from it: their answers
    agree to rounding and differ in the last bits (the two loops sum in other orders)."""
    every, half = each_path(n, small=10**6), each_path(n, small=0)
    for path in every:
        # 20 steps of a few close pairs amplify the last bits' differences
        rtol = 1e-8 if path == "whole run" else 1e-12
        np.testing.assert_allclose(every[path], half[path], rtol=rtol, atol=0, err_msg=path)
        assert not np.array_equal(every[path], half[path]), f"{path}: the switch was ignored"


@pytest.mark.parametrize("loop", ["all_pairs", "half_pairs"])
@pytest.mark.parametrize("n", [5, 20, 90])
def test_both_loops_give_coincident_bodies_a_non_finite_answer(loop, n):
    """The checked call names two bodies at one position from the kernel's non-finite
    answer (tests/test_validation.py), which each loop must give at any N, whichever the
    switch picks here."""
    pos, mass = bodies(n)
    i, j = n // 3, n - 2
    pos[j] = pos[i]
    a = np.zeros((3, n))
    getattr(numba_kernels, loop)(np.ascontiguousarray(pos.T), mass, a)
    assert not np.isfinite(a[:, [i, j]]).all()


def test_the_timing_gives_both_loops_at_every_size():
    times = numba_kernels.time_loops(sizes=[2, 20], rounds=1)
    assert sorted(times) == [2, 20]
    assert all(every > 0 and half > 0 for every, half in times.values())
