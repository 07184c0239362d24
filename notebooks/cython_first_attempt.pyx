# cython: language_level=3
# The lecture's first Cython attempt, as it wrote it: the Python loop compiled unchanged,
# with one cdef. Every name is still a Python object, so every line calls into Python
# (the yellow lines of `cython -a`) and it runs no faster than the loop it came from.
# The notebook only annotates it; kernels/cy/_nbody.pyx is the typed kernel the suite times.
import numpy as np


def cython_Nbody_derivatives(pos, vel, M):
    cdef int N_bodies = M.size
    dpdt = vel
    dvdt = np.zeros(vel.shape)
    for i in range(N_bodies):
        for j in range(N_bodies):
            if i == j:
                continue
            r = np.linalg.norm(pos[j] - pos[i])
            mass = M[j]
            rhat = (pos[j] - pos[i]) / r
            dvdt[i] += mass / (r * r) * rhat
    return dpdt, dvdt
