"""Numba: the pair loop compiled by `@njit`, past the lecture.

Two loops, each where it is fastest (the switch is at `SMALL` bodies, timed once per
machine and build): for a few bodies, every pair (i, j) twice, a loop of plain sums that LLVM
vectorizes with no set-up; for many, Newton's third law (each pair once, i < j, its force
added to i and taken from j), which halves the work. LLVM vectorizes that second loop
only when each row works on array slices, which cost a little to make, hence the small-N
loop. The row function is inlined into the loop over rows (`inline="always"`): a call per
row passing seven array slices had cost more than the row itself (0.73 of the C reference
at N = 1000, 0.95 inlined). Two rows per sweep, as in the limit kernel, measured the same
natively, but in the portable build (NUMBA_CPU_NAME=generic) its code loaded from Numba's
cache ran 25% slower than freshly compiled, which one row per sweep does not.

The kernels take 2-D arrays, positions (rows x, y, z) and accelerations (rows ax, ay,
az), and `derivatives` copies the (2, n, 3) state in and out in its own loops: passing
seven 1-D rows from function to function, and a copy helper per direction, had made a
call at N = 20 take 0.86 us (0.70 us now, the C reference's 0.64-0.67 us).

The fast-math flags leave out `nnan` and `ninf`: a collision must still give inf/nan for
the caller to detect; `error_model="numpy"` keeps a division by zero an inf rather than a
check that blocks vectorization. `cache=True` keeps the machine code on disk, so only the
first process on a machine pays the compile; benchmarks warm it up before timing.
"""

import hashlib
import inspect
import math
import time

import numpy as np

from ._boundary import Kernel
from ._choice import cache_folder, cpu_model, remembered
from .errors import BackendUnavailable

try:
    import llvmlite.binding
    import numba
    from numba import carray, cfunc, njit, prange, types
    from numba.core import config
except ImportError as exc:
    raise BackendUnavailable(
        f"numba is not installed ({exc}); fix: pip install numba "
        "(the project's extra: pip install '.[numba]')"
    ) from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def _enabled(features):
    """The features a comma-separated LLVM feature string turns on ("+avx2,-avx512f")."""
    return {f[1:] for f in features.split(",") if f.startswith("+")}


def _host_features():
    return _enabled(llvmlite.binding.get_host_cpu_features().flatten())


def vector_level():
    """The vector instructions Numba's pair loops get here: "avx512", "avx2" or "sse2".

    Numba compiles for the CPU features NUMBA_CPU_FEATURES names, or with
    NUMBA_CPU_NAME=generic for none beyond x86-64's SSE2, or else for this CPU's own.
    AVX without AVX2 counts as "sse2": below AVX2, LLVM keeps the square root scalar
    (docs/limit.md, "Numba against C"), so the loops behave as with SSE2.
    """
    features = config.CPU_FEATURES
    enabled = _host_features() if features is None else _enabled(features)
    if "avx512f" in enabled:
        return "avx512"
    if "avx2" in enabled:
        return "avx2"
    return "sse2"


jit = njit(cache=True, fastmath=FASTMATH, error_model="numpy")
inlined = njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")


def all_pairs_loop(p, m, a):
    """a = the accelerations, every pair twice, for positions p (rows x, y, z); compiled
    here serially and by numba_parallel over threads (`prange` is a plain `range` in a
    function compiled without parallel=True)."""
    n = p.shape[1]
    for i in prange(n):
        xi, yi, zi = p[0, i], p[1, i], p[2, i]
        sx = sy = sz = 0.0
        for j in range(n):
            dx = p[0, j] - xi
            dy = p[1, j] - yi
            dz = p[2, j] - zi
            r2 = dx * dx + dy * dy + dz * dz
            s = m[j] / (r2 * np.sqrt(r2)) if j != i else 0.0
            sx += s * dx
            sy += s * dy
            sz += s * dz
        a[0, i] = sx
        a[1, i] = sy
        a[2, i] = sz


all_pairs = jit(all_pairs_loop)


@inlined
def pair_row(xi, yi, zi, mi, x, y, z, m, ax, ay, az):
    """Row i of the triangle, given the slices [i + 1:]: returns the force sum on i."""
    sx = sy = sz = 0.0
    for k in range(x.shape[0]):
        dx = x[k] - xi
        dy = y[k] - yi
        dz = z[k] - zi
        r2 = dx * dx + dy * dy + dz * dz
        s = 1.0 / (r2 * np.sqrt(r2))
        sk = m[k] * s
        si = mi * s
        sx += sk * dx
        sy += sk * dy
        sz += sk * dz
        ax[k] -= si * dx
        ay[k] -= si * dy
        az[k] -= si * dz
    return sx, sy, sz


