"""The array backends (numpy, jax): pairs in blocks of rows, so memory stays bounded at
any N; JAX's float64 kept to its own calls; and what a user without a tool is told."""

import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import kernels
import kernels.numpy as numpy_backend


def blocked(monkeypatch, budget):
    monkeypatch.setattr(numpy_backend, "BLOCK_BYTES", budget)


@pytest.mark.parametrize("rows", [1, 7, 36, 37])
def test_blocks_of_rows_give_the_all_pairs_answer(monkeypatch, rows):
    """Blocks of 1, 7 (the last one short), 36 and all 37 rows: the same accelerations,
    to rounding (the self-term is removed in every block, not only the first)."""
    pos, _, mass = kernels.initial_conditions(37, seed=2)
    whole = numpy_backend.accelerations(pos, mass)
    blocked(monkeypatch, rows * numpy_backend.PAIR_BYTES * 37)
    assert numpy_backend.block_rows(37) == rows
    np.testing.assert_allclose(numpy_backend.accelerations(pos, mass), whole, rtol=1e-13)


def test_a_call_stays_within_its_memory_budget(monkeypatch):
    """At N = 3000 all pairs at once would take 360 MB of temporaries; with an 8 MB
    budget the call's peak (NumPy reports its buffers to tracemalloc) stays near it."""
    n, budget = 3000, 8 * 2**20
    pos, _, mass = kernels.initial_conditions(n, seed=4)
    blocked(monkeypatch, budget)
    tracemalloc.start()
    try:
        numpy_backend.accelerations(pos, mass)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * budget, f"peak {peak / 2**20:.1f} MB for an {budget / 2**20:.0f} MB budget"


def test_a_block_is_never_empty():
    assert numpy_backend.block_rows(10**9, budget=1) == 1
    assert numpy_backend.block_rows(0) == 1


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("backend", "blocked_module", "fix"),
    [("jax", "jax", "pip install 'jax>=0.8'"), ("pythran", "kernels.pythran._kernel", "pythran")],
)
def test_a_missing_tool_is_named_with_the_fix(backend, blocked_module, fix):
    shown = run_python(
        f"import sys; sys.modules[{blocked_module!r}] = None\n"
        f"import kernels\n"
        f"assert {backend!r} not in kernels.available()\n"
        f"kernels.get({backend!r})"
    )
    assert shown.returncode != 0
    assert "BackendUnavailable" in shown.stderr
    assert f"backend {backend!r} is unavailable" in shown.stderr
    assert fix in shown.stderr


jax_backend = pytest.importorskip("kernels.jax", exc_type=kernels.BackendUnavailable)


def test_jax_float64_stays_inside_its_calls():
    """The backend computes in float64 without switching it on for the caller's own JAX
    code: after a call (and a whole run), JAX's defaults are what they were."""
    import jax
    import jax.numpy as jnp

    before = jnp.asarray([1.0]).dtype
    pos, vel, mass = kernels.initial_conditions(5, seed=1)
    _, dvdt = kernels.get("jax").derivatives(pos, vel, mass)
    kernels.run_rk2(pos, vel, mass, tend=0.002, tframe=0.001, dt=0.001, backend="jax",
                    whole_run=True)  # fmt: skip
    assert jnp.asarray([1.0]).dtype == before
    if not jax.config.jax_enable_x64:  # the user's own setting, untouched
        assert before == np.float32
    expected = kernels.get("c-reference").derivatives(pos, vel, mass)[1]
    np.testing.assert_allclose(dvdt, expected, rtol=1e-13)  # float32 would be 1e-7 off


@pytest.mark.parametrize("rows", [1, 5, 37])
def test_jax_blocks_of_rows_give_the_all_pairs_answer(monkeypatch, rows):
    """Blocks through lax.map, the last one padded with rows that are dropped."""
    import jax

    pos, _, mass = kernels.initial_conditions(37, seed=2)
    expected = numpy_backend.accelerations(pos, mass)
    blocked(monkeypatch, rows * numpy_backend.PAIR_BYTES * 37)
    with jax.enable_x64(True):  # a fresh jit: traced with this block size
        got = np.asarray(jax.jit(jax_backend.pair_accelerations)(pos, mass))
    np.testing.assert_allclose(got, expected, rtol=1e-13)
