"""Steps in a benchmark's history: a change of its time that persists over the runs after it.

A series is one benchmark (workload and backend) on one machine, its figures in commit
order. Several runs of one commit count as one point, their fastest (interference only
ever adds time, docs/calibration.md). Those bursts (1.3-1.9x in one run) are first
clipped: a log time more than CLIP noise scales above the median of the 2 x MIN_RUNS - 1
points around it is taken at that bound. The change points then come from ruptures'
PELT search over a piecewise-constant fit (KernelCPD with the linear kernel, the L2 cost,
in C), with a penalty scaled by the series' own noise. Each segment holds at least
MIN_RUNS points, so a step is reported only once that many runs after it repeat it. Of
the change points, a step is one whose levels on either side differ by a factor of at
least 1 + THRESHOLD (1.1x slower or faster), unless it and the next one make a short
excursion up that comes back (a run of bursts). Its commit range runs from the last point
at the old level to the first at the new one. A segment's level is its lower quartile
(LEVEL): interference only adds time, so bursts the clipping left move it only once they
are three quarters of the segment, where they move a median once they are half. A step
still stands when the series' latest level (that of its last MIN_RUNS points) lies nearer
the step's new level than its old one: a slow-down fixed later, or a speed-up lost again,
no longer does.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.10  # the smallest change reported: 10% slower or faster
MIN_RUNS = 4  # points on each side of a step: it must persist
# The penalty per change point: PENALTY noise variances times log(points), as the BIC grows.
PENALTY = 8.0
CLIP = 3.0  # noise scales above the local median where a point counts as a burst
LEVEL = 0.25  # the quantile of a segment's (log) figures taken as its level
NOISE_FLOOR = 0.01  # a noise estimate never below 1%: a flat, exact series is not all steps


@dataclass(frozen=True)
class Step:
    at: int  # the first point at the new level (an index into the series)
    since: int  # the last point at the old level: the step lies in (since, at]
    before: float  # the level (LEVEL) of the segment before the change
    after: float  # the level of the segment from it on
    now: float  # the series' latest level: that of its last MIN_RUNS points

    @property
    def ratio(self):
        """after / before: above 1 slower (for times), below 1 faster."""
        return self.after / self.before

    @property
    def standing(self):
        """Whether the series is still at the new level: its latest level nearer the level
        after the step than the one before (in log time)."""
        return abs(math.log(self.now / self.after)) < abs(math.log(self.now / self.before))


def noise(logs):
    """A robust scale of the point-to-point noise of log figures (MAD of differences)."""
    if len(logs) < 3:
        return NOISE_FLOOR
    diffs = np.diff(logs)
    mad = np.median(np.abs(diffs - np.median(diffs))) / 0.6745 / math.sqrt(2)
    return max(float(mad), NOISE_FLOOR)


def level(logs):
    """The level of a stretch of log figures at one cost: its lower quartile (LEVEL)."""
    return float(np.quantile(logs, LEVEL))


def clipped(logs, scale, half_width):
    """`logs` with each point above its neighbourhood's median by more than CLIP scales
    brought down to that bound: a burst of one or two runs, not a level."""
    n, width = len(logs), 2 * half_width + 1
    # The window keeps its width at the ends (shifted inwards): a truncated one would
    # let the last few points, bursts or not, set their own median.
    starts = np.clip(np.arange(n) - half_width, 0, max(n - width, 0))
    local = np.array([np.median(logs[a : a + width]) for a in starts])
    return np.minimum(logs, local + CLIP * scale)


def detect(values, threshold=THRESHOLD, min_runs=MIN_RUNS):
    """The steps of a series of positive figures (times), oldest first."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError("a series of positive, finite figures is needed")
    if len(values) < 2 * min_runs:
        return []
    import ruptures

    raw = np.log(values)
    scale = noise(raw)
    # A window of 2 x MIN_RUNS - 1 points: MIN_RUNS at a new level are its majority, so a
    # step held by that many points, at an end too, keeps its level.
    logs = clipped(raw, scale, min_runs - 1)
    penalty = PENALTY * scale**2 * math.log(len(logs))
    search = ruptures.KernelCPD(kernel="linear", min_size=min_runs, jump=1)
    ends = search.fit(logs.reshape(-1, 1)).predict(pen=penalty)
    bounds = [0, *ends]
    levels = [level(logs[a:b]) for a, b in itertools.pairwise(bounds)]
    least = math.log1p(threshold)  # the smallest change of level reported, in log time
    changes = list(range(1, len(bounds) - 1))  # change i: from segment i - 1 to segment i
    # An excursion up and back down within THRESHOLD of where it began, over fewer than
    # 2 x MIN_RUNS points, is a run of bursts (which only ever add time), not two steps.
    dropped = set()
    for i in changes[:-1]:
        if i in dropped:
            continue
        short = bounds[i + 1] - bounds[i] < 2 * min_runs
        back = abs(levels[i + 1] - levels[i - 1]) < least
        if short and back and levels[i] > levels[i - 1] and levels[i] > levels[i + 1]:
            dropped |= {i, i + 1}
    changes = [c for c in changes if c not in dropped]
    now = math.exp(level(logs[-min_runs:]))
    steps = []
    for i in changes:
        before, after = levels[i - 1], levels[i]
        if abs(after - before) < least:
            continue
        since, at = _range(raw, bounds[i - 1], bounds[i], bounds[i + 1], before, after)
        steps.append(
            Step(at=at, since=since, before=math.exp(before), after=math.exp(after), now=now)
        )
    return steps


def _range(logs, start, change, end, before, after):
    """(the last point at the old level, the first at the new) around a change found at
    `change`: a point is at a level when its own (unclipped) figure lies within half the
    step of it, so a burst beside the change widens the range rather than moving it."""
    half = abs(after - before) / 2
    old = [i for i in range(start, change) if abs(logs[i] - before) < half]
    since = old[-1] if old else change - 1
    new = [i for i in range(since + 1, end) if abs(logs[i] - after) < half]
    return since, new[0] if new else change
