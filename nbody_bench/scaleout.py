"""The dask backend's scale-out on paper, its parameters measured on the cluster it runs on.

One call on W workers takes

    T(N, W) = pairs / (W * R)  +  a + b * W * N

with pairs = N (N - 1) / 2, R the limit kernel's pairs per second on one core, and
a + b W N the cost of a call with no pair work at all: the tasks' round trips (a) and the
positions sent to every worker plus each worker's (3, N) partial sum sent back, both
growing as W N (b). R is timed in this process, a and b on the cluster by running the
call's exact path with empty row ranges, at two N and on one and all workers; the model
is then checked against full calls on one worker and on all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import kernels

from . import formatting

PROJECTED_N = (10_000, 100_000, 1_000_000)
PROJECTED_WORKERS = (1, 2, 4, 8, 16, 32, 64)


@dataclass(frozen=True)
class Model:
    cluster: dict
    n: int
    rate: float  # R: pairs per second of the limit kernel on one core
    a: float  # seconds per call with no pair work, whatever N and W
    b: float  # seconds per body per worker sent out and back
    measured: dict  # workers -> seconds of a full call at n

    def time(self, n, workers):
        pairs = n * (n - 1) / 2
        return pairs / (workers * self.rate) + self.a + self.b * workers * n

    def describe(self):
        c = self.cluster
        lines = [
            f"cluster: {c['cluster']} at {c['address']}, {c['workers']} workers, "
            f"{c['threads']} threads",
            f"R, the limit kernel on one core here: {self.rate:.3g} pairs/s",
            f"a call with no pair work: a + b W N, a = {self.a * 1e3:.3g} ms, "
            f"b = {self.b * 1e9:.3g} ns per body per worker",
        ]
        for workers, seconds in sorted(self.measured.items()):
            model = self.time(self.n, workers)
            lines.append(
                f"N = {self.n} on {workers} worker(s): measured {seconds * 1e3:.4g} ms, "
                f"model {model * 1e3:.4g} ms ({100 * (model - seconds) / seconds:+.0f}%)"
            )
        return lines


def _fastest(calls, fn, *args, **kwargs):
    best = float("inf")
    for _ in range(calls):
        start = time.perf_counter()
        fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


def measure(n, calls=5):
    """The model's parameters for n bodies on the dask backend's cluster, and the full
    calls to check it against."""
    from kernels import dask as kd
    from kernels import simd

    cluster = kd.describe()
    everyone = sorted(kd.worker_info(kd.client()))
    if not everyone:
        raise RuntimeError(f"the cluster at {cluster['address']} has no workers")
    pos, _, mass = kernels.initial_conditions(n, seed=n)
    positions = np.ascontiguousarray(pos.T)

    acc = np.zeros_like(positions)
    rate = n * (n - 1) / 2 / _fastest(calls, simd.rows, positions, mass, 0, n, acc)

    counts = sorted({1, len(everyone)})
    # A call's path with no pair work (empty row ranges), at two N, on 1 and all workers.
    points = []
    for size in sorted({max(2, n // 10), n}):
        p, m = positions[:, :size].copy(), mass[:size].copy()
        for w in counts:
            where = everyone[:w]
            seconds = _fastest(calls, kd.run_blocks, p, m, [(0, 0)] * w, workers=where)
            points.append((w * size, seconds))
    design = np.array([[1.0, x] for x, _ in points])
    (a, b), *_ = np.linalg.lstsq(design, np.array([t for _, t in points]), rcond=None)

    measured = {
        w: _fastest(
            calls, kd.run_blocks, positions, mass, kd.row_blocks(n, w), workers=everyone[:w]
        )
        for w in counts
    }
    return Model(cluster, n, rate, float(a), float(b), measured)


def pays_from(model, workers):
    """The smallest N at which `workers` workers beat the limit kernel on one core."""
    if workers < 2:
        return None
    n = 2
    while n < 10**9:
        pairs = n * (n - 1) / 2
        if model.time(n, workers) < pairs / model.rate:
            return n
        n = int(n * 1.05) + 1
    return None


def project(model):
    """The model's call times for PROJECTED_N on 1-64 workers, and where it starts to pay."""
    header = "N \\ workers  " + "  ".join(f"{w:>9}" for w in PROJECTED_WORKERS)
    lines = ["Projected time of one call (the model above):", header]
    for n in PROJECTED_N:
        cells = "  ".join(
            f"{formatting.duration(model.time(n, w), 3):>9}" for w in PROJECTED_WORKERS
        )
        lines.append(f"{n:<12} {cells}")
    single = "  ".join(
        f"{formatting.duration(n * (n - 1) / 2 / model.rate, 3)}" for n in PROJECTED_N
    )
    lines.append(f"one core, no cluster: {single}")
    lines.append(
        "pays from N = "
        + ", ".join(f"{pays_from(model, w)} on {w} workers" for w in PROJECTED_WORKERS[1:])
    )
    return lines
