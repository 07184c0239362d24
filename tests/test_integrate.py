"""run_rk2's time stepping: the lecture's steps, and exactly one frame per tframe."""

import math

import numpy as np
import pytest

import kernels
from kernels.integrate import schedule
from kernels.numpy import accelerations
from kernels.registry import has_whole_run


@pytest.mark.parametrize(
    ("nframes", "tframe", "dt", "count"),
    [
        (100, 0.01, 0.001, 10),  # 0.01 / 0.001 is 10.000000000000002 in float64
        (3, 0.1, 0.01, 10),
        (1, 0.3, 0.1, 3),  # 0.3 / 0.1 is 2.9999999999999996
        (2, 0.01, 0.003, 4),  # three full steps and a short one
        (5, 0.01, 0.05, 1),  # dt longer than a frame: one step of the frame's length
    ],
)
def test_schedule_lands_on_every_frame_time(nframes, tframe, dt, count):
    steps, frame_ends = schedule(nframes, tframe, dt)
    np.testing.assert_array_equal(np.diff(frame_ends, prepend=0), count)
    assert len(steps) == frame_ends[-1]
    last = frame_ends - 1
    assert np.all(np.delete(steps, last) == dt)
    assert np.all((steps[last] > 0) & (steps[last] <= dt * (1 + 1e-9)))
    # Each frame's steps add up to its span, and the frames to k * tframe.
    for k, end in enumerate(frame_ends):
        start = 0 if k == 0 else frame_ends[k - 1]
        assert math.isclose(sum(steps[start:end]), (k + 1) * tframe - k * tframe, rel_tol=1e-12)


class CountingBackend:
    """Wraps a kernel to count derivative calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, pos, mass):
        self.calls += 1
        return accelerations(pos, mass)


@pytest.mark.parametrize(
    ("tend", "tframe", "dt", "frames", "calls"),
    [
        (1.0, 0.01, 0.001, 100, 2000),  # the lecture workload
        (0.3, 0.1, 0.01, 3, 60),
        (1.0, 0.1, 0.03, 10, 80),  # 0.1 = 3 * 0.03 + 0.01: four steps a frame
        (0.999, 0.01, 0.001, 100, 2000),  # frames = round(tend / tframe)
    ],
)
def test_frame_and_call_counts(tend, tframe, dt, frames, calls):
    counter = CountingBackend()
    backend = kernels.Backend.from_accelerations("counting", counter)
    out = kernels.run_rk2(
        *kernels.initial_conditions(3), tend=tend, tframe=tframe, dt=dt, backend=backend
    )
    assert out.shape == (frames, 3, 3)
    assert counter.calls == calls


def test_frames_are_at_multiples_of_tframe():
    """Massless bodies move in straight lines, so frame k must sit at pos + vel * k * tframe."""
    pos, vel, _ = kernels.initial_conditions(5, seed=9)
    frames = kernels.run_rk2(
        pos, vel, np.zeros(5), tend=1.0, tframe=0.01, dt=0.003, backend="numpy"
    )
    times = 0.01 * np.arange(1, 101)[:, None, None]
    np.testing.assert_allclose(frames, pos + vel * times, rtol=0, atol=1e-13)


def test_two_body_circular_orbit_converges_at_second_order():
    """Unit masses 1 apart circle their centre: relative speed sqrt(G M / r) = sqrt(2),
    so each moves at sqrt(1/2), with period 2 pi / sqrt(2). Midpoint RK2 must close the
    orbit, with an error that falls four-fold when dt is halved."""
    speed = np.sqrt(0.5)
    period = 2 * np.pi / np.sqrt(2)
    pos = np.array([[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])
    vel = np.array([[0.0, -speed, 0.0], [0.0, speed, 0.0]])

    def error(dt):
        frames = kernels.run_rk2(
            pos, vel, np.ones(2), tend=period, tframe=period / 8, dt=dt, backend="numpy"
        )
        return np.abs(frames[-1] - pos).max()

    coarse, fine = error(4e-3), error(2e-3)
    assert fine < 1e-4
    assert 3.5 < coarse / fine < 4.5


# Every backend with a whole-run mode, through the `backend` fixture: one that cannot be
# had here is a skip with its reason (a failure under CI), never silently left out.
WHOLE_RUN = [name for name in kernels.names() if has_whole_run(name) is not False]


@pytest.mark.parametrize("tframe", [0.01, 0.03])
@pytest.mark.parametrize("backend", WHOLE_RUN, indirect=True)
def test_whole_run_frames_are_at_multiples_of_tframe(backend, tframe):
    """The compiled integration keeps the same schedule: straight lines for massless bodies."""
    pos, vel, _ = kernels.initial_conditions(5, seed=9)
    frames = kernels.run_rk2(
        pos, vel, np.zeros(5), tend=0.3, tframe=tframe, dt=0.007, backend=backend, whole_run=True
    )
    times = tframe * np.arange(1, len(frames) + 1)[:, None, None]
    assert len(frames) == round(0.3 / tframe)
    np.testing.assert_allclose(frames, pos + vel * times, rtol=0, atol=1e-13)


@pytest.mark.parametrize("backend", WHOLE_RUN, indirect=True)
def test_whole_run_matches_python_loop_on_a_short_run(backend):
    state = kernels.initial_conditions(30, seed=5)
    times = {"tend": 0.05, "tframe": 0.01, "dt": 0.002, "backend": backend}
    loop = kernels.run_rk2(*state, **times)
    np.testing.assert_allclose(
        kernels.run_rk2(*state, **times, whole_run=True), loop, rtol=1e-12, atol=1e-12
    )


def test_whole_run_needs_a_backend_that_has_it():
    with pytest.raises(ValueError, match="'numpy' has no whole-run mode; these do"):
        kernels.run_rk2(
            *kernels.initial_conditions(3),
            tend=0.1,
            tframe=0.1,
            dt=0.01,
            backend="numpy",
            whole_run=True,
        )


def test_the_lectures_run_is_the_2000_calls_run_rk2_makes():
    """nbody_bench.lecture's counts, which the tools print, are what run_rk2 schedules."""
    from nbody_bench import lecture

    steps, _ = schedule(lecture.FRAMES, lecture.TIMES["tframe"], lecture.TIMES["dt"])
    assert lecture.CALLS == 2 * len(steps) == 2000
    pos, _, mass = lecture.state()
    assert pos.shape == (lecture.N, 3)
    assert (mass == 1).all()
