"""numba-cuda: the tiled all-pairs kernel on an NVIDIA GPU, float64 throughout.

One thread per body i; the block stages the bodies j through shared memory a tile at a
time (TILE bodies, one per thread), and every thread of the block sums the pulls of that
tile on its own body before the next tile comes in (Nyland, Harris and Prins, "Fast
N-Body Simulation with CUDA", GPU Gems 3, ch. 31). Positions live on the device as
structure-of-arrays rows (x, y, z), so each load of a tile is coalesced.

Two modes, as the other compiled backends have:

- per call (`derivatives`): positions and masses to the device, one launch, the
  accelerations back;
- whole run (`integrate`): the state stays on the device for the whole RK2 run and the
  frames come back once at the end. Up to ONE_BLOCK bodies (1,024, the most threads a
  block holds) the whole integration is one launch of one block, a thread a body, its
  stages separated by the block's barrier (a launch costs more than 20 bodies' work);
  beyond, each stage is a launch of the tiled kernel and an update kernel. The block's
  threads are decoupled from the tile: the one block stages its bodies TILE at a time.

The kernel's own time, without the copies and the host's work around it, comes from CUDA
events recorded around the launch (`device_seconds`, `Device.kernel_seconds`): the GPU
run reports it beside the end-to-end call (bench/test_gpu.py).

Nothing touches the GPU at import beyond asking numba whether one is there
(`cuda.is_available()`); without one, importing raises BackendUnavailable with the fix.
One pair's arithmetic comes in two forms (`PAIRS`): "rsqrt", the default, takes the
inverse distance from one reciprocal square root (libdevice's `rsqrt`) and cubes it with
multiplies; "divide" takes a square root and a division, each rounded correctly, as the
CPU kernels do. FP64 has no hardware square root, reciprocal or division on NVIDIA GPUs:
each is an approximation from the special-function unit refined by FP64 Newton steps, so
the two forms take 17 and 26 FP64 instructions a pair as compiled for an H200, which
bounds them at 59% and 38% of the FP64 peak by the 20-flop count (`./dev sass`; docs/gpu.md,
"What one pair costs on the GPU"). The kernels themselves are in `kernels._cuda_device`,
importable without a GPU.

With NUMBA_ENABLE_CUDASIM=1 the kernels run on Numba's CUDA simulator, on the CPU (slow:
each GPU thread is a Python thread), which is how the tests check the indexing, the tiling
and the barriers on machines without a GPU (`kernels_for(tile)` builds them with a small
tile, so a few bodies span several tiles).
"""

from __future__ import annotations

import threading

import numpy as np

from .errors import BackendUnavailable

try:
    from numba import cuda
except ImportError as exc:
    raise BackendUnavailable(
        f"numba-cuda is not installed ({exc}); fix: pip install '.[cuda]' (numba-cuda)"
    ) from exc

if not cuda.is_available():
    raise BackendUnavailable(
        "no CUDA GPU here (numba.cuda.is_available() is False: no NVIDIA GPU, or no driver); "
        "fix: run on a machine with an NVIDIA GPU and its driver, or set "
        "NUMBA_ENABLE_CUDASIM=1 to run the kernels on Numba's CPU simulator (for tests)"
    )

from ._cuda_device import (
    ONE_BLOCK,
    PAIR,
    PAIRS,
    SIMULATED,
    TILE,
    TILES,
    WARP,
    configured,
    kernels_for,
)
from ._timing import EventTimingError, event_seconds

COMPILED = True
DEVICE_TIMING = "CUDA events (numba-cuda) around the launch"
__all__ = [
    "DEVICE_TIMING",
    "ONE_BLOCK",
    "PAIR",
    "PAIRS",
    "TILE",
    "TILES",
    "Device",
    "EventTimingError",
    "derivatives",
    "device_seconds",
    "fp64_peak",
    "integrate",
]