@jit
def half_pairs(p, m, a):
    """a = the accelerations, each pair once (Newton's third law), for positions p."""
    x, y, z = p[0], p[1], p[2]
    ax, ay, az = a[0], a[1], a[2]
    a[:] = 0.0
    for i in range(x.shape[0]):
        j = i + 1
        sx, sy, sz = pair_row(
            x[i], y[i], z[i], m[i], x[j:], y[j:], z[j:], m[j:], ax[j:], ay[j:], az[j:]
        )
        ax[i] += sx
        ay[i] += sy
        az[i] += sz


# Below SMALL bodies pair_accelerations runs all_pairs, from SMALL on half_pairs. Where
# they cross depends on the divider as much as on the vectors: all_pairs takes twice the
# square roots and divisions, with no set-up, so it wins up to about 85 bodies where the
# divider is fast (AMD Zen 5 with AVX-512; near 24 bodies with AVX2 there) and loses from
# a few bodies where it is slow (Intel with AVX-512, where half_pairs is 1.7x faster at
# the lecture's 20 bodies). So SMALL is timed on each machine and build the first time
# (`timed_small`, a fifth of a second) and kept for every later process
# (kernels._choice). With SSE2 only (the portable build), LLVM leaves all_pairs scalar and
# half_pairs is the faster from 8 bodies: SMALL is 0, untimed. The compiled code gets the
# switch as an argument (the C kernel through its context) or a closure's constant
# (`derivatives`), not as a global, which Numba would freeze into the code it caches on
# disk whatever the switch is later.
TIMED_SIZES = range(2, 129)


@jit
def _repeat_all_pairs(p, m, a, times):
    for _ in range(times):
        all_pairs(p, m, a)


@jit
def _repeat_half_pairs(p, m, a, times):
    for _ in range(times):
        half_pairs(p, m, a)


