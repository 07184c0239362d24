"""A GPU kernel's own time, by CUDA events: the time the device spent between two events
recorded on its stream around the work, without the host's copies, transposes and
dispatch that an end-to-end call adds. numba-cuda's events (`numba.cuda.event`) time the
`cuda` backend's kernel, CuPy's (`cupy.cuda.Event`) the `cupy` backend's; this module
holds the loop both use, and imports neither.
"""

from __future__ import annotations


class EventTimingError(RuntimeError):
    """The events gave no usable time; the message says what they gave and why."""


def event_seconds(work, rounds, event, elapsed_ms):
    """Seconds of each of `rounds` runs of `work()`, between a start and an end event
    recorded on the current stream around it: `event()` makes an event (with .record()
    and .synchronize()), `elapsed_ms(start, end)` reads the milliseconds between two.

    The end event is waited for before the next run starts, so each figure is one run's
    alone. A reading of zero or less is not a time (Numba's CUDA simulator records none
    and answers -1): EventTimingError, naming it."""
    if rounds < 1:
        raise ValueError(f"rounds = {rounds!r}: time at least one run")
    start, end = event(), event()
    seconds = []
    for _ in range(rounds):
        start.record()
        work()
        end.record()
        end.synchronize()
        elapsed = elapsed_ms(start, end)
        if not elapsed > 0:
            raise EventTimingError(
                f"the CUDA events around the kernel read {elapsed!r} ms: no time was "
                "recorded (Numba's CUDA simulator records none; on a GPU, the events must "
                "be made with timing enabled)"
            )
        seconds.append(elapsed / 1e3)
    return seconds
