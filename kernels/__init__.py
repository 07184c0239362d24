"""nbody-bench kernels: the lecture's gravitational N-body derivative in every backend.

import kernels
kernels.available()                      # backends usable here (plugins too)
pos, vel, mass = kernels.initial_conditions(20)
dpdt, dvdt = kernels.get("numba").derivatives(pos, vel, mass)
frames = kernels.run_rk2(pos, vel, mass, tend=1.0, tframe=0.01, dt=0.001, backend="numba")
"""

from .errors import BackendUnavailable, UnknownBackend
from .integrate import run_rk2
from .plugins import PluginError
from .registry import BACKENDS, Backend, available, get, names
from .state import initial_conditions

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendUnavailable",
    "PluginError",
    "UnknownBackend",
    "available",
    "get",
    "initial_conditions",
    "names",
    "run_rk2",
]
