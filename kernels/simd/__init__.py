"""The limit kernel (`limit.c`): the fastest float64 derivative this project builds here.

Explicit SIMD (AVX-512, AVX2 with FMA, or portable C), 1/r^3 from the CPU's
reciprocal-square-root estimate refined by Newton-Raphson steps, and Newton's third law,
two rows of the pair triangle per sweep. Which variant runs is chosen once per machine
and build: timed the first time (a few milliseconds), then read back from a small file, so
that every process here (test workers, suite runs days apart, both sides of an A/B)
runs the same code; see `choose_variant`. The environment variable NBODY_BENCH_SIMD names
one instead (one of `VARIANTS`). The suite's "% of limit" is measured against this
backend, and `simd-parallel` runs the same kernel on every core.
"""

import os

from .._boundary import Kernel
from .._choice import cache_folder, cpu_model, remembered
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


def choices_file():
    """Where the variant chosen on this machine is kept: $NBODY_BENCH_CACHE_DIR, else the
    user's cache folder ($XDG_CACHE_HOME or ~/.cache), nbody-bench/simd-variant.json."""
    return cache_folder() / "simd-variant.json"


def machine_key():
    """The CPU's model and the variants this build runs on it: a choice made for one build
    (native or portable) or one CPU is not taken for another."""
    usable = [v for i, v in enumerate(VARIANTS) if _limit.runs(i)]
    return f"{cpu_model()} | {' '.join(usable)}"


def remembered_variant(path=None):
    """The variant chosen on this machine and build: read from `choices_file()`, or timed
    now (`_limit.best`, the fastest of five interleaved rounds on 1,024 bodies) and written
    there, atomically, for every later process (kernels._choice). Delete the file to time
    again."""
    usable = {v for i, v in enumerate(VARIANTS) if _limit.runs(i)}
    name = remembered(
        path or choices_file(),
        machine_key(),
        valid=lambda kept: isinstance(kept, str) and kept in usable,
        measure=lambda: VARIANTS[_limit.best()],
    )
    return VARIANTS.index(name)


def choose_variant():
    """The variant's index: the one NBODY_BENCH_SIMD names, else this machine's choice."""
    name = os.environ.get("NBODY_BENCH_SIMD", "")
    if not name:
        return remembered_variant()
    usable = [v for i, v in enumerate(VARIANTS) if _limit.runs(i)]
    if name not in usable:
        raise BackendUnavailable(
            f"NBODY_BENCH_SIMD={name!r} is not a variant this CPU runs; "
            f"fix: set it to one of {', '.join(usable)}, or unset it to use this machine's "
            f"choice ({choices_file()})"
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