class Device:
    """The kernels for one tile size and pair arithmetic, and the device buffers of the
    last N, reused from call to call (a lock makes concurrent callers take turns on them).
    `threads`: the per-call kernel's threads a block (default: the tile's bodies)."""

    def __init__(self, tile=TILE, pair=PAIR, threads=None):
        self.tile = tile
        self.pair = pair
        self.threads = threads or tile
        if not 1 <= self.threads <= ONE_BLOCK:
            raise ValueError(f"threads={threads!r}: a block holds 1 to {ONE_BLOCK} threads")
        kernels = kernels_for(tile, pair)
        self.accelerations, self.stage, self.record, self.one_block_run, _ = kernels
        self.lock = threading.Lock()
        self.n = None
        self.launches = {}  # kernel[grid, block] by launch shape (_cuda_device.configured)

    def launch(self, kernel, grid, threads=None):
        """kernel[grid, threads], self.threads by default, made once per shape (without the
        low-occupancy warning)."""
        return configured(kernel, grid, threads or self.threads, self.launches)

    def _buffers(self, n):
        if self.n != n:
            self.p = cuda.device_array((3, n))
            self.m = cuda.device_array(n)
            self.a = cuda.device_array((3, n))
            self.host = cuda.pinned_array((3, n)) if not SIMULATED else np.empty((3, n))
            self.n = n

    def blocks(self, n):
        return (n + self.threads - 1) // self.threads

    def _upload(self, state, mass):
        n = state.shape[1]
        self._buffers(n)
        self.host[...] = state[0].T
        self.p.copy_to_device(self.host)
        self.m.copy_to_device(mass)
        return self.launch(self.accelerations, self.blocks(n))

    def derivatives(self, state, mass, rate):
        """rate[0] = velocities, rate[1] = accelerations, computed on the GPU."""
        with self.lock:
            self._upload(state, mass)(self.p, self.m, self.a)
            self.a.copy_to_host(self.host)
            rate[0] = state[1]
            rate[1] = self.host.T

    def kernel_seconds(self, state, mass, rounds):
        """The tiled kernel's own seconds, launch by launch: `rounds` launches on the
        positions and masses of (state, mass), uploaded once, each timed by CUDA events
        recorded around it on the default stream (kernels._timing)."""
        with self.lock:
            launch = self._upload(state, mass)
            return event_seconds(
                lambda: launch(self.p, self.m, self.a),
                rounds,
                cuda.event,
                lambda start, end: start.elapsed_time(end),
            )

    def integrate(self, initial, mass, steps, frame_ends, frames, one_block=None):
        """The whole RK2 run on the device; frames (count, n, 3) copied back once.
        `one_block`: force (True) or refuse (False) the one-launch run; None chooses it
        up to ONE_BLOCK bodies."""
        n = initial.shape[1]
        if one_block is None:
            one_block = n <= ONE_BLOCK
        y = cuda.to_device(np.ascontiguousarray(initial.transpose(0, 2, 1).reshape(6, n)))
        mid = cuda.device_array((6, n))
        m = cuda.to_device(np.ascontiguousarray(mass))
        out = cuda.device_array((len(frame_ends), 3, n))
        if one_block:
            if n > ONE_BLOCK:
                raise ValueError(f"the one-block run takes up to {ONE_BLOCK} bodies, not {n}")
            threads = -(-n // WARP) * WARP  # a thread a body, in whole warps
            self.launch(self.one_block_run, 1, threads)(
                y, mid, m, cuda.to_device(steps), cuda.to_device(frame_ends), out
            )
        else:
            a = cuda.device_array((3, n))
            grid = self.blocks(n)
            accelerations = self.launch(self.accelerations, grid)
            stage = self.launch(self.stage, grid)
            start = 0
            for k, end in enumerate(frame_ends.tolist()):
                for h in steps[start:end].tolist():
                    accelerations(y, m, a)
                    stage(y, y, a, 0.5 * h, mid)
                    accelerations(mid, m, a)
                    stage(y, mid, a, h, y)
                start = end
                self.launch(self.record, grid)(y, out, k)
        frames[...] = out.copy_to_host().transpose(0, 2, 1)


# FP64 fused multiply-adds per clock per multiprocessor, by compute capability (NVIDIA's
# CUDA C++ Programming Guide, "Arithmetic Instructions"): the data-centre parts; the others
# run FP64 at 1/32 or 1/64 of FP32, 2 per clock.
FP64_FMA_PER_SM = {(6, 0): 32, (7, 0): 32, (8, 0): 32, (9, 0): 64, (10, 0): 64}
# Where the clock cannot be read: the vendor's datasheet FP64 rate (no tensor cores), by
# the name the device reports ("NVIDIA H100 80GB HBM3" is the SXM part, "NVIDIA H100 NVL"
# and "NVIDIA H200 NVL" the PCIe cards of 30 TFLOP/s), the first pattern found in it.
FP64_PEAK_BY_NAME = (
    ("H200 NVL", 30e12),
    ("H200", 34e12),
    ("H100 NVL", 30e12),
    ("H100 PCIe", 26e12),
    ("H100 SXM", 34e12),
    ("H100 80GB HBM3", 34e12),
    ("A100", 9.7e12),
)


def fp64_peak():
    """(FLOP/s, how it was found) for the current GPU's FP64 arithmetic, without tensor
    cores: multiprocessors x FMA units x 2 x clock, or the datasheet by the device's name."""
    device = cuda.get_current_device()
    name = getattr(device, "name", None) or "an unnamed device"  # the simulator's has none
    name = name.decode() if isinstance(name, bytes) else str(name)
    per_sm = FP64_FMA_PER_SM.get(tuple(getattr(device, "compute_capability", ())), 2)
    try:
        clock = device.CLOCK_RATE * 1e3  # kHz
        device.MULTIPROCESSOR_COUNT  # noqa: B018 (asked here, where a failure is caught)
    except Exception:  # CUDA 13 may not report the clock; the simulator reports neither
        clock = None
    if clock:
        peak = device.MULTIPROCESSOR_COUNT * per_sm * 2 * clock
        return peak, (
            f"{name}: {device.MULTIPROCESSOR_COUNT} SMs x {per_sm} FP64 FMA x 2 x "
            f"{clock / 1e9:.3g} GHz"
        )
    for key, peak in FP64_PEAK_BY_NAME:
        if key in name:
            return peak, f"{name}: the datasheet's {peak / 1e12:g} TFLOP/s"
    return None, f"{name}: unknown FP64 rate"


_device = Device()


def derivatives(state, mass, rate):
    _device.derivatives(state, mass, rate)


def integrate(initial, mass, steps, frame_ends, frames):
    _device.integrate(initial, mass, steps, frame_ends, frames)


def device_seconds(state, mass, rounds):
    """The backend's own kernel (the one `derivatives` launches), timed by CUDA events:
    seconds of each of `rounds` launches, inputs uploaded once (Device.kernel_seconds)."""
    return _device.kernel_seconds(state, mass, rounds)
