"""Timing inside a fixed time: what a run on a borrowed machine (./dev gpu on a GPU lent for
minutes) needs so that it ends with its JSON written instead of being killed without it.

Two rules, both for calls of a second or more (one derivative call at N = 1e6 takes
seconds on a GPU and, for CuPy's memory-bound broadcasting, most of a minute):

- Rounds are counted out, not calibrated. pytest-benchmark's own loop calls a function
  once to calibrate, then `--benchmark-min-rounds` times, then once more for the result:
  with the suite's untimed checking call, five calls where two would do. A slow call gets
  as many rounds as fit in ROUND_SECONDS (at least one, at most MAX_ROUNDS) and no more
  than the time left allows.
- A call whose time the run can predict, from the same backend at a tenth of the bodies
  (x 100: all pairs), is skipped with its prediction when its checking call and one round
  would not end inside the time left. The suite runs the largest calls last (marker
  `at_scale`), so a tight budget loses the largest N first.
"""

import math

SLOW_CALL = 0.5  # seconds: a call this long or longer gets counted rounds
ROUND_SECONDS = 10.0  # what one slow benchmark's rounds may take together
MAX_ROUNDS = 3


def predicted_call(measured, n):
    """A call's seconds at `n` bodies from `measured` = {bodies: seconds} of the same
    backend in this run: the largest measured N below n, scaled by the pairs (n / N)^2.
    None when nothing below n was measured. At small N, where launches and copies rather
    than pairs set the time, the prediction runs high, which only makes it cautious."""
    below = [size for size in measured if size < n]
    if not below:
        return None
    size = max(below)
    return measured[size] * (n / size) ** 2


def fits(expected, time_left, calls=2):
    """Whether `calls` calls predicted to take `expected` seconds each (a checking call and
    one round; the GPU's adds a warm call before them) end inside `time_left` seconds (an
    unpredicted call always starts)."""
    return expected is None or calls * expected <= time_left


def rounds_for(first_call, time_left=math.inf, round_seconds=ROUND_SECONDS):
    """The rounds to time a call whose first (checking) run took `first_call` seconds:
    None below SLOW_CALL (pytest-benchmark calibrates as usual), else as many as fit in
    `round_seconds` and in `time_left`, between 1 and MAX_ROUNDS. The suite's own runs
    give slow calls MAX_ROUNDS (round_seconds=inf): pytest-benchmark would make 5 of a
    call of seconds, 10 for a pooled backend, where the fastest of 3 serves the ratios."""
    if not first_call >= 0:
        raise ValueError(f"first_call = {first_call!r}: a call's duration in seconds, >= 0")
    if first_call < SLOW_CALL:
        return None
    fitting = min(round_seconds, time_left) // first_call
    return int(max(1, min(MAX_ROUNDS, fitting)))


# The kernel's own time, by CUDA events after the end-to-end rounds (bench/test_gpu.py):
# as many launches as fit in DEVICE_SECONDS, at most DEVICE_ROUNDS, at least one.
DEVICE_SECONDS = 2.0
DEVICE_ROUNDS = 10


def device_rounds(call, time_left=math.inf):
    """The launches to time by events for a call of `call` seconds end to end (the kernel
    takes no longer): as many as fit in DEVICE_SECONDS and in half the time left, between
    1 and DEVICE_ROUNDS."""
    if not call >= 0:
        raise ValueError(f"call = {call!r}: a call's duration in seconds, >= 0")
    if call == 0:
        return DEVICE_ROUNDS
    fitting = min(DEVICE_SECONDS, time_left / 2) // call
    return int(max(1, min(DEVICE_ROUNDS, fitting)))
