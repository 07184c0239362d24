"""Fixtures shared by the kernel tests."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="session")
def bench_collect():
    """bench_collect(*options, env={}): `pytest bench/ --collect-only -q *options` in a fresh
    process, outside any xdist worker's environment (pytest-benchmark would take the child
    for one), with `env` added to its environment."""

    def collect(*options, env=()):
        return subprocess.run(
            [sys.executable, "-m", "pytest", str(BENCH), "--collect-only", "-q", *options],
            env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
            | dict(env),
            capture_output=True,
            text=True,
            timeout=300,
        )

    return collect


def direct_sum(pos, mass):
    """The accelerations by the direct sum in float64, and the sum of |terms| per body,
    which scales the error bound."""
    d = pos[np.newaxis, :, :] - pos[:, np.newaxis, :]
    r2 = (d * d).sum(axis=-1)
    np.fill_diagonal(r2, 1.0)
    s = mass / (r2 * np.sqrt(r2))
    np.fill_diagonal(s, 0.0)
    terms = s[:, :, np.newaxis] * d
    return terms.sum(axis=1), np.abs(terms).sum(axis=1)


def _assert_direct_sum(acc, pos, mass):
    expected, magnitude = direct_sum(pos, mass)
    n = len(mass)
    # The suite's bound, (n + 10) eps sum |terms|, doubled for the float64 reference here.
    tolerance = 2 * (n + 10) * np.finfo(np.float64).eps * magnitude
    error = np.abs(acc - expected)
    # A zero tolerance (N = 1: no terms at all) admits only an exact zero.
    excess = np.divide(error, tolerance, out=np.where(error > 0, np.inf, 0.0), where=tolerance > 0)
    assert excess.max() <= 1, f"N = {n}: error {excess.max():.3g} times the bound"


@pytest.fixture(scope="session")
def assert_direct_sum():
    """assert_direct_sum(acc, pos, mass): acc (n, 3) is the direct sum within the bound."""
    return _assert_direct_sum
