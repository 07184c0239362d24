"""Which backends must be here (nbody_bench.required): under CI a lost backend fails the
run, naming it; elsewhere it is a skip, and every run counts its skips by reason."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import kernels
from nbody_bench.required import gpu_present, required_backends, under_ci

ROOT = Path(__file__).resolve().parents[1]


def test_ci_requires_every_cpu_backend_and_the_gpu_ones_only_with_a_gpu(monkeypatch):
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    assert required_backends(False) == frozenset()
    cpu = set(kernels.BACKENDS) - kernels.registry.GPU
    assert required_backends(True, gpu=False) == cpu
    assert required_backends(True, gpu=True) == set(kernels.BACKENDS)


def test_ci_requires_cuda_on_the_cuda_simulator(monkeypatch):
    """CI runs cuda's contract tests on Numba's simulator: there a lost cuda fails."""
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    cpu = set(kernels.BACKENDS) - kernels.registry.GPU
    assert required_backends(True, gpu=False) == cpu | {"cuda"}
    assert required_backends(False) == frozenset()


@pytest.mark.parametrize(
    ("value", "ci"), [("true", True), ("1", True), ("TRUE", True), ("false", False), ("", False)]
)
def test_ci_is_read_from_the_environment(value, ci):
    assert under_ci({"CI": value}) is ci
    assert under_ci({}) is False


def test_a_gpu_is_present_only_where_the_driver_lists_one(tmp_path):
    assert not gpu_present(tmp_path / "no-such-folder")
    assert not gpu_present(tmp_path)  # the folder, with no GPU in it
    (tmp_path / "0000:01:00.0").mkdir()
    assert gpu_present(tmp_path)


def pytest_in_a_process(*args, hidden=None, ci=False):
    """pytest run in a fresh process, outside any xdist worker's environment; `hidden`: a
    folder put first on the path (a stand-in package there hides the real one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    if hidden is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(hidden), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_lost_cpu_backend_fails_under_ci_and_is_skipped_elsewhere(tmp_path):
    """JAX hidden by a stand-in that fails to import, as a broken install would: the jax
    backend is unavailable, which under CI fails its test with the reason and the rule."""
    (tmp_path / "jax").mkdir()
    (tmp_path / "jax" / "__init__.py").write_text('raise ImportError("hidden by the test")\n')
    test = "tests/test_api.py::test_get_returns_named_backend[jax]"
    relaxed = pytest_in_a_process(test, hidden=tmp_path)
    assert relaxed.returncode == 0, relaxed.stdout[-3000:]
    assert "1 skipped" in relaxed.stdout
    assert "JAX is not installed (hidden by the test)" in relaxed.stdout
    for strict in (
        pytest_in_a_process(test, hidden=tmp_path, ci=True),
        pytest_in_a_process(test, "--ci", hidden=tmp_path),
    ):
        assert strict.returncode == 1, strict.stdout[-3000:]
        assert "1 error" in strict.stdout  # in the backend fixture, before the test runs
        assert "JAX is not installed (hidden by the test)" in strict.stdout
        assert "jax is required under CI (a CPU backend)" in strict.stdout


def test_every_run_ends_with_its_skips_counted_by_reason(tmp_path):
    """Six checks of cupy where CuPy cannot run: one line, with its count."""
    try:
        kernels.get("cupy")
    except kernels.BackendUnavailable as exc:
        reason = str(exc)
    else:
        pytest.skip("cupy runs here: nothing to skip")
    done = pytest_in_a_process("bench/test_equivalence.py", "--backend=cupy")
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout[done.stdout.index("skips by reason (6 in all)") :].splitlines()
    (first, *_) = [line for line in summary[1:] if line.strip()]
    assert first == f"    6  {reason}"
