"""Initial conditions and the one validation step every public entry point goes through.

Validation happens once, at the API boundary: after `check_state` the arrays are float64,
C-ordered, owned by us (the caller's arrays are never written to or aliased), finite, and
physically meaningful, so the kernels and the integrator's hot loop can skip all checks.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def initial_conditions(n, seed=0):
    """The lecture's random start: positions and velocities uniform in [0, 1), unit masses.

    The generator (NumPy's PCG64 through `default_rng`) and the draw order (all positions,
    then all velocities) are fixed: benchmark histories depend on these exact numbers.
    """
    n = _count("n", n)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(int(seed))
    pos = rng.random((n, 3))
    vel = rng.random((n, 3))
    return pos, vel, np.ones(n)


def check_state(pos, vel, mass):
    """Return float64 C-ordered private copies of (pos, vel, mass), or raise ValueError."""
    pos = _real_array("pos", pos)
    vel = _real_array("vel", vel)
    mass = _real_array("mass", mass)
    if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] == 0:
        raise ValueError(f"pos must have shape (n, 3) with n >= 1, got shape {pos.shape}")
    n = pos.shape[0]
    if vel.shape != pos.shape:
        raise ValueError(f"vel must have the same shape as pos {pos.shape}, got {vel.shape}")
    if mass.shape != (n,):
        raise ValueError(f"mass must have shape ({n},) to match pos {pos.shape}, got {mass.shape}")
    for name, a in (("pos", pos), ("vel", vel), ("mass", mass)):
        bad = ~np.isfinite(a)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name} must be finite, but {name}{list(where)} = {a[where]}")
    if (mass < 0).any():
        i = int(np.flatnonzero(mass < 0)[0])
        raise ValueError(f"mass must be non-negative, but mass[{i}] = {mass[i]}")
    pair = coincident_pair(pos)
    if pair is not None:
        i, j = pair
        raise ValueError(
            f"bodies {i} and {j} are at the same position {pos[i].tolist()}: "
            "their mutual force is infinite; move one of them"
        )
    return pos, vel, mass


def check_times(tend, tframe, dt):
    """Validate the run's times; return (tend, tframe, dt) as floats and the frame count."""
    values = {}
    for name, value in (("tend", tend), ("tframe", tframe), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a real number, got {value!r}")
        value = float(value)
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be positive and finite, got {value!r}")
        values[name] = value
    frames = round(values["tend"] / values["tframe"])
    if frames < 1:
        raise ValueError(
            f"tend={tend!r} is shorter than half a frame (tframe={tframe!r}): no frame to record"
        )
    return values["tend"], values["tframe"], values["dt"], frames


def coincident_pair(pos):
    """The first (i, j), i < j, of bodies at exactly the same position, or None."""
    _, first, inverse = np.unique(pos, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    owner = first[inverse]
    dup = np.flatnonzero(owner != np.arange(len(pos)))
    if dup.size == 0:
        return None
    j = int(dup[0])
    return int(owner[j]), j


def closest_pair(pos):
    """(i, j, distance) of the two closest bodies, i < j; meant for error reports.

    Distances by hypot, which neither underflows nor overflows: bodies 1e-200 apart, whose
    squared distance is 0 in float64, are reported 1e-200 apart."""
    best = (0, 0, math.inf)
    for i in range(len(pos) - 1):
        dx, dy, dz = (pos[i + 1 :] - pos[i]).T
        d = np.hypot(np.hypot(dx, dy), dz)
        k = int(np.argmin(d))
        if d[k] < best[2]:
            best = (i, i + 1 + k, float(d[k]))
    return best


def _real_array(name, value):
    """`value` as a private float64 C-ordered array, or ValueError naming what is wrong."""
    try:
        a = np.asarray(value)
    except ValueError as exc:  # ragged nesting: rows of different lengths
        raise ValueError(
            f"{name} must be a rectangular array-like of real numbers, but its nesting is "
            f"ragged ({exc})"
        ) from exc
    if a.dtype.kind not in "iuf":
        # Element by element from the objects as given (a list mixing numbers and a string
        # became an array of strings above), so the message can name the culprit.
        a = _from_objects(name, a if a.dtype.kind == "O" else np.asarray(value, dtype=object))
    # np.array(copy=True) also normalizes byte order, strides and read-only flags.
    return np.array(a, dtype=np.float64, order="C", copy=True)


def _from_objects(name, a):
    """An object array (Python floats, ints, Decimal, Fraction, NumPy scalars) as float64.

    Each element must be a real number that converts to float64 on its own: complex
    numbers, strings, booleans, None and nested sequences are refused by name.
    """
    out = np.empty(a.shape, dtype=np.float64)
    for k, element in enumerate(a.flat):
        refused = (
            element is None
            or isinstance(element, (bool, np.bool_, str, bytes, complex, np.complexfloating))
            or np.ndim(element) != 0
        )
        if not refused:
            try:
                out.flat[k] = float(element)
                continue
            except (TypeError, ValueError, OverflowError):
                pass
        raise ValueError(f"{name} must hold real numbers, but {_describe(name, a, k)}")
    return out


def _describe(name, a, flat_index):
    index = [int(i) for i in np.unravel_index(flat_index, a.shape)]
    element = a.flat[flat_index]
    return f"{name}{index} = {element!r} ({type(element).__name__})"


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
