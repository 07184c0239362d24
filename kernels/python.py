"""The baseline: the lecture's original double loop, one `np.linalg.norm` per pair.

Slow on purpose and kept as the lecture wrote it (only the global `M` became the `mass`
argument): every speedup in this project is measured against it. Do not optimize it.
"""

import numpy as np


def accelerations(pos, mass):
    n_bodies = len(mass)
    dvdt = np.zeros(pos.shape)
    for i in range(n_bodies):
        for j in range(n_bodies):
            if i == j:
                continue
            r = np.linalg.norm(pos[j] - pos[i])
            rhat = (pos[j] - pos[i]) / r
            dvdt[i] += mass[j] / (r * r) * rhat
    return dvdt
