"""The lecture's midpoint RK2 integrator, driving any backend."""

from __future__ import annotations

import numpy as np

from .registry import available, resolve
from .state import check_state, check_times, closest_pair


def run_rk2(pos, vel, mass, *, tend, tframe, dt, backend, whole_run=False):
    """Integrate with midpoint RK2 and return the positions at every frame.

    Frame k (k = 1 .. round(tend / tframe)) is recorded at t = k * tframe. Between frames
    the steps are `dt` long, the last one shortened to land on the frame time, as in the
    lecture. Returns a float64 array of shape (frames, n, 3).

    `backend` is a name from `kernels.BACKENDS` or a `kernels.Backend`. With
    `whole_run=True` the entire integration runs inside the backend's compiled code
    (the backends with `whole_run` in kernels/traits.py) instead of a Python loop calling
    its derivative.

    Raises ValueError for bad input and FloatingPointError if two bodies collide.
    """
    pos, vel, mass = check_state(pos, vel, mass)
    _, tframe, dt, nframes = check_times(tend, tframe, dt)
    backend = resolve(backend)
    state = np.stack((pos, vel))
    frames = np.empty((nframes, *pos.shape))
    steps, frame_ends = schedule(nframes, tframe, dt)
    if whole_run:
        if backend.integrate is None:
            able = [name for name in available() if resolve(name).integrate is not None]
            raise ValueError(
                f"backend {backend.name!r} has no whole-run mode; these do: {', '.join(able)}"
            )
        with np.errstate(all="ignore"):
            backend.integrate(state, mass, steps, frame_ends, frames)
        if not np.isfinite(frames).all():
            # Rerun the failing part with the Python loop, which finds when and who.
            run_rk2(pos, vel, mass, tend=tend, tframe=tframe, dt=dt, backend=backend)
            raise FloatingPointError("the whole-run integration produced non-finite positions")
        return frames

    velocities = np.empty_like(frames)
    rates = backend.derivatives_into
    hs, ends = steps.tolist(), [0, *frame_ends.tolist()]
    # Preallocated buffers and in-place updates: at N = 20 a NumPy call costs as much as
    # the derivative itself, so the loop makes as few as the method allows.
    k1, k2, mid, scaled = (np.empty_like(state) for _ in range(4))
    with np.errstate(all="ignore"):  # a collision shows up as non-finite values, checked below
        for k in range(nframes):
            for h in hs[ends[k] : ends[k + 1]]:
                rates(state, mass, k1)
                np.multiply(k1, 0.5 * h, out=scaled)
                np.add(state, scaled, out=mid)
                rates(mid, mass, k2)
                np.multiply(k2, h, out=scaled)
                np.add(state, scaled, out=state)
            frames[k] = state[0]
            velocities[k] = state[1]
    finite = np.isfinite(frames).all(axis=(1, 2)) & np.isfinite(velocities).all(axis=(1, 2))
    if not finite.all():
        bad = int(np.argmin(finite))  # the first frame that is not finite
        start = (
            np.stack((pos, vel)) if bad == 0 else np.stack((frames[bad - 1], velocities[bad - 1]))
        )
        _report_collision(rates, start, mass, bad * tframe, hs[ends[bad] : ends[bad + 1]])
    return frames


def schedule(nframes, tframe, dt):
    """Every step of the run, and where each frame ends: (steps, frame_ends).

    Frame k spans k * tframe to (k + 1) * tframe in steps of `dt`, the last one shortened
    to land exactly on the frame time; it ends after steps[:frame_ends[k]]. The step
    count comes from the span, not from summing `t += h`, so rounding in t can neither add
    a sliver of a step nor drop one: 0.01 / 0.001 is 10 steps, not 11.
    """
    spans = np.diff(np.arange(nframes + 1) * tframe)
    q = spans / dt
    nearest = np.round(q)
    exact = np.abs(q - nearest) <= 1e-9 * np.maximum(q, nearest)
    counts = np.maximum(1, np.where(exact, nearest, np.ceil(q))).astype(np.intp)
    frame_ends = np.cumsum(counts)
    steps = np.full(frame_ends[-1], dt)
    steps[frame_ends - 1] = spans - (counts - 1) * dt
    return steps, frame_ends


def _report_collision(rates, state, mass, t0, steps):
    """Replay the failed frame one step at a time to say when and which bodies met."""
    k1, k2 = np.empty_like(state), np.empty_like(state)
    t = t0
    with np.errstate(all="ignore"):
        for h in steps:
            rates(state, mass, k1)
            mid = state + k1 * (0.5 * h)
            rates(mid, mass, k2)
            for when, stage, rate in ((t, state, k1), (t + 0.5 * h, mid, k2)):
                if not np.isfinite(rate).all():
                    i, j, r = closest_pair(stage[0])
                    raise FloatingPointError(
                        f"bodies {i} and {j} collided at t = {when:.6g} (distance {r:.3g}): "
                        "the force between them is infinite there. Use a smaller dt or "
                        "different initial conditions."
                    )
            state = state + k2 * h
            t += h
    raise FloatingPointError(
        f"the state became non-finite between t = {t0:.6g} and t = {t:.6g}; "
        "a close encounter overflowed float64. Use a smaller dt."
    )
