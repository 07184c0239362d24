"""The `cuda` backend's device code: the tiled kernel, the RK2 stage kernels and one pair's
arithmetic, as numba-cuda kernels. Importing this module needs numba-cuda and no GPU, so
the kernels can be compiled for a GPU that is not there (`nbody_bench.sass` counts one
pair's instructions that way); `kernels.cuda` is the backend that runs them.
"""

from __future__ import annotations

import math
import os
import warnings

from numba import cuda, float64

SIMULATED = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def _register_under_numpy_2_5():
    """numba-cuda (0.30 and before; in maintenance mode, NVIDIA/numba-cuda#907 will not be
    fixed) registers a typing for np.row_stack when it first compiles a kernel, and NumPy
    2.5 removed np.row_stack: under NumPy 2.5 no kernel compiles ("module 'numpy' has no
    attribute 'row_stack'"). So its array registry is imported here, once, with the name
    in place for the import only, as the alias of np.vstack it always was."""
    import numpy as np

    if SIMULATED or hasattr(np, "row_stack"):
        return
    np.row_stack = np.vstack  # noqa: NPY201 (the name, put back for the import)
    try:
        import numba.cuda.np.arrayobj  # noqa: F401
    except ImportError:  # a numba-cuda without its own array registry: nothing to do
        pass
    finally:
        del np.row_stack  # noqa: NPY201


_register_under_numpy_2_5()
TILE = 128  # bodies per shared-memory tile, and the per-call kernel's threads a block
TILES = (64, 128, 256)  # the tile sizes the GPU run times (bench/test_gpu.py)
# The most threads a block may hold on every NVIDIA GPU since compute capability 2.0: the
# whole run is one launch of one block up to this many bodies, one thread each, the
# bodies staged through the shared memory a tile at a time as in the per-call kernel.
ONE_BLOCK = 1024
WARP = 32  # threads that issue together: a block's threads are rounded up to it


def _one_block_bounds():
    """cuda.jit's options for the one-block kernel: a launch bound of ONE_BLOCK threads,
    so that the compiler keeps it within the registers a block of 1,024 threads has (64 a
    thread), spilling if it must, instead of a launch that fails "too many resources
    requested". Not on the simulator, whose jit has no such option, or a numba-cuda
    without it."""
    import inspect

    if SIMULATED:
        return {}
    try:
        known = inspect.signature(cuda.jit).parameters
    except (TypeError, ValueError):
        return {}
    return {"launch_bounds": (ONE_BLOCK,)} if "launch_bounds" in known else {}


PAIRS = ("rsqrt", "divide")  # one pair's arithmetic: kernels.cuda's notes
PAIR = "rsqrt"


def _inverse_root():
    """1 / sqrt(x) in float64 as a device function: libdevice's rsqrt on a GPU. The
    simulator has no libdevice (its stubs return None), so there the tests run the same
    kernels with 1 / sqrt(x) in its place; the GPU run checks libdevice's against the
    reference (bench/test_equivalence.py, tests/test_gpu.py under .ci/gpu). The simulator
    runs device code as Python, where 1.0 / 0.0 raises ZeroDivisionError: at x = 0 (two
    bodies at one position) it gives inf, as the GPU's IEEE arithmetic does, so that a
    collision is detected from the result on both (kernels.registry.Backend)."""
    if SIMULATED:

        @cuda.jit(device=True, inline=True)
        def inverse_root(x):
            return 1.0 / math.sqrt(x) if x > 0 else math.inf

        return inverse_root
    from numba.cuda import libdevice

    return libdevice.rsqrt


# numba-cuda warns (NumbaPerformanceWarning) of every launch of fewer than 128 blocks as
# low occupancy, a beginner's mistake it guesses at. Here a small grid is the workload's:
# N = 1000 is 8 blocks, and the lecture's whole run is one block by design (the GPU table
# shows what small N costs), so the launches below are made without that warning.
LOW_OCCUPANCY = r"Grid size \d+ will likely result in GPU under-utilization"


def configured(kernel, grid, block, launches):
    """kernel[grid, block], made once per (kernel, grid, block) and kept in `launches` (a
    dict): numba-cuda gives its low-occupancy warning when the launch is made, so it is
    held back there, once, and not on every call."""
    key = (kernel, grid, block)
    launch = launches.get(key)
    if launch is None:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=LOW_OCCUPANCY)
            launch = launches[key] = kernel[grid, block]
        if SIMULATED:
            launch = launches[key] = _quiet(launch)
    return launch


def _quiet(launch):
    """The simulator's launch without NumPy's floating-point warnings: it runs device code
    on NumPy scalars, which warn of what the GPU's IEEE arithmetic does silently (inf * 0
    is nan at a collision, which the checked call then finds in the result). Its threads
    are Python threads, which np.errstate (a context variable) does not reach, so the
    warnings are filtered, for the launch only."""

    def run(*args):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", FP_WARNINGS, RuntimeWarning)
            return launch(*args)

    return run


FP_WARNINGS = r"(.*: )?(invalid value|divide by zero|overflow) encountered"


