"""What can be said of each built-in backend without importing it (an import may fail here,
or take seconds): the suite generates only the combinations a backend can run anywhere, CI
requires every backend the machine's kind must have, and the checks treat a backend that
spreads over the cores, or over other processes, as it needs.

This module imports nothing, so tools that run from the source tree, where the compiled
kernels are not built (the A/B's parent process), can load it by its path.
tests/test_api.py holds each entry to what its backend module defines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Traits:
    """parallel: one call runs on every core (threads or processes); pooled: it hands the
    work to other processes (a pool, a cluster), whose start and hand-off are in its time;
    gpu: it needs an NVIDIA GPU (every other backend runs on any CPU); whole_run: it has
    an `integrate` (run_rk2(..., whole_run=True)); c_kernel: its derivative is also a C
    function (`KERNEL`), which the checked call runs from C; twin: for a parallel backend,
    the serial one doing the same arithmetic, which it is measured against."""

    parallel: bool = False
    pooled: bool = False
    gpu: bool = False
    whole_run: bool = False
    c_kernel: bool = False
    twin: str | None = None


COMPILED_SERIAL = Traits(whole_run=True, c_kernel=True)

TRAITS = {
    "python": Traits(),
    "numpy": Traits(),
    "numba": COMPILED_SERIAL,
    "cython": COMPILED_SERIAL,
    "fortran": COMPILED_SERIAL,
    "multiprocessing": Traits(parallel=True, pooled=True, twin="python"),
    "c-reference": COMPILED_SERIAL,
    "numba-parallel": Traits(parallel=True, twin="numba"),
    "multiprocessing-shared": Traits(parallel=True, pooled=True, twin="numpy"),
    "simd": COMPILED_SERIAL,
    "simd-parallel": Traits(parallel=True, whole_run=True, twin="simd"),
    "dask": Traits(parallel=True, pooled=True, twin="simd"),
    "pythran": Traits(whole_run=True),
    "jax": Traits(whole_run=True),
    "cuda": Traits(gpu=True, whole_run=True),
    "cupy": Traits(gpu=True),
}

UNKNOWN = Traits()  # a plugin's: nothing is known of it before it loads


def traits(name):
    """The Traits of built-in backend `name`; a plugin's are all false (UNKNOWN)."""
    return TRAITS.get(name, UNKNOWN)


def having(trait):
    """The built-in backends with `trait` set, e.g. having("pooled")."""
    return frozenset(name for name, t in TRAITS.items() if getattr(t, trait))


# Each parallel backend and its serial twin.
TWINS = {name: t.twin for name, t in TRAITS.items() if t.twin}
