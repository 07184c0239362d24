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
  frames come back once at the end. Up to TILE bodies the whole integration is one
  launch of one block, its stages separated by the block's barrier (a launch costs more
  than 20 bodies' work); beyond, each stage is a launch of the tiled kernel and an
  update kernel.

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

from ._cuda_device import PAIR, PAIRS, SIMULATED, TILE, configured, kernels_for

COMPILED = True
__all__ = ["PAIR", "PAIRS", "TILE", "Device", "derivatives", "fp64_peak", "integrate"]


class Device:
    """The kernels for one tile size and pair arithmetic, and the device buffers of the
    last N, reused from call to call (a lock makes concurrent callers take turns on them)."""

    def __init__(self, tile=TILE, pair=PAIR):
        self.tile = tile
        self.pair = pair
        kernels = kernels_for(tile, pair)
        self.accelerations, self.stage, self.record, self.one_block_run, _ = kernels
        self.lock = threading.Lock()
        self.n = None
        self.launches = {}  # kernel[grid, block] by launch shape (_cuda_device.configured)

    def launch(self, kernel, grid):
        """kernel[grid, self.tile], made once per grid (without the low-occupancy warning)."""
        return configured(kernel, grid, self.tile, self.launches)

    def _buffers(self, n):
        if self.n != n:
            self.p = cuda.device_array((3, n))
            self.m = cuda.device_array(n)
            self.a = cuda.device_array((3, n))
            self.host = cuda.pinned_array((3, n)) if not SIMULATED else np.empty((3, n))
            self.n = n

    def blocks(self, n):
        return (n + self.tile - 1) // self.tile

    def derivatives(self, state, mass, rate):
        """rate[0] = velocities, rate[1] = accelerations, computed on the GPU."""
        n = state.shape[1]
        with self.lock:
            self._buffers(n)
            self.host[...] = state[0].T
            self.p.copy_to_device(self.host)
            self.m.copy_to_device(mass)
            self.launch(self.accelerations, self.blocks(n))(self.p, self.m, self.a)
            self.a.copy_to_host(self.host)
            rate[0] = state[1]
            rate[1] = self.host.T

    def integrate(self, initial, mass, steps, frame_ends, frames, one_block=None):
        """The whole RK2 run on the device; frames (count, n, 3) copied back once.
        `one_block`: force (True) or refuse (False) the one-launch run; None chooses it
        up to ONE_BLOCK bodies."""
        n = initial.shape[1]
        if one_block is None:
            one_block = n <= self.tile
        y = cuda.to_device(np.ascontiguousarray(initial.transpose(0, 2, 1).reshape(6, n)))
        mid = cuda.device_array((6, n))
        m = cuda.to_device(np.ascontiguousarray(mass))
        out = cuda.device_array((len(frame_ends), 3, n))
        if one_block:
            if n > self.tile:
                raise ValueError(f"the one-block run takes up to {self.tile} bodies, not {n}")
            self.launch(self.one_block_run, 1)(
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
# Where the clock cannot be read: the vendor's datasheet FP64 rate (no tensor cores).
FP64_PEAK_BY_NAME = {"H200": 34e12, "H100 SXM": 34e12, "H100 PCIe": 26e12, "A100": 9.7e12}


def fp64_peak():
    """(FLOP/s, how it was found) for the current GPU's FP64 arithmetic, without tensor
    cores: multiprocessors x FMA units x 2 x clock, or the datasheet by the device's name."""
    device = cuda.get_current_device()
    name = device.name.decode() if isinstance(device.name, bytes) else str(device.name)
    per_sm = FP64_FMA_PER_SM.get(tuple(device.compute_capability), 2)
    try:
        clock = device.CLOCK_RATE * 1e3  # kHz
    except Exception:  # CUDA 13 may not report it
        clock = None
    if clock:
        peak = device.MULTIPROCESSOR_COUNT * per_sm * 2 * clock
        return peak, (
            f"{name}: {device.MULTIPROCESSOR_COUNT} SMs x {per_sm} FP64 FMA x 2 x "
            f"{clock / 1e9:.3g} GHz"
        )
    for key, peak in FP64_PEAK_BY_NAME.items():
        if key in name:
            return peak, f"{name}: the datasheet's {peak / 1e12:g} TFLOP/s"
    return None, f"{name}: unknown FP64 rate"


_device = Device()


def derivatives(state, mass, rate):
    _device.derivatives(state, mass, rate)


def integrate(initial, mass, steps, frame_ends, frames):
    _device.integrate(initial, mass, steps, frame_ends, frames)
