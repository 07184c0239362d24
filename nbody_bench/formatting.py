"""A measured figure as people read it: times, speedups and percentages, written one way
wherever the project prints one (the summary, the gate, the A/B, `try`, the notebook,
the scale-out model and the docs' tables)."""

from __future__ import annotations

_UNITS = (("s", 1.0), ("ms", 1e-3), ("us", 1e-6))


def duration(seconds, digits=4):
    """A time in the largest unit it reaches: 1.234 s, 56.7 ms, 890 us, 12 ns."""
    for unit, scale in _UNITS:
        if seconds >= scale:
            return f"{seconds / scale:.{digits}g} {unit}"
    return f"{seconds / 1e-9:.{digits}g} ns"


def signed_duration(seconds, digits=4):
    """A difference of times, its sign always shown: +1.2 us, -30 ns."""
    return f"{'-' if seconds < 0 else '+'}{duration(abs(seconds), digits)}"


def speedup(value, digits=2):
    """A ratio of times: 0.73x, 82x, and from 100 on whole, with thousands marked: 2,786x."""
    return f"{value:,.0f}x" if value >= 100 else f"{value:.{digits}g}x"


def percent(fraction):
    """A fraction as a percentage, whole from 10% on: 45%, 3.2%, 0.0093%."""
    value = 100 * fraction
    return f"{value:.0f}%" if value >= 10 else f"{value:.2g}%"
