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

import json
import os
import platform
from pathlib import Path

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


def choices_file():
    """Where the variant chosen on this machine is kept: $NBODY_BENCH_CACHE_DIR, else the
    user's cache folder ($XDG_CACHE_HOME or ~/.cache), nbody-bench/simd-variant.json."""
    folder = os.environ.get("NBODY_BENCH_CACHE_DIR")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        folder = Path(base) / "nbody-bench"
    return Path(folder) / "simd-variant.json"


def machine_key():
    """The CPU's model and the variants this build runs on it: a choice made for one build
    (native or portable) or one CPU is not taken for another."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                model,
            )
    except OSError:
        pass
    usable = [v for i, v in enumerate(VARIANTS) if _limit.runs(i)]
    return f"{model} | {' '.join(usable)}"


def _locked(handle):
    """Hold an exclusive lock on `handle` where the platform has flock (pytest-xdist's
    workers start together; one of them times, the others read its choice)."""
    try:
        import fcntl
    except ImportError:  # no flock: the last to time wins; each process keeps its own
        return
    fcntl.flock(handle, fcntl.LOCK_EX)


def remembered_variant(path=None):
    """The variant chosen on this machine and build: read from `choices_file()`, or timed
    now (`_limit.best`, the fastest of five interleaved rounds on 1,024 bodies) and written
    there, atomically, for every later process. Delete the file to time again."""
    path = Path(path or choices_file())
    key = machine_key()
    usable = {v for i, v in enumerate(VARIANTS) if _limit.runs(i)}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "a")
    except OSError:  # no writable cache: time in this process only
        return _limit.best()
    with lock:
        _locked(lock)
        try:
            choices = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(choices, dict):
                choices = {}
        except (OSError, ValueError):
            choices = {}
        name = choices.get(key)
        if name in usable:
            return VARIANTS.index(name)
        variant = _limit.best()
        choices[key] = VARIANTS[variant]
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            part.write_text(json.dumps(choices, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(part, path)
        except OSError:
            part.unlink(missing_ok=True)
        return variant


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
