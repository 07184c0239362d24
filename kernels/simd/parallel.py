"""The limit kernel on every core: the pair triangle's rows shared among OpenMP threads.

Each thread takes blocks of rows as it comes free (the first rows are the longest, and a
shared machine's cores are not all equally free) and adds their forces into its own copy
of the accelerations, summed at the end: no two threads write the same memory. Below a
few hundred bodies a call runs on one thread. The serial `simd` backend is its twin.
"""

# The serial backend first: without the extension it raises BackendUnavailable.
from . import VARIANT, _limit  # noqa: I001

from ..errors import BackendUnavailable
from ..multiprocessing import usable_cores

if not _limit.HAS_THREADS:
    raise BackendUnavailable(
        "kernels.simd._limit was built without OpenMP; fix: install a C compiler with "
        "OpenMP support (gcc has it) and reinstall the project"
    )

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)


def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    _limit.derivatives(VARIANT, usable_cores(), state, mass, rate)


def integrate(initial, mass, steps, frame_ends, frames):
    """The whole midpoint-RK2 run in C, each derivative on every core."""
    _limit.integrate(VARIANT, usable_cores(), initial, mass, steps, frame_ends, frames)
