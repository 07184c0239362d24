"""The limit kernel (`limit.c`): the fastest float64 derivative this project builds here.

Explicit SIMD (AVX-512, AVX2 with FMA, or portable C), 1/r^3 from the CPU's
reciprocal-square-root estimate refined by Newton-Raphson steps, and Newton's third law,
two rows of the pair triangle per sweep. Which variant runs is timed on this CPU at
import (a few milliseconds; see `VARIANT`); the environment variable NBODY_BENCH_SIMD
names one instead (one of `VARIANTS`). The suite's "% of limit" is measured against this
backend, and `simd-parallel` runs the same kernel on every core.
"""

import os

from .._boundary import Kernel
from ..errors import BackendUnavailable

try:
    from . import _limit
except ImportError as exc:
    raise BackendUnavailable(
        f"the C extension kernels.simd._limit is not built ({exc}); fix: reinstall the "
        "project so meson compiles it: pip install --no-build-isolation -e ."
    ) from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)
VARIANTS = _limit.VARIANTS


def choose_variant():
    """The variant's index: the one NBODY_BENCH_SIMD names, else the fastest here."""
    name = os.environ.get("NBODY_BENCH_SIMD", "")
    if not name:
        return _limit.best()
    usable = [v for i, v in enumerate(VARIANTS) if _limit.runs(i)]
    if name not in usable:
        raise BackendUnavailable(
            f"NBODY_BENCH_SIMD={name!r} is not a variant this CPU runs; "
            f"fix: set it to one of {', '.join(usable)}, or unset it to use the fastest"
        )
    return VARIANTS.index(name)


VARIANT = choose_variant()
# The derivative as a C function, for the checked call.
KERNEL = Kernel(_limit.kernel_capsule(VARIANT))


def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    _limit.derivatives(VARIANT, 1, state, mass, rate)


def integrate(initial, mass, steps, frame_ends, frames):
    """The whole midpoint-RK2 run in C: frame k is recorded after step frame_ends[k] - 1."""
    _limit.integrate(VARIANT, 1, initial, mass, steps, frame_ends, frames)


def rows(positions, mass, first, last, acc):
    """Add the forces of the pair triangle's rows [first, last) into acc.

    positions and acc are (3, n) (x, y, z rows), mass (n,). Splitting 0 .. n into row
    ranges and summing what each adds gives the accelerations: the entry point for
    callers that share the rows out themselves.
    """
    _limit.rows(VARIANT, positions, mass, first, last, acc)


__all__ = ["COMPILED", "KERNEL", "VARIANT", "VARIANTS", "derivatives", "integrate", "rows"]
