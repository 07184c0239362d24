"""The lecture's midpoint RK2 integrator, driving any backend."""

from __future__ import annotations

import math

import numpy as np

from .registry import resolve
from .state import check_state, check_times, closest_pair


def run_rk2(pos, vel, mass, *, tend, tframe, dt, backend):
    """Integrate with midpoint RK2 and return the positions at every frame.

    Frame k (k = 1 .. round(tend / tframe)) is recorded at t = k * tframe. Between frames
    the steps are `dt` long, the last one shortened to land on the frame time, as in the
    lecture. Returns a float64 array of shape (frames, n, 3).

    `backend` is a name from `kernels.BACKENDS` or a `kernels.Backend`. Raises ValueError
    for bad input and FloatingPointError if two bodies collide during the run.
    """
    pos, vel, mass = check_state(pos, vel, mass)
    _, tframe, dt, nframes = check_times(tend, tframe, dt)
    accelerations = resolve(backend).accelerations

    frames = np.empty((nframes, *pos.shape))
    p, v = pos, vel
    with np.errstate(all="ignore"):  # a collision shows up as non-finite values, checked below
        for k in range(nframes):
            t0 = k * tframe
            p0, v0 = p, v
            for h in frame_steps(t0, (k + 1) * tframe, dt):
                p, v = _rk2_step(accelerations, p, v, mass, h)
            if not (np.isfinite(p).all() and np.isfinite(v).all()):
                _report_collision(accelerations, p0, v0, mass, t0, (k + 1) * tframe, dt)
            frames[k] = p
    return frames


def frame_steps(t0, t1, dt):
    """Step sizes from t0 to t1: `dt` each, the last one shortened to end exactly at t1.

    The step count comes from the span, not from summing `t += h`, so rounding in t can
    neither add a sliver of a step nor drop one: 0.01 / 0.001 is 10 steps, not 11.
    """
    span = t1 - t0
    q = span / dt
    count = max(1, round(q) if math.isclose(q, round(q), rel_tol=1e-9) else math.ceil(q))
    return [dt] * (count - 1) + [span - (count - 1) * dt]


def _rk2_step(accelerations, p, v, mass, h):
    a = accelerations(p, mass)
    phalf = p + v * (0.5 * h)
    vhalf = v + a * (0.5 * h)
    ahalf = accelerations(phalf, mass)
    return p + vhalf * h, v + ahalf * h


def _report_collision(accelerations, p, v, mass, t0, t1, dt):
    """Replay the failed frame one step at a time to say when and which bodies met."""
    t = t0
    for h in frame_steps(t0, t1, dt):
        for when, state in ((t, p), (t + 0.5 * h, p + v * (0.5 * h))):
            if not np.isfinite(accelerations(state, mass)).all():
                i, j, r = closest_pair(state)
                raise FloatingPointError(
                    f"bodies {i} and {j} collided at t = {when:.6g} (distance {r:.3g}): "
                    "the force between them is infinite there. Use a smaller dt or "
                    "different initial conditions."
                )
        p, v = _rk2_step(accelerations, p, v, mass, h)
        t += h
    raise FloatingPointError(
        f"the state became non-finite between t = {t0:.6g} and t = {t1:.6g}; "
        "a close encounter overflowed float64. Use a smaller dt."
    )
