"""JAX: the NumPy backend's broadcasting under `jax.jit`, compiled by XLA for the CPU, or
for the GPU where JAX sees one, in float64.

Float64 without surprising the caller's own JAX code: JAX computes in float32 unless
64-bit types are enabled, and enabling them process-wide (`jax_enable_x64`) would change
the dtypes of every other JAX user in the process. Each call here enables them only for
itself, with the scoped `jax.enable_x64(True)` (JAX >= 0.8; thread-local), under which it
traces, compiles and runs; code outside the call sees JAX as it was.

Memory: as in the NumPy backend, rows go in blocks (`kernels.numpy.block_rows`), here a
`lax.map` over blocks of rows, so the temporaries stay near 256 MB at any n (2 GiB on a
GPU, where each step of the map costs launches: at N = 1e6, 26 rows a step, not 3). The
whole-run mode is the entire RK2 run as one jitted loop: no Python between steps.

Small calls on a busy machine: JAX's CPU client dispatches each computation to a thread
of its own and the caller waits for it, so every call pays for that thread being
scheduled. With the other core of a 2-vCPU machine busy, the lecture's 2000 calls took
2.3-4x as long as on an idle one (180-390 ms against 78-98 ms), where NumPy's and the
compiled backends' calls, made on the caller's thread, moved by at most 1.9x; with
`jax_cpu_enable_async_dispatch` off (JAX_CPU_ENABLE_ASYNC_DISPATCH=false), which runs a
computation on the calling thread, busy and idle both took 74 ms (docs/calibration.md,
"JAX's dispatches"). That flag is process-wide and read once, when JAX makes its CPU
client, so this module leaves it as the user's process has it.
"""

import time
from functools import partial

import numpy as np

from .errors import BackendUnavailable
from .numpy import DEVICE_BLOCK_BYTES, block_rows

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError as exc:
    raise BackendUnavailable(
        f"JAX is not installed ({exc}); fix: pip install 'jax>=0.8' (the project's extra: "
        "pip install '.[jax]')"
    ) from exc

if not hasattr(jax, "enable_x64"):  # before 0.8: only the process-wide switch
    raise BackendUnavailable(
        f"JAX {jax.__version__} has no scoped float64 (jax.enable_x64); fix: pip install 'jax>=0.8'"
    )

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)
# JAX gives no handle on the CUDA events of its own streams: the device's time is taken as
# the call's wall-clock time on inputs already on the device, to the result being ready.
DEVICE_TIMING = "wall clock around the jitted call, inputs on the device"


def platform():
    """Where JAX runs its computations here: "cpu", "gpu" or "tpu"."""
    return jax.default_backend()


def _block(pos, mass, rows, first):
    """Accelerations of the bodies `rows` (b, 3), whose indices start at `first`."""
    d = pos[jnp.newaxis, :, :] - rows[:, jnp.newaxis, :]  # d[i, j] = r_j - r_i
    # Sums rather than the NumPy backend's einsum: XLA fuses them with the arithmetic
    # around them into one loop, where einsum becomes a separate dot (2x slower at n = 1000).
    r2 = jnp.sum(d * d, axis=-1)
    own = jnp.arange(rows.shape[0])[:, jnp.newaxis] + first == jnp.arange(pos.shape[0])
    r2 = jnp.where(own, 1.0, r2)  # d[i, i] is zero: any finite r2 there removes the self-term
    weight = mass / (r2 * jnp.sqrt(r2))  # m_j / |r_j - r_i|^3
    return jnp.sum(weight[:, :, jnp.newaxis] * d, axis=1)


def pair_accelerations(pos, mass):
    """(n, 3) accelerations, traced: blocks of rows when all pairs would not fit."""
    n = pos.shape[0]
    # Each block is a step of a loop on the device: on a GPU, CuPy's larger blocks.
    rows = block_rows(n, DEVICE_BLOCK_BYTES if platform() == "gpu" else None)
    if rows == n:
        return _block(pos, mass, pos, 0)
    count = -(-n // rows)
    # Padded rows (at the origin) are computed and dropped: their values never reach a body.
    padded = jnp.zeros((count * rows, 3), pos.dtype).at[:n].set(pos)
    blocks = lax.map(
        lambda k: _block(pos, mass, lax.dynamic_slice_in_dim(padded, k * rows, rows), k * rows),
        jnp.arange(count),
    )
    return blocks.reshape(count * rows, 3)[:n]


_accelerations = jax.jit(pair_accelerations)


def derivatives(state, mass, rate):
    """rate[0] = velocities, rate[1] = accelerations, for state = (positions, velocities)."""
    with jax.enable_x64(True):
        acc = _accelerations(state[0], mass)
        rate[1] = np.asarray(acc)
    rate[0] = state[1]


def device_seconds(state, mass, rounds):
    """The compiled call's seconds without the copies to and from the device: `rounds`
    calls on the positions of state and the masses, put on the device once, each from its
    dispatch to its result being ready (block_until_ready)."""
    seconds = []
    with jax.enable_x64(True):
        p, m = jax.device_put(state[0]), jax.device_put(mass)
        for _ in range(rounds):
            start = time.perf_counter()
            _accelerations(p, m).block_until_ready()
            seconds.append(time.perf_counter() - start)
    return seconds


@partial(jax.jit, static_argnames="nframes")
def _run(state, mass, steps, frame_ends, nframes):
    def step(s, y):
        h = steps[s]
        k1 = jnp.stack((y[1], pair_accelerations(y[0], mass)))
        mid = y + (0.5 * h) * k1
        k2 = jnp.stack((mid[1], pair_accelerations(mid[0], mass)))
        return y + h * k2

    def frame(k, carry):
        y, frames = carry
        start = jnp.where(k == 0, 0, frame_ends[k - 1])
        y = lax.fori_loop(start, frame_ends[k], step, y)
        return y, frames.at[k].set(y[0])

    frames = jnp.zeros((nframes, *state.shape[1:]), state.dtype)
    return lax.fori_loop(0, nframes, frame, (state, frames))[1]


def integrate(initial, mass, steps, frame_ends, frames):
    """The whole midpoint-RK2 run as one jitted loop: frame k is recorded after step
    frame_ends[k] - 1. Compiled once per number of bodies and frames."""
    with jax.enable_x64(True):
        frames[:] = np.asarray(_run(initial, mass, steps, frame_ends, nframes=len(frame_ends)))


__all__ = [
    "COMPILED",
    "DEVICE_TIMING",
    "derivatives",
    "device_seconds",
    "integrate",
    "pair_accelerations",
]
