"""CuPy: the NumPy lesson on the GPU, the numpy backend's broadcasting on CuPy arrays.

The same source as the numpy backend (`kernels.numpy.block_accelerations`, given CuPy as
its array library): the pairs as arrays, the rows in blocks sized so a call's temporaries
stay near DEVICE_BLOCK_BYTES of device memory (one block up to 5,181 bodies). Each call
copies the positions and masses to the device and the accelerations back, as a NumPy user
who swaps `np` for `cupy` would; CuPy launches one kernel per array operation.

Without CuPy or without a GPU, importing raises BackendUnavailable with the fix; nothing
touches the GPU before that check (`cupy.cuda.runtime.getDeviceCount()`).
"""

from .errors import BackendUnavailable
from .numpy import DEVICE_BLOCK_BYTES, block_accelerations, block_rows

try:
    import cupy
except ImportError as exc:
    raise BackendUnavailable(
        f"CuPy is not installed ({exc}); fix: pip install cupy-cuda12x or cupy-cuda13x, "
        "the wheel for the machine's CUDA version"
    ) from exc

try:
    devices = cupy.cuda.runtime.getDeviceCount()
except cupy.cuda.runtime.CUDARuntimeError as exc:
    raise BackendUnavailable(
        f"no CUDA GPU here ({exc}); fix: run on a machine with an NVIDIA GPU and its driver"
    ) from exc
if devices == 0:
    raise BackendUnavailable("no CUDA GPU here; fix: run on a machine with an NVIDIA GPU")


def accelerations(pos, mass):
    n = len(mass)
    p, m = cupy.asarray(pos), cupy.asarray(mass)
    rows = block_rows(n, DEVICE_BLOCK_BYTES)
    if rows == n:
        acc = block_accelerations(p, p, m, 0, xp=cupy)
    else:
        acc = cupy.empty_like(p)
        for first in range(0, n, rows):
            acc[first : first + rows] = block_accelerations(
                p[first : first + rows], p, m, first, xp=cupy
            )
    return cupy.asnumpy(acc)