def time_loops(sizes=TIMED_SIZES, rounds=5):
    """{n: (all_pairs seconds, half_pairs seconds)} a call at each size n: the fastest of
    `rounds` rounds, the two loops alternating, each round about 100,000 pairs of calls
    repeated in compiled code (no dispatch between calls)."""
    rng = np.random.default_rng(0)
    times = {}
    for n in sizes:
        p = rng.standard_normal((3, n))
        m = rng.uniform(0.5, 2.0, n)
        a = np.empty((3, n))
        calls = max(1, 100_000 // (n * n))
        fastest = [math.inf, math.inf]
        for _ in range(rounds):
            for k, repeat in enumerate((_repeat_all_pairs, _repeat_half_pairs)):
                start = time.perf_counter()
                repeat(p, m, a, calls)
                fastest[k] = min(fastest[k], time.perf_counter() - start)
        times[n] = (fastest[0] / calls, fastest[1] / calls)
    return times


def crossover(times):
    """SMALL from `time_loops`' {n: (all_pairs, half_pairs)}: the switch that loses least
    against picking the faster loop at every size, the s minimizing the sum over n < s of
    log(all_pairs / half_pairs); 0 where all_pairs gains nothing. One switch, not a table:
    all_pairs' time steps at multiples of the vector width, so the faster loop can change
    back and forth below the crossover."""
    switch, lowest, total = 0, 0.0, 0.0
    for n in sorted(times):
        every, half = times[n]
        total += math.log(every / half)
        if total < lowest:
            switch, lowest = n + 1, total
    return switch


def compile_target():
    """What Numba generates code for: NUMBA_CPU_NAME and NUMBA_CPU_FEATURES, else "host"."""
    return f"{config.CPU_NAME or 'host'} {config.CPU_FEATURES or ''}".strip()


def _loops_source():
    """The source of the two loops and their compile flags (their bytecode where the source
    cannot be read)."""
    loops = (all_pairs_loop, pair_row.py_func, half_pairs.py_func)
    try:
        text = "".join(inspect.getsource(f) for f in loops)
    except (OSError, TypeError):
        text = "".join(repr((f.__code__.co_code, f.__code__.co_consts)) for f in loops)
    return f"{text}{sorted(FASTMATH)}".encode()


def small_key(target=None, level=None):
    """The machine (its CPU and the widest vectors Numba generates code for there,
    `vector_level()`), the code Numba generates (`compile_target()`) and the loops' own
    source: a switch timed for one CPU, build or version of the loops is not taken for
    another."""
    target = target or compile_target()
    digest = hashlib.sha256(_loops_source()).hexdigest()[:12]
    level = level or vector_level()
    return f"{cpu_model()} {level} | numba {numba.__version__} {target} | loops {digest}"


def _runs_here():
    """Whether this CPU runs the code Numba generates: NUMBA_CPU_FEATURES may name features
    it lacks, whose code must not be run to time it."""
    return config.CPU_FEATURES is None or _enabled(config.CPU_FEATURES) <= _host_features()


def timed_small(path=None):
    """SMALL on this machine and build: read from nbody-bench/numba-small.json in the
    user's cache (kernels._choice.cache_folder), or timed now and written there. Delete
    the file to time again. 0 (half_pairs from the start) with SSE2 only, and where the
    loops cannot be timed: with the JIT off, or for features this CPU lacks."""
    if vector_level() == "sse2":
        return 0
    key = small_key()

    def measure():
        if config.DISABLE_JIT or not _runs_here():
            return 0
        return crossover(time_loops())

    return remembered(
        path or cache_folder() / "numba-small.json",
        key,
        valid=lambda kept: type(kept) is int and 0 <= kept <= max(TIMED_SIZES) + 1,
        measure=measure,
    )


SMALL = timed_small()


@jit
def pair_accelerations(p, m, a, small):
    """a (3, n) = the accelerations for positions p (rows 0-2 x, y, z) and masses m: every
    pair twice below `small` bodies, each pair once from there."""
    if p.shape[1] < small:
        all_pairs(p, m, a)
    else:
        half_pairs(p, m, a)


@inlined
def to_columns(pos, p):
    """p (3, n) = the (n, 3) positions, one row per coordinate."""
    for i in range(pos.shape[0]):
        p[0, i] = pos[i, 0]
        p[1, i] = pos[i, 1]
        p[2, i] = pos[i, 2]


@inlined
def to_rate(vel, a, rate):
    """rate[0] = the (n, 3) velocities, rate[1] = the (3, n) accelerations a, as (n, 3)."""
    for i in range(vel.shape[0]):
        for c in range(3):
            rate[0, i, c] = vel[i, c]
            rate[1, i, c] = a[c, i]


@inlined
def rates(pos, vel, mass, rate, small):
    """rate (2, n, 3) = (velocities, accelerations) for positions and velocities (n, 3)."""
    work = np.empty((2, 3, pos.shape[0]))
    to_columns(pos, work[0])
    pair_accelerations(work[0], mass, work[1], small)
    to_rate(vel, work[1], rate)


def derivatives_switched_at(small):
    """`derivatives` with the switch at `small` bodies, a constant of the compiled code:
    Numba keys the code it caches on disk by a function's closure, so a switch timed again
    compiles anew (as an argument, it cost the lecture's loop of 4,000 calls a slower
    dispatch)."""

    @jit
    def derivatives(state, mass, rate):
        """rate[0] = velocities, rate[1] = accelerations, for state = (positions,
        velocities)."""
        rates(state[0], state[1], mass, rate, small)

    return derivatives


derivatives = derivatives_switched_at(SMALL)


# The derivative as a C function, for the checked call (kernels._boundary.Kernel): the
# same loops on the raw buffers, with no dispatch on argument types.
_double_pointer = types.CPointer(types.float64)


@cfunc(
    types.intc(types.voidptr, types.intp, *[_double_pointer] * 4),
    cache=True,
    fastmath=FASTMATH,
    error_model="numpy",
)
def kernel(context, n, pos, vel, mass, rate):
    small = carray(context, 1, np.int64)[0]  # the switch, SWITCH below
    positions, velocities = carray(pos, (n, 3)), carray(vel, (n, 3))
    rates(positions, velocities, carray(mass, n), carray(rate, (2, n, 3)), small)
    return 0


SWITCH = np.array([SMALL], dtype=np.int64)  # the C kernel's context
KERNEL = Kernel.at(kernel.address, (kernel, SWITCH), SWITCH.ctypes.data)


def integrate(initial, mass, steps, frame_ends, frames):
    """The whole midpoint-RK2 run: frame k is recorded after step frame_ends[k] - 1."""
    whole_run(initial, mass, steps, frame_ends, frames, SMALL)


@jit
def whole_run(initial, mass, steps, frame_ends, frames, small):
    """`integrate`, compiled: the state stays in structure-of-arrays form (x, y, z, vx, vy,
    vz) for the whole run, so no step pays for converting it; the arithmetic is the Python
    loop's, step for step."""
    n = initial.shape[1]
    y = np.empty((6, n))
    for c in range(3):
        for i in range(n):
            y[c, i] = initial[0, i, c]
            y[3 + c, i] = initial[1, i, c]
    mid = np.empty((6, n))
    acc = np.empty((3, n))
    start = 0
    for k in range(frame_ends.shape[0]):
        for s in range(start, frame_ends[k]):
            h = steps[s]
            pair_accelerations(y, mass, acc, small)
            for c in range(3):
                for i in range(n):
                    mid[c, i] = y[c, i] + y[3 + c, i] * (0.5 * h)
                    mid[3 + c, i] = y[3 + c, i] + acc[c, i] * (0.5 * h)
            pair_accelerations(mid, mass, acc, small)
            for c in range(3):
                for i in range(n):
                    y[c, i] = y[c, i] + mid[3 + c, i] * h
                    y[3 + c, i] = y[3 + c, i] + acc[c, i] * h
        start = frame_ends[k]
        for c in range(3):
            for i in range(n):
                frames[k, i, c] = y[c, i]
