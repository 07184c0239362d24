"""The lecture workload, timed per backend, each run checked against the baseline's frames.

Three ways to run it, from what a reader of the lecture writes to what compiles best:
"as-written", the lecture's own driver calling each backend's public, checked
`derivatives()` (nbody_bench.lecture); "python-loop", `run_rk2`'s loop over preallocated
buffers calling the unchecked kernel; "whole-run", the whole integration in compiled code.
"""

import pytest

import kernels
import kernels.registry
from kernels.numpy import accelerations
from kernels.registry import has_whole_run
from nbody_bench.lecture import plugged_in, run_nbody_rk2

# The lecture's 20 bodies are microseconds of work a call: a parallel variant's time there
# is the hand-off between cores (threads, processes, a cluster), which on a shared 2-vCPU
# machine varied two-fold between runs of an unchanged tree; they are timed from N = 1000
# (bench/test_derivative.py). The lecture's own per-body `multiprocessing` stays: it loses
# either way, which is its lesson.
NOT_AT_20 = kernels.registry.PARALLEL - {"multiprocessing"}

# Every backend but those (a plugin too: its tests say whether it loads).
SERIAL = [name for name in kernels.names() if name not in NOT_AT_20]

MODES = {
    "python-loop": ("lecture", False),  # run_rk2's Python loop calling the derivative
    "whole-run": ("lecture-whole-run", True),  # the whole integration in compiled code
}
# (backend, mode) for the serial backends, the whole run only where a backend has one.
LECTURE_CASES = [
    (b, mode)
    for b in SERIAL
    for mode, (_, whole_run) in MODES.items()
    if not whole_run or has_whole_run(b) is not False
]


@pytest.mark.workload(lambda p: "lecture-as-written")
@pytest.mark.parametrize("backend", SERIAL, indirect=True)
def test_lecture_as_written(
    timed,
    untimed,
    benchmarking,
    backend,
    lecture_times,
    lecture_calls,
    lecture_state,
    as_written_baseline,
    as_written_tolerance,
    frames_match,
):
    """The lecture's own driver with the backend's checked derivatives(): the speed a
    reader who plugs a backend into the lecture gets."""
    pos, vel, mass = lecture_state
    run = {**lecture_times, "derivatives": plugged_in(backend, mass)}
    first = None
    if benchmarking:
        frames, first = untimed(run_nbody_rk2, pos, vel, **run)
        frames_match(frames, as_written_baseline, as_written_tolerance)
    label = {
        "workload": "lecture-as-written",
        "kind": "lecture",
        "backend": backend,
        "n": len(mass),
        "calls": lecture_calls,
        "first": first,
    }
    frames_match(
        timed(**label)(run_nbody_rk2, pos, vel, **run), as_written_baseline, as_written_tolerance
    )


@pytest.mark.workload(lambda p: MODES[p["mode"]][0])
@pytest.mark.parametrize(("backend", "mode"), LECTURE_CASES, indirect=["backend"])
def test_lecture_workload(
    timed,
    untimed,
    benchmarking,
    backend,
    mode,
    lecture_times,
    lecture_calls,
    lecture_state,
    lecture_baseline,
    lecture_tolerance,
    frames_match,
):
    workload, whole_run = MODES[mode]
    run = {**lecture_times, "backend": backend, "whole_run": whole_run}
    # A full untimed run first: it compiles (Numba), starts the pool (multiprocessing), and
    # checks equivalence before any timing counts.
    first = None
    if benchmarking:
        frames, first = untimed(kernels.run_rk2, *lecture_state, **run)
        frames_match(frames, lecture_baseline, lecture_tolerance)

    n = len(lecture_state[2])
    label = {
        "workload": workload,
        "kind": "lecture",
        "backend": backend,
        "n": n,
        "calls": lecture_calls,
        "first": first,
    }
    frames = timed(**label)(kernels.run_rk2, *lecture_state, **run)
    frames_match(frames, lecture_baseline, lecture_tolerance)


def test_tolerance_rejects_a_slightly_wrong_kernel(
    lecture_times, lecture_state, lecture_baseline, lecture_tolerance, frames_match
):
    """The chaotic run's tolerance still catches a force that is off by one part in 1e12."""
    off = kernels.Backend.from_accelerations(
        "off", lambda pos, mass: accelerations(pos, mass) * (1 + 1e-12)
    )
    frames = kernels.run_rk2(*lecture_state, **lecture_times, backend=off)
    with pytest.raises(AssertionError, match="over the tolerance"):
        frames_match(frames, lecture_baseline, lecture_tolerance)
