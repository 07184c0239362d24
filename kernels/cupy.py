"""CuPy: the NumPy lesson on the GPU, the numpy backend's broadcasting on CuPy arrays.

The same source as the numpy backend (`kernels.numpy.block_accelerations`, given CuPy as
its array library): the pairs as arrays, the rows in blocks sized so a call's temporaries
stay near DEVICE_BLOCK_BYTES of device memory (one block up to 5,181 bodies). Each call
copies the positions and masses to the device and the accelerations back, as a NumPy user
who swaps `np` for `cupy` would; CuPy launches one kernel per array operation.

The kernels' own time, without the copies, comes from CuPy's CUDA events recorded
around the arithmetic on inputs already on the device (`device_seconds`).

Without CuPy or without a GPU, importing raises BackendUnavailable with the fix; nothing
touches the GPU before that check (`cupy.cuda.runtime.getDeviceCount()`).
"""

from ._timing import event_seconds
from .errors import BackendUnavailable
from .numpy import DEVICE_BLOCK_BYTES, block_accelerations, block_rows

try:
    import cupy
except ImportError as exc:
    raise BackendUnavailable(
        f"CuPy is not installed ({exc}); fix: pip install cupy-cuda12x or cupy-cuda13x, "
        "the wheel for the machine's CUDA version (CUDA 13: pip install '.[cupy]')"
    ) from exc

try:
    devices = cupy.cuda.runtime.getDeviceCount()
except cupy.cuda.runtime.CUDARuntimeError as exc:
    raise BackendUnavailable(
        f"no CUDA GPU here ({exc}); fix: run on a machine with an NVIDIA GPU and its driver"
    ) from exc
if devices == 0:
    raise BackendUnavailable("no CUDA GPU here; fix: run on a machine with an NVIDIA GPU")


DEVICE_TIMING = "CUDA events (CuPy) around the arithmetic"


def accelerations(pos, mass):
    return cupy.asnumpy(_on_device(cupy.asarray(pos), cupy.asarray(mass)))


def _on_device(p, m):
    """The (n, 3) accelerations of device arrays p (n, 3) and m (n,), on the device."""
    n = len(m)
    rows = block_rows(n, DEVICE_BLOCK_BYTES)
    if rows == n:
        acc = block_accelerations(p, p, m, 0, xp=cupy)
    else:
        acc = cupy.empty_like(p)
        for first in range(0, n, rows):
            acc[first : first + rows] = block_accelerations(
                p[first : first + rows], p, m, first, xp=cupy
            )
    return acc


def device_seconds(state, mass, rounds):
    """The arithmetic's own seconds on the GPU, call by call: `rounds` runs on the
    positions of state and the masses, uploaded once, each timed by CuPy's CUDA events
    recorded around it on the current stream (kernels._timing)."""
    p, m = cupy.asarray(state[0]), cupy.asarray(mass)
    return event_seconds(
        lambda: _on_device(p, m), rounds, cupy.cuda.Event, cupy.cuda.get_elapsed_time
    )
