"""The one registry of backends: names, lazy loading, and the checked public entry point."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._boundary import Kernel, checked, finish, stage
from .errors import BackendUnavailable, UnknownBackend
from .state import check_state, closest_pair

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
}

_loaded: dict[str, Backend | BackendUnavailable] = {}


@dataclass(frozen=True)
class Backend:
    """A usable backend: `derivatives` checks its input, `derivatives_into` trusts it.

    `integrate`, where present, runs a whole RK2 integration in compiled code (see
    `run_rk2(..., whole_run=True)`). `compiled` says the derivative runs in compiled code
    only, which raises no NumPy floating-point warnings, so the checked call need not
    silence them (np.errstate costs as much as a 20-body kernel call). `kernel`, where
    present, is the same derivative as a C function, which the checked call runs from C
    with no Python object made for its arguments.
    """

    name: str
    derivatives_into: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    integrate: Callable | None = None
    compiled: bool = False
    kernel: Kernel | None = None

    @classmethod
    def from_accelerations(cls, name, accelerations):
        """A backend from a function accelerations(pos, mass) -> (n, 3) array."""

        def derivatives_into(state, mass, rate):
            rate[0] = state[1]
            rate[1] = accelerations(state[0], mass)

        return cls(name, derivatives_into)

    def derivatives(self, pos, vel, mass):
        """(dpdt, dvdt) for the state; raises ValueError on bad input (see DESIGN.md).

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


def get(name):
    """The backend called `name`; UnknownBackend or BackendUnavailable if it can't be had."""
    if name not in _MODULES:
        raise UnknownBackend(
            f"unknown backend {name!r}; the known backends are {', '.join(BACKENDS)}"
        )
    if name not in _loaded:
        try:
            module = importlib.import_module(_MODULES[name])
            if hasattr(module, "accelerations"):
                _loaded[name] = Backend.from_accelerations(name, module.accelerations)
            else:
                _loaded[name] = Backend(
                    name,
                    module.derivatives,
                    getattr(module, "integrate", None),
                    compiled=getattr(module, "COMPILED", False),
                    kernel=getattr(module, "KERNEL", None),
                )
        except BackendUnavailable as exc:
            _loaded[name] = exc
    found = _loaded[name]
    if isinstance(found, BackendUnavailable):
        raise BackendUnavailable(f"backend {name!r} is unavailable: {found}")
    return found


def available():
    """The backends usable in this environment, in `BACKENDS` order."""
    usable = []
    for name in BACKENDS:
        try:
            get(name)
        except BackendUnavailable:
            continue
        usable.append(name)
    return tuple(usable)


def resolve(backend):
    """Accept a backend name or a Backend (as `run_rk2` does)."""
    return backend if isinstance(backend, Backend) else get(backend)
