"""The one registry of backends: names, lazy loading, and the checked public entry point."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import plugins
from ._boundary import Kernel, checked, finish, stage
from .errors import BackendUnavailable, UnknownBackend
from .state import check_state, closest_pair
from .traits import TRAITS, UNKNOWN, Traits, having, traits

# Stable order, baseline first: reports and benchmark histories key on these names.
BACKENDS = (
    "python",
    "numpy",
    "numba",
    "cython",
    "fortran",
    "multiprocessing",
    "c-reference",
    "numba-parallel",
    "multiprocessing-shared",
    "simd",
    "simd-parallel",
    "dask",
    "pythran",
    "jax",
    "cuda",
    "cupy",
)

# A backend module defines either `accelerations(pos, mass)` (the Python-level ones: new
# (n, 3) array from (n, 3) positions and (n,) masses) or, for compiled code that writes
# into the integrator's buffers, `derivatives(state, mass, rate)` (state and rate are
# (2, n, 3): positions then velocities; it sets rate[0] = velocities, rate[1] =
# accelerations), and optionally `integrate(...)`, the whole RK2 run in compiled code.
# All take float64 C-ordered arrays and check nothing. A module whose derivative runs in
# compiled code only sets COMPILED = True (see Backend.compiled), and one that has it as a
# C function, KERNEL (a kernels._boundary.Kernel). A module that cannot work here raises
# BackendUnavailable on import, saying how to fix it.
_MODULES = {
    "python": "kernels.python",
    "numpy": "kernels.numpy",
    "numba": "kernels.numba",
    "cython": "kernels.cy",
    "fortran": "kernels.fortran",
    "multiprocessing": "kernels.multiprocessing",
    "c-reference": "kernels.c",
    "numba-parallel": "kernels.numba_parallel",
    "multiprocessing-shared": "kernels.multiprocessing_shared",
    "simd": "kernels.simd",
    "simd-parallel": "kernels.simd.parallel",
    "dask": "kernels.dask",
    "pythran": "kernels.pythran",
    "jax": "kernels.jax",
    "cuda": "kernels.cuda",
    "cupy": "kernels.cupy",
}

# The built-in backends by trait (kernels.traits: known without importing them).
assert set(TRAITS) == set(BACKENDS), "kernels/traits.py and BACKENDS name the same backends"
GPU = having("gpu")
WHOLE_RUN = having("whole_run")
C_KERNEL = having("c_kernel")
PARALLEL = having("parallel")
POOLED = having("pooled")

_loaded: dict[str, Backend | BackendUnavailable] = {}
_discovered: dict[str, plugins.Plugin] | None = None


@dataclass(frozen=True)
class Backend:
    """A usable backend: `derivatives` checks its input, `derivatives_into` trusts it.

    `integrate`, where present, runs a whole RK2 integration in compiled code (see
    `run_rk2(..., whole_run=True)`). `compiled` says the derivative runs in compiled code
    only, which raises no NumPy floating-point warnings, so the checked call need not
    silence them (np.errstate costs as much as a 20-body kernel call). `kernel`, where
    present, is the same derivative as a C function, which the checked call runs from C
    with no Python object made for its arguments. `traits` are what kernels.traits says
    of it (parallel, pooled, gpu, its serial twin; all false for a plugin).
    """

    name: str
    derivatives_into: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    integrate: Callable | None = None
    compiled: bool = False
    kernel: Kernel | None = None
    traits: Traits = UNKNOWN

    @classmethod
    def from_accelerations(cls, name, accelerations):
        """A backend from a function accelerations(pos, mass) -> (n, 3) array."""

        def derivatives_into(state, mass, rate):
            rate[0] = state[1]
            rate[1] = accelerations(state[0], mass)

        return cls(name, derivatives_into, traits=traits(name))

    def derivatives(self, pos, vel, mass):
        """(dpdt, dvdt) for the state; raises ValueError on bad input (docs/api.md).

        The boundary of a user's own loop, so its common case costs next to nothing:
        float64 C-ordered input is checked in one vectorized pass (kernels/_boundary.pyx),
        in place for a backend with a C kernel, as it is copied for the others, and only a
        non-finite result is looked into (two bodies at one position, or too close).
        Anything else goes through `check_state`, which names the fault or converts it.
        """
        if self.kernel is not None:
            result = checked(self.kernel, pos, vel, mass)
            if result is not None:
                return result
            # The input needs converting or naming, or the result looking into: the path
            # below does both (running the kernel again, on failure only).
        staged = stage(pos, vel, mass)
        if staged is None:  # not float64 C-ordered, or a value the checks refuse
            staged = stage(*check_state(pos, vel, mass))  # check_state's arrays always pass
        state, owned_mass, rate = staged
        if self.compiled:
            self.derivatives_into(state, owned_mass, rate)
        else:
            with np.errstate(all="ignore"):  # a collision is caught from the result below
                self.derivatives_into(state, owned_mass, rate)
        result = finish(rate)
        if result is None:
            self._not_finite(pos, vel, mass, state[0])
        return result

    def _not_finite(self, pos, vel, mass, positions):
        """Say why the accelerations are not finite: two bodies at one position (the
        ValueError of `check_state`), else the two closest bodies, too close for float64."""
        check_state(pos, vel, mass)
        i, j, r = closest_pair(positions)
        raise FloatingPointError(
            f"{self.name}: the acceleration is not finite; bodies {i} and {j} are only "
            f"{r:.3g} apart, too close for float64"
        )


def names():
    """Every backend's name: the built-in ones (`BACKENDS`), then the plugins' (see
    kernels.plugins), usable here or not."""
    return BACKENDS + tuple(name for name in _plugins() if name not in _MODULES)


def plugin_problems():
    """What is wrong with the plugins no name reaches: those named like a built-in
    backend, which keeps its name. (Any other plugin's problem is raised by `get`.)"""
    return [p.problem for name, p in _plugins().items() if name in _MODULES]


def plugin_source(name):
    """The file of the module that defines plugin backend `name`'s functions."""
    found = _plugins()[name].load()
    function = getattr(found, "accelerations", None) or found.derivatives
    return Path(inspect.getsourcefile(function))


def _plugins():
    global _discovered
    if _discovered is None:
        _discovered = plugins.discover(builtin=_MODULES)
    return _discovered


def _from(name, found):
    """A Backend from a module (or any object) with the functions of a backend module."""
    if callable(getattr(found, "accelerations", None)):
        return Backend.from_accelerations(name, found.accelerations)
    return Backend(
        name,
        found.derivatives,
        getattr(found, "integrate", None),
        compiled=getattr(found, "COMPILED", False),
        kernel=getattr(found, "KERNEL", None),
        traits=traits(name),
    )


def get(name):
    """The backend called `name`; UnknownBackend or BackendUnavailable if it can't be had."""
    if name not in _loaded:
        if name in _MODULES:
            try:
                _loaded[name] = _from(name, importlib.import_module(_MODULES[name]))
            except BackendUnavailable as exc:
                _loaded[name] = BackendUnavailable(f"backend {name!r} is unavailable: {exc}")
        elif name in _plugins():
            try:
                _loaded[name] = _from(name, _plugins()[name].load())
            except plugins.PluginError as exc:
                _loaded[name] = exc
        else:
            raise UnknownBackend(
                f"unknown backend {name!r}; the known backends are {', '.join(names())}"
            )
    found = _loaded[name]
    if isinstance(found, BackendUnavailable):
        raise type(found)(str(found))
    return found


def available():
    """The backends usable in this environment, in `names()` order: the built-in ones in
    `BACKENDS` order, then the plugins."""
    usable = []
    for name in names():
        try:
            get(name)
        except BackendUnavailable:
            continue
        usable.append(name)
    return tuple(usable)


def build():
    """What the compiled kernels were made for: "native" (this CPU, -march=native) or
    "portable" (-Dnative=false); None for kernels that cannot say (not built by meson)."""
    try:
        from ._build import NATIVE
    except ImportError:
        return None
    return "native" if NATIVE else "portable"


def has_whole_run(name):
    """Whether backend `name` has a whole-run mode, known without importing a built-in one;
    a plugin is loaded to tell (None where it cannot be: its tests then say why)."""
    if name in _MODULES:
        return name in WHOLE_RUN
    try:
        return get(name).integrate is not None
    except BackendUnavailable:
        return None


def resolve(backend):
    """Accept a backend name or a Backend (as `run_rk2` does)."""
    return backend if isinstance(backend, Backend) else get(backend)
