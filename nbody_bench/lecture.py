"""The lecture as written: its own RK2 driver, with a backend plugged in the way a reader does.

`run_nbody_rk2` is the lecture's `run_Nbody_rk2` with its loop unchanged: new arrays every
step (`p + dpdt*0.5*delta_t`), the time summed step by step, and the derivative called
through whatever function it is given. Only the start changed: the initial positions and
velocities come in as arguments (the lecture draws them inside the driver with
`np.random.random`), and the frames come back as one array.

Each call of `derivatives` there is a public, checked `Backend.derivatives` call, so this
is what a reader who follows the lecture with this project gets, checks and all; the
suite times it beside `run_rk2`'s loop over the unchecked kernel and the whole run in
compiled code (workload "lecture-as-written").
"""

from __future__ import annotations

import numpy as np

import kernels

# The lecture's run: 20 bodies with unit masses (seeded positions and velocities),
# integrated to t = 1 in steps of 0.001 with a frame every 0.01: 100 frames, 1000 RK2 steps,
# 2000 derivative calls. Every tool here that times "the lecture's run" runs this one.
N = 20
SEED = 0
TIMES = {"tend": 1.0, "tframe": 0.01, "dt": 0.001}
CALLS = 2 * round(TIMES["tend"] / TIMES["dt"])
FRAMES = round(TIMES["tend"] / TIMES["tframe"])
# What the lecture says each of its steps gave over its loop, in its own words.
CLAIMS = {"numpy": 20, "cython": 100, "fortran": 600}


def state():
    """The lecture's 20 bodies: (pos, vel, mass), seeded, unit masses."""
    return kernels.initial_conditions(N, seed=SEED)


def run_nbody_rk2(p, v, tend, tframe, dt, derivatives):
    """The lecture's midpoint-RK2 driver: the positions at every frame, (frames, n, 3)."""
    t = 0
    tnext = tframe
    positions = []
    while t < tend:
        while t < tnext:
            delta_t = min(tnext - t, dt)
            dpdt, dvdt = derivatives(p, v)
            phalf, vhalf = p + dpdt * 0.5 * delta_t, v + dvdt * 0.5 * delta_t
            dpdt, dvdt = derivatives(phalf, vhalf)
            p, v = p + dpdt * delta_t, v + dvdt * delta_t
            t += delta_t
        positions.append(p.copy())
        tnext += tframe
    return np.array(positions)


def plugged_in(backend, mass):
    """derivatives(pos, vel) for the driver: the backend's checked call with the masses
    fixed, as the lecture wraps each of its kernels (`def cython_derivs(pos, vel)`)."""
    derivatives = kernels.get(backend).derivatives

    def derivs(pos, vel):
        return derivatives(pos, vel, mass)

    return derivs
