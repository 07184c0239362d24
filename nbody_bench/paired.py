"""Two timings taken in the same seconds: A and B alternating in short blocks, pair by pair.

On the shared 2-vCPU machines this suite runs on, noise comes in bursts: for a second or
more every call of whatever runs then is 1.3-1.9x slower. Two benchmarks timed seconds
apart (pytest-benchmark's way, one after the other) can differ by that much with nothing
changed, so a small difference between them means nothing. Alternated in blocks of a few
milliseconds, A and B share each burst, and the ratio of one block of B to the block of A
beside it cancels it.

`alternate(a, b)` times each block by its fastest call, as the suite does rounds, and
runs the pairs as A B, B A, A B, ... so that a slow drift (the clock stepping, caches
warming) falls on both sides equally. `Paired.ratio()` gives the median of the pairs'
ratios B/A with a distribution-free confidence interval for it: the order statistics of
the ratios that a binomial(n, 1/2) count puts at the confidence asked (the sign test's
interval), which needs no assumption on the noise's distribution, only that a pair is as
likely to come out above the true ratio as below it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from statistics import median


@dataclass(frozen=True)
class Interval:
    """A median and the confidence interval around it."""

    median: float
    low: float
    high: float
    confidence: float

    def __str__(self):
        return f"{self.median:.4g} [{self.low:.4g}, {self.high:.4g}]"


@dataclass
class Paired:
    """Per pair of blocks: the fastest call of A and of B, in seconds."""

    a: list[float] = field(default_factory=list)
    b: list[float] = field(default_factory=list)

    def ratio(self, confidence=0.95):
        """B's time over A's: the median of the pairs' ratios, and its interval."""
        return median_interval([b / a for a, b in zip(self.a, self.b, strict=True)], confidence)

    def difference(self, confidence=0.95):
        """B's time less A's, in seconds: the median of the pairs' differences."""
        return median_interval([b - a for a, b in zip(self.a, self.b, strict=True)], confidence)


def median_interval(values, confidence=0.95):
    """The median of `values` and a distribution-free interval for it (sign test).

    With the values sorted, [x_k, x_(n+1-k)] (1-based) holds the true median with
    probability 1 - 2 P(Binomial(n, 1/2) < k); k is the largest for which that is at least
    `confidence`. Needs at least 6 values for 95%.
    """
    xs = sorted(values)
    n = len(xs)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    k = 0  # the largest k whose interval still has the confidence asked
    below = 0.0  # P(Binomial(n, 1/2) < k + 1)
    for j in range(n // 2 + 1):
        below += math.comb(n, j) / 2**n
        if 1 - 2 * below < confidence:
            break
        k = j + 1
    if k == 0:
        raise ValueError(
            f"{n} pairs cannot give a {confidence:.0%} interval for the median; take more"
        )
    return Interval(median(xs), xs[k - 1], xs[n - k], confidence)


def calls_per_block(fn, block_seconds):
    """How many calls of fn fill about `block_seconds` (at least 1), from a timed call."""
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-9)
    return max(1, int(block_seconds / once))


def fastest_call(fn, calls):
    """The fastest of `calls` timed calls of fn, in seconds."""
    best = math.inf
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        fn()
        best = min(best, clock() - start)
    return best


def alternate(a, b, *, pairs=25, block_seconds=0.02):
    """Time a() and b() in `pairs` alternating pairs of blocks of about `block_seconds` each.

    Each side is called once first (untimed: compiles, warms caches), and the calls per
    block are set from the slower of the two so that both blocks of a pair take about as
    long. Returns a Paired with each block's fastest call.
    """
    calls = min(calls_per_block(a, block_seconds), calls_per_block(b, block_seconds))
    result = Paired()
    for k in range(pairs):
        first, second = (a, b) if k % 2 == 0 else (b, a)
        t_first = fastest_call(first, calls)
        t_second = fastest_call(second, calls)
        t_a, t_b = (t_first, t_second) if k % 2 == 0 else (t_second, t_first)
        result.a.append(t_a)
        result.b.append(t_b)
    return result
