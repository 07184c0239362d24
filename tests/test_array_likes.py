"""Any array-like of real numbers gives exactly the float64 C-ordered answer."""

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import kernels

pos, vel, mass = kernels.initial_conditions(6, seed=2)
# float32 and int inputs are compared with the float64 arrays holding the same values.
pos32, vel32 = pos.astype(np.float32), vel.astype(np.float32)
ints = (np.arange(18).reshape(6, 3) ** 2, np.ones((6, 3), dtype=np.int32), np.arange(1, 7))


def read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def elements(a, kind):
    """The same values as nested lists of Python objects of another kind."""
    return np.vectorize(kind, otypes=[object])(a).tolist()


def strided(a):
    wide = np.zeros((a.shape[0] * 2, *a.shape[1:]))
    wide[::2] = a
    return wide[::2]


LIKES = {
    "lists": ((pos.tolist(), vel.tolist(), mass.tolist()), (pos, vel, mass)),
    "float32": (
        (pos32, vel32, mass.astype(np.float32)),
        (pos32.astype(float), vel32.astype(float), mass),
    ),
    "ints": (ints, tuple(a.astype(float) for a in ints)),
    "fortran order": ((np.asfortranarray(pos), np.asfortranarray(vel), mass), (pos, vel, mass)),
    "strided views": ((strided(pos), strided(vel), strided(mass)), (pos, vel, mass)),
    "read-only": ((read_only(pos), read_only(vel), read_only(mass)), (pos, vel, mass)),
    "object array of floats": (
        tuple(np.array(a.tolist(), dtype=object) for a in (pos, vel, mass)),
        (pos, vel, mass),
    ),
    # Decimal(x) and Fraction(x) hold a float64 x exactly, so they must give x back.
    "Decimal": (tuple(elements(a, Decimal) for a in (pos, vel, mass)), (pos, vel, mass)),
    "Fraction": (tuple(elements(a, Fraction) for a in (pos, vel, mass)), (pos, vel, mass)),
    "NumPy scalars": (
        (elements(pos, np.float64), elements(vel, np.float16), elements(mass, np.int8)),
        (pos, vel.astype(np.float16).astype(float), mass.astype(np.int8).astype(float)),
    ),
    "byte-swapped": (
        tuple(a.astype(a.dtype.newbyteorder(">")) for a in (pos, vel, mass)),
        (pos, vel, mass),
    ),
}


@pytest.mark.parametrize("kind", LIKES, ids=str)
def test_array_likes_give_same_derivatives(backend, kind):
    given, plain = LIKES[kind]
    chosen = kernels.get(backend)
    np.testing.assert_array_equal(chosen.derivatives(*given)[1], chosen.derivatives(*plain)[1])


@pytest.mark.parametrize("kind", LIKES, ids=str)
def test_array_likes_give_same_run(kind):
    given, plain = LIKES[kind]
    times = {"tend": 0.05, "tframe": 0.01, "dt": 0.002}
    np.testing.assert_array_equal(
        kernels.run_rk2(*given, **times, backend="numpy"),
        kernels.run_rk2(*plain, **times, backend="numpy"),
    )
