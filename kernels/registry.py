"""The one registry of backends: names, lazy loading, and the checked public entry point."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import BackendUnavailable, UnknownBackend
from .state import check_state, closest_pair

# Stable order, baseline first: reports and benchmark histories key on these names.
BACKENDS = ("python", "numpy", "numba", "cython", "fortran", "multiprocessing")

# Each module defines `accelerations(pos, mass)`, the unchecked kernel: float64 C-ordered
# (n, 3) positions and (n,) masses in, a new (n, 3) float64 C-ordered array out.
# A module that cannot work here raises BackendUnavailable on import, saying how to fix it.
_MODULES = {
    "python": "kernels.python",
    "numpy": "kernels.numpy",
    "numba": "kernels.numba",
    "cython": "kernels.cy",
    "fortran": "kernels.fortran",
    "multiprocessing": "kernels.multiprocessing",
}

_loaded: dict[str, Backend | BackendUnavailable] = {}


@dataclass(frozen=True)
class Backend:
    """A usable backend: `derivatives` checks its input, `accelerations` trusts it."""

    name: str
    accelerations: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def derivatives(self, pos, vel, mass):
        """(dpdt, dvdt) for the state; raises ValueError on bad input (see DESIGN.md)."""
        pos, vel, mass = check_state(pos, vel, mass)
        with np.errstate(all="ignore"):
            acc = self.accelerations(pos, mass)
        if not np.isfinite(acc).all():
            i, j, r = closest_pair(pos)
            raise FloatingPointError(
                f"{self.name}: the acceleration is not finite; bodies {i} and {j} are only "
                f"{r:.3g} apart, too close for float64"
            )
        return vel, acc


def get(name):
    """The backend called `name`; UnknownBackend or BackendUnavailable if it can't be had."""
    if name not in _MODULES:
        raise UnknownBackend(
            f"unknown backend {name!r}; the known backends are {', '.join(BACKENDS)}"
        )
    if name not in _loaded:
        try:
            module = importlib.import_module(_MODULES[name])
            _loaded[name] = Backend(name, module.accelerations)
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
