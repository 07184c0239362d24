"""The limit kernel's every variant, its row-range entry point, and how a variant is chosen."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kernels

simd = pytest.importorskip("kernels.simd", exc_type=kernels.BackendUnavailable)
_limit = simd._limit
RUNS_HERE = [name for i, name in enumerate(simd.VARIANTS) if _limit.runs(i)]


@pytest.mark.parametrize("variant", RUNS_HERE)
@pytest.mark.parametrize("n", [1, 2, 3, 9, 20, 47, 48, 49, 300, 301])
def test_every_variant_matches_the_direct_sum(variant, n, assert_direct_sum):
    """Both loops (all pairs below 48 bodies, the triangle from 48), odd and even row
    counts, and vector tails of every length."""
    pos, vel, _ = kernels.initial_conditions(n, seed=n)
    mass = np.random.default_rng(n).uniform(0.5, 2.0, n)
    state = np.stack((pos, vel))
    rate = np.full_like(state, np.nan)
    _limit.derivatives(simd.VARIANTS.index(variant), 1, state, mass, rate)
    np.testing.assert_array_equal(rate[0], vel)
    assert_direct_sum(rate[1], pos, mass)


@pytest.mark.parametrize("variant", RUNS_HERE)
@pytest.mark.parametrize("scale", [1e-22, 1e22])
def test_bodies_outside_float32_range(variant, scale, assert_direct_sum):
    """AVX2 estimates 1/sqrt(r^2) in float32, whose range r^2 can leave: those vectors
    are computed exactly, so very close and very far bodies come out right too."""
    n = 300
    pos, vel, _ = kernels.initial_conditions(n, seed=1)
    pos, mass = pos * scale, np.ones(n)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    _limit.derivatives(simd.VARIANTS.index(variant), 1, state, mass, rate)
    assert np.isfinite(rate).all()
    assert_direct_sum(rate[1], pos, mass)


@pytest.mark.parametrize("variant", RUNS_HERE)
def test_a_collision_is_not_finite(variant):
    pos = np.array([[0.0, 0, 0], [1, 0, 0], [1, 0, 0], *np.eye(3) * 3])
    for n in (len(pos), 200):  # the all-pairs loop and the triangle
        p = np.vstack([pos, np.random.default_rng(0).uniform(5, 6, (n - len(pos), 3))])
        state = np.stack((p, np.zeros_like(p)))
        rate = np.empty_like(state)
        with np.errstate(all="ignore"):
            _limit.derivatives(simd.VARIANTS.index(variant), 1, state, np.ones(n), rate)
        assert not np.isfinite(rate[1, 1:3]).all()


def test_row_ranges_add_up_to_the_whole_triangle(assert_direct_sum):
    n = 1001
    pos, _, mass = kernels.initial_conditions(n, seed=3)
    columns = np.ascontiguousarray(pos.T)
    whole = np.zeros((3, n))
    simd.rows(columns, mass, 0, n, whole)
    parts = np.zeros((3, n))
    for first, last in [(0, 1), (1, 400), (400, 401), (401, 1000), (1000, 1001)]:
        simd.rows(columns, mass, first, last, parts)
    np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-12 * np.abs(whole).max())
    assert_direct_sum(whole.T, pos, mass)
    with pytest.raises(ValueError, match=r"rows \[5, 2000\) are not within 0 .. 1001"):
        simd.rows(columns, mass, 5, 2000, parts)


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


def test_the_environment_names_the_variant():
    shown = run_python(
        "import kernels.simd as s; print(s.VARIANTS[s.VARIANT])", NBODY_BENCH_SIMD="portable"
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "portable"


def test_an_unknown_variant_says_which_run_here():
    shown = run_python("import kernels; kernels.get('simd')", NBODY_BENCH_SIMD="avx1024-magic")
    assert shown.returncode != 0
    assert "NBODY_BENCH_SIMD='avx1024-magic' is not a variant this CPU runs" in shown.stderr
    assert "portable" in shown.stderr


SHOW_VARIANT = "import kernels.simd as s; print(s.VARIANTS[s.VARIANT])"


def test_the_variant_is_chosen_once_per_machine(tmp_path):
    """The first process times the variants and writes its choice; every later one (here:
    two more) reads it back rather than timing again, so all run the same code."""
    env = {"NBODY_BENCH_CACHE_DIR": str(tmp_path), "NBODY_BENCH_SIMD": ""}
    shown = [run_python(SHOW_VARIANT, **env) for _ in range(3)]
    assert all(s.returncode == 0 for s in shown), [s.stderr for s in shown]
    chosen = {s.stdout.strip() for s in shown}
    assert len(chosen) == 1
    assert chosen <= set(RUNS_HERE)
    kept = json.loads((tmp_path / "simd-variant.json").read_text())
    assert kept == {simd.machine_key(): chosen.pop()}


@pytest.mark.parametrize("kept", ["portable", "avx1024-magic", None])
def test_a_kept_choice_is_taken_only_if_it_runs_here(tmp_path, kept):
    """A planted choice is run as is; one this CPU cannot run, or a file that is not JSON,
    is timed again and overwritten."""
    path = tmp_path / "simd-variant.json"
    if kept is None:
        path.write_text("half-written {")
    else:
        path.write_text(json.dumps({simd.machine_key(): kept, "another CPU | portable": "x"}))
    shown = run_python(SHOW_VARIANT, NBODY_BENCH_CACHE_DIR=str(tmp_path), NBODY_BENCH_SIMD="")
    assert shown.returncode == 0, shown.stderr
    if kept == "portable":
        assert shown.stdout.strip() == "portable"
    else:
        assert shown.stdout.strip() in RUNS_HERE
        assert json.loads(path.read_text())[simd.machine_key()] == shown.stdout.strip()
    if kept == "avx1024-magic":  # other machines' entries are kept
        assert json.loads(path.read_text())["another CPU | portable"] == "x"


def test_an_unwritable_cache_times_in_the_process(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    shown = run_python(
        SHOW_VARIANT, NBODY_BENCH_CACHE_DIR=str(blocker / "sub"), NBODY_BENCH_SIMD=""
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() in RUNS_HERE


def test_the_fastest_variant_is_one_that_runs():
    assert simd.VARIANTS[_limit.best()] in RUNS_HERE
    assert "portable" in RUNS_HERE


def test_fewer_threads_than_asked_for_still_sum_every_row():
    """OpenMP may run a team smaller than asked for (here: OMP_THREAD_LIMIT=1 against
    every usable core); only the threads that ran are summed."""
    shown = run_python(
        "import kernels, numpy as np\n"
        "pos, vel, mass = kernels.initial_conditions(2000, seed=5)\n"
        "a = kernels.get('c-reference').derivatives(pos, vel, mass)[1]\n"
        "b = kernels.get('simd-parallel').derivatives(pos, vel, mass)[1]\n"
        "print(np.abs(a - b).max() / np.abs(a).max())",
        OMP_THREAD_LIMIT="1",
    )
    if "BackendUnavailable" in shown.stderr:
        pytest.skip("simd-parallel is not built here (no OpenMP)")
    assert shown.returncode == 0, shown.stderr
    assert float(shown.stdout) < 1e-12
