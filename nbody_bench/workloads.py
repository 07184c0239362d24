"""The suite's workloads as plain callables, by the ids its summary uses.

`workload("derivative-n1000", "numba")` is a function of no arguments doing what the
benchmark of that id times, on the same seeded input. The A/B comparison
(`nbody_bench.ab`) runs them in a worker process on each of two builds, so this module
imports nothing of nbody_bench and only the public `kernels` API, which every build of
the project has: it is loaded by its path next to whichever `kernels` the worker sees.

Ids: "lecture" (run_rk2's loop), "lecture-whole-run", "lecture-as-written" (the
lecture's own driver over the checked call), "derivative-nN" (the unchecked kernel),
"checked-nN" (the public derivatives()), "run-nN" (two steps of the whole run).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
from pathlib import Path

import numpy as np

import kernels

RUN_TIMES = {"tend": 0.002, "tframe": 0.001, "dt": 0.001}  # 2 frames, 2 steps: 4 calls
_SIZED = re.compile(r"(derivative|gpu|checked|run|untouched)-n([1-9][0-9]*)")


@functools.cache
def bodies(n):
    """Seeded bodies with unequal masses (so mixing up m_i and m_j shows). Never change
    these numbers: stored benchmark histories are only comparable on the same input."""
    pos, vel, _ = kernels.initial_conditions(n, seed=n)
    mass = np.random.default_rng(n).uniform(0.5, 2.0, n)
    for a in (pos, vel, mass):
        a.flags.writeable = False
    return pos, vel, mass


@functools.cache
def _lecture_module():
    """nbody_bench/lecture.py (the lecture's run and driver), loaded by its path beside
    this file (see the module notes)."""
    spec = importlib.util.spec_from_file_location(
        "nbody_bench_lecture", Path(__file__).with_name("lecture.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def workload(name, backend):
    """A function of no arguments that runs workload `name` on `backend` once.

    Raises ValueError for an id this module does not know, and kernels'
    UnknownBackend or BackendUnavailable for a backend it cannot have.
    """
    chosen = kernels.get(backend)
    if name in ("lecture", "lecture-whole-run", "lecture-as-written"):
        lecture = _lecture_module()
        pos, vel, mass = lecture.state()
        if name == "lecture-as-written":
            derivs = lecture.plugged_in(backend, mass)
            return functools.partial(
                lecture.run_nbody_rk2, pos, vel, **lecture.TIMES, derivatives=derivs
            )
        whole_run = name == "lecture-whole-run"
        return functools.partial(
            kernels.run_rk2, pos, vel, mass, **lecture.TIMES, backend=backend, whole_run=whole_run
        )
    sized = _SIZED.fullmatch(name)
    if sized is None:
        raise ValueError(
            f"unknown workload {name!r}: give lecture, lecture-whole-run, lecture-as-written, "
            "or derivative-nN, gpu-nN, checked-nN, run-nN, untouched-nN for a body count N"
        )
    kind, n = sized.group(1), int(sized.group(2))
    pos, vel, mass = bodies(n)
    if kind in ("derivative", "gpu"):  # gpu-nN: bench/test_gpu.py's one call, as derivative-nN
        state, rate = np.stack((pos, vel)), np.empty((2, n, 3))
        return functools.partial(chosen.derivatives_into, state, mass, rate)
    if kind == "checked":
        return functools.partial(chosen.derivatives, pos, vel, mass)
    if kind == "untouched":  # the lecture's loop as written: Python's, or Pythran's compile
        loops = {"python": "accelerations", "pythran": "lecture_accelerations"}
        if backend not in loops:
            raise ValueError(f"untouched-nN runs python and pythran, not {backend!r}")
        module = importlib.import_module(f"kernels.{backend}")
        return functools.partial(getattr(module, loops[backend]), pos, mass)
    return functools.partial(
        kernels.run_rk2, pos, vel, mass, **RUN_TIMES, backend=backend, whole_run=True
    )
