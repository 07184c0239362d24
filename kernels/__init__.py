"""nbody-bench kernels: the lecture's gravitational N-body derivative in every backend.

import kernels
kernels.available()                      # backends usable here
pos, vel, mass = kernels.initial_conditions(20)
dpdt, dvdt = kernels.get("numba").derivatives(pos, vel, mass)
frames = kernels.run_rk2(pos, vel, mass, tend=1.0, tframe=0.01, dt=0.001, backend="numba")
"""

from .errors import BackendUnavailable, UnknownBackend
from .integrate import run_rk2
from .registry import BACKENDS, Backend, available, get
from .state import initial_conditions

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendUnavailable",
    "UnknownBackend",
    "available",
    "get",
    "initial_conditions",
    "run_rk2",
]