def kernels_for(tile, pair=PAIR):
    """The CUDA kernels with `tile` bodies a shared-memory tile (a compile-time constant,
    the shared array's size) and one pair's arithmetic `pair` (one of PAIRS). They take
    their threads a block from the launch: as many as the tile, fewer or more."""
    if pair not in PAIRS:
        raise ValueError(f"pair={pair!r}: choose one of {', '.join(PAIRS)}")
    inverse_root = _inverse_root()

    if pair == "rsqrt":

        @cuda.jit(device=True, inline=True)
        def scale(mj, r2):
            """m_j / r^3 from one reciprocal square root, cubed."""
            inverse = inverse_root(r2)
            return mj * (inverse * inverse * inverse)

    else:

        @cuda.jit(device=True, inline=True)
        def scale(mj, r2):
            """m_j / r^3 from a square root and a division, each rounded correctly."""
            return mj / (r2 * math.sqrt(r2))

    @cuda.jit(device=True, inline=True)
    def pull(xi, yi, zi, sx, sy, sz, sm, k):
        """The pull of the tile's body k on body (xi, yi, zi)."""
        dx = sx[k] - xi
        dy = sy[k] - yi
        dz = sz[k] - zi
        s = scale(sm[k], dx * dx + dy * dy + dz * dz)
        return s * dx, s * dy, s * dz

    @cuda.jit(device=True, inline=True)
    def tiled_sum(p, m, n, i, tx, threads, staged):
        """Body i's acceleration from every body j, the bodies staged tile by tile through
        `staged`, the block's shared (4, tile) array: rows x, y, z, m. Every one of the
        block's `threads` threads calls it, tx its index (i may be past n: it loads, it
        does not sum); each loads every threads-th body of a tile, so a block may hold
        fewer threads than a tile or more. Only the tile that holds body i tests for its
        own term: in the others every pair counts."""
        sx, sy, sz, sm = staged[0], staged[1], staged[2], staged[3]
        inside = i < n
        xi = p[0, i] if inside else 0.0
        yi = p[1, i] if inside else 0.0
        zi = p[2, i] if inside else 0.0
        ax = 0.0
        ay = 0.0
        az = 0.0
        for start in range(0, n, tile):
            for s in range(tx, tile, threads):
                j = start + s
                if j < n:
                    sx[s] = p[0, j]
                    sy[s] = p[1, j]
                    sz[s] = p[2, j]
                    sm[s] = m[j]
            cuda.syncthreads()
            if inside:
                count = min(tile, n - start)
                own = i - start  # body i's place in this tile, if it is in it
                if 0 <= own < count:
                    for k in range(count):
                        if k != own:
                            fx, fy, fz = pull(xi, yi, zi, sx, sy, sz, sm, k)
                            ax += fx
                            ay += fy
                            az += fz
                else:
                    for k in range(count):
                        fx, fy, fz = pull(xi, yi, zi, sx, sy, sz, sm, k)
                        ax += fx
                        ay += fy
                        az += fz
            cuda.syncthreads()  # before the next tile overwrites this one
        return ax, ay, az

    @cuda.jit
    def accelerations(p, m, a):
        """a (3, n) = the accelerations for positions p (3, n): one thread per body."""
        staged = cuda.shared.array((4, tile), float64)
        n = m.shape[0]
        tx = cuda.threadIdx.x
        i = cuda.blockIdx.x * cuda.blockDim.x + tx
        ax, ay, az = tiled_sum(p, m, n, i, tx, cuda.blockDim.x, staged)
        if i < n:
            a[0, i] = ax
            a[1, i] = ay
            a[2, i] = az

    @cuda.jit(device=True, inline=True)
    def advance(y, source, ax, ay, az, h, out, i):
        """Body i of one RK2 stage: out = y + h * (source's velocities, (ax, ay, az)).
        Each thread reads and writes body i only, so out may be y itself."""
        out[0, i] = y[0, i] + source[3, i] * h
        out[1, i] = y[1, i] + source[4, i] * h
        out[2, i] = y[2, i] + source[5, i] * h
        out[3, i] = y[3, i] + ax * h
        out[4, i] = y[4, i] + ay * h
        out[5, i] = y[5, i] + az * h

    @cuda.jit
    def stage(y, source, a, h, out):
        """One RK2 stage's update for every body, accelerations a (3, n) given: the first
        half-step is stage(y, y, a, h / 2, mid), the full step stage(y, mid, a, h, y)."""
        i = cuda.grid(1)
        if i < y.shape[1]:
            advance(y, source, a[0, i], a[1, i], a[2, i], h, out, i)

    @cuda.jit
    def record(y, frames, k):
        """frames[k] = the positions (3, n) of y."""
        i = cuda.grid(1)
        if i < y.shape[1]:
            for c in range(3):
                frames[k, c, i] = y[c, i]

    @cuda.jit(**_one_block_bounds())
    def one_block_run(y, mid, m, steps, frame_ends, frames):
        """The whole run in one block of at least n threads (up to ONE_BLOCK), one a body,
        the bodies staged a tile at a time: stages apart by the block's barrier. Stage 1
        reads y and writes mid; stage 2 reads mid and writes y, each thread its own body;
        the barrier makes one stage's writes visible to the next."""
        staged = cuda.shared.array((4, tile), float64)
        n = m.shape[0]
        i = cuda.threadIdx.x
        threads = cuda.blockDim.x
        start = 0
        for k in range(frame_ends.shape[0]):
            for s in range(start, frame_ends[k]):
                h = steps[s]
                ax, ay, az = tiled_sum(y, m, n, i, i, threads, staged)
                if i < n:
                    advance(y, y, ax, ay, az, 0.5 * h, mid, i)
                cuda.syncthreads()
                ax, ay, az = tiled_sum(mid, m, n, i, i, threads, staged)
                if i < n:
                    advance(y, mid, ax, ay, az, h, y, i)
                cuda.syncthreads()
            start = frame_ends[k]
            if i < n:
                frames[k, 0, i] = y[0, i]
                frames[k, 1, i] = y[1, i]
                frames[k, 2, i] = y[2, i]

    return accelerations, stage, record, one_block_run, pull
