"""The public API's contract: names, availability, and the two ways `get` refuses."""

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import kernels
import kernels.registry
import kernels.traits


def test_backends_in_stable_order_with_baseline_first():
    assert kernels.BACKENDS[0] == "python"
    assert set(kernels.BACKENDS) >= {
        "python",
        "numpy",
        "numba",
        "cython",
        "fortran",
        "multiprocessing",
    }
    assert len(set(kernels.BACKENDS)) == len(kernels.BACKENDS)


def test_available_is_an_ordered_subset():
    usable = kernels.available()
    assert isinstance(usable, tuple)
    assert list(usable) == [name for name in kernels.BACKENDS if name in usable]


def test_compiled_backends_present_wherever_their_toolchain_is():
    """A backend must not quietly fall back to unavailable on a machine that can run it:
    Cython and C are compiled by every build, Fortran whenever gfortran exists, and numba works
    wherever it is installed."""
    expected = {
        "python",
        "numpy",
        "cython",
        "multiprocessing",
        "multiprocessing-shared",
        "c-reference",
    }
    if shutil.which("gfortran"):
        expected.add("fortran")
    if importlib.util.find_spec("numba") is not None:
        expected |= {"numba", "numba-parallel"}
    missing = expected - set(kernels.available())
    reasons = {}
    for name in missing:
        try:
            kernels.get(name)
        except kernels.BackendUnavailable as exc:
            reasons[name] = str(exc)
    assert not missing, f"backends unavailable although they should work here: {reasons}"


def test_the_static_traits_are_what_each_backend_module_has(backend):
    """kernels/traits.py decides, without importing a backend, which whole-run benchmarks
    the suite generates and which backends get a pool's rounds: it must say what the loaded
    backend has, and the Backend carries it."""
    found = kernels.get(backend)
    if backend not in kernels.BACKENDS:
        assert found.traits == kernels.traits.UNKNOWN  # a plugin: nothing claimed for it
        return
    assert found.traits == kernels.traits.traits(backend)
    has = found.integrate is not None
    assert found.traits.whole_run == has, (
        f"{backend}: {'has' if has else 'has no'} whole-run mode, but kernels/traits.py says "
        "otherwise"
    )
    assert found.traits.c_kernel == (found.kernel is not None), backend


def test_every_parallel_backend_names_a_serial_twin_and_only_those():
    for name, traits in kernels.traits.TRAITS.items():
        if traits.parallel:
            twin = kernels.traits.traits(traits.twin)
            assert not twin.parallel, f"{name}'s twin {traits.twin} is parallel"
        else:
            assert traits.twin is None, name
        assert not traits.pooled or traits.parallel, f"{name}: pooled but not parallel"
    assert set(kernels.traits.TRAITS) == set(kernels.BACKENDS)


def test_get_returns_named_backend(backend):
    found = kernels.get(backend)
    assert found.name == backend
    assert found is kernels.get(backend)


def test_unknown_backend_lists_known_names():
    with pytest.raises(kernels.UnknownBackend) as info:
        kernels.get("fortran77")
    assert isinstance(info.value, ValueError)
    for name in kernels.BACKENDS:
        assert name in str(info.value)


@pytest.fixture
def fresh_registry(monkeypatch):
    """Forget loaded backends so a test can make one unloadable; undone afterwards."""
    monkeypatch.setattr(kernels.registry, "_loaded", {})
    return monkeypatch


def test_missing_numba_is_unavailable_with_fix(fresh_registry):
    fresh_registry.setitem(sys.modules, "numba", None)  # makes `import numba` fail
    fresh_registry.delitem(sys.modules, "kernels.numba", raising=False)
    with pytest.raises(kernels.BackendUnavailable, match="pip install numba") as info:
        kernels.get("numba")
    assert isinstance(info.value, RuntimeError)
    fresh_registry.delitem(sys.modules, "kernels.numba_parallel", raising=False)
    with pytest.raises(kernels.BackendUnavailable, match="pip install numba"):
        kernels.get("numba-parallel")
    assert "numba" not in kernels.available()
    assert "numpy" in kernels.available()


def test_missing_fortran_compiler_is_unavailable_with_fix(fresh_registry):
    fresh_registry.setitem(sys.modules, "kernels.fortran._nbody", None)
    fresh_registry.delitem(sys.modules, "kernels.fortran", raising=False)
    fresh_registry.setattr(shutil, "which", lambda name: None)
    with pytest.raises(kernels.BackendUnavailable, match="apt-get install gfortran"):
        kernels.get("fortran")


def test_initial_conditions_shape_range_and_seed():
    pos, vel, mass = kernels.initial_conditions(7, seed=3)
    assert pos.shape == vel.shape == (7, 3)
    assert mass.shape == (7,)
    assert np.all((pos >= 0) & (pos < 1))
    assert np.all((vel >= 0) & (vel < 1))
    np.testing.assert_array_equal(mass, np.ones(7))
    again = kernels.initial_conditions(7, seed=3)
    np.testing.assert_array_equal(pos, again[0])
    assert not np.array_equal(pos, kernels.initial_conditions(7, seed=4)[0])


def test_initial_conditions_are_frozen():
    """Benchmark histories depend on these exact numbers: they must never change."""
    pos, vel, _ = kernels.initial_conditions(2, seed=0)
    np.testing.assert_allclose(pos[0], [0.636961687321, 0.269786713764, 0.040973523936], rtol=1e-11)
    np.testing.assert_allclose(vel[1], [0.935072423788, 0.815853554122, 0.00273850017], rtol=1e-9)


@pytest.mark.parametrize("n", [0, -1, 2.5, "3", True, None])
def test_initial_conditions_rejects_bad_n(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        kernels.initial_conditions(n)


def test_noxfile_lists_every_backend():
    """The nox bench sessions keep their own copy of the names; it must not fall behind."""
    noxfile = (Path(__file__).resolve().parents[1] / "noxfile.py").read_text()
    for name in kernels.BACKENDS[1:]:
        assert f'"{name}",' in noxfile, f"noxfile.py BACKENDS lacks {name!r}"
