"""The answer every derivative is checked against, and how far from it a correct one may be.

The suite (bench/conftest.py) and `nbody-bench try` share these, so a student's kernel is
held to exactly the bound the backends are.
"""

from __future__ import annotations

import numpy as np

EXTENDED = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps


def direct_sum(pos, mass, block=256, rows=None):
    """The accelerations by the direct sum in extended precision (long double), in blocks
    of rows to bound memory: (accelerations, sum of |terms|), both float64 (n, 3), or
    (len(rows), 3) for the bodies `rows` only (a sample, where all n would take minutes).

    The second scales the error bound: a float64 sum of terms that cancel is only as
    accurate as the magnitudes summed, not as the small result. Where long double is no
    wider than float64 (some ARM machines), the sum is in float64 (see EXTENDED).
    """
    p, m = np.asarray(pos, np.longdouble), np.asarray(mass, np.longdouble)
    wanted = np.arange(len(m)) if rows is None else np.asarray(rows)
    exact, magnitude = np.empty((len(wanted), 3)), np.empty((len(wanted), 3))
    for start in range(0, len(wanted), block):
        these = slice(start, min(start + block, len(wanted)))
        d = p[np.newaxis, :, :] - p[wanted[these], np.newaxis, :]
        r2 = (d * d).sum(axis=-1)
        r2[r2 == 0] = 1  # the self-terms, whose d is zero
        terms = (m / (r2 * np.sqrt(r2)))[:, :, np.newaxis] * d
        exact[these] = terms.sum(axis=1)
        magnitude[these] = np.abs(terms).sum(axis=1)
    return exact, magnitude


def tolerance(n, magnitude):
    """Bound on a correct float64 kernel's error, per component.

    Each pair term m_j d / |d|^3 carries about ten roundings (d, |d|^2, sqrt, the product
    and the quotient), and adding n - 1 terms in any order adds at most n - 2 more, each
    relative to the magnitudes summed: (n + 10) eps sum |terms|. It holds for any
    summation order (fast-math reordering included), while a wrong term or mass breaks
    it by orders of magnitude.
    """
    return (n + 10) * np.finfo(np.float64).eps * magnitude


def excess(acc, exact, magnitude, n=None):
    """Per component, the error over the bound: a correct kernel has every one <= 1. A
    zero bound (N = 1: no terms at all) admits only an exact zero. `n`: the bodies summed
    over, where `exact` holds a sample of rows."""
    error = np.abs(acc - exact)
    bound = tolerance(len(exact) if n is None else n, magnitude)
    return np.divide(error, bound, out=np.where(error > 0, np.inf, 0.0), where=bound > 0)
