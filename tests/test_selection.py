"""`--backend NAME`: the tests of that backend alone, and in bench/ its benchmarks beside the
baselines they are measured against (conftest.py)."""

import os
import subprocess
import sys
from pathlib import Path

import kernels

ROOT = Path(__file__).resolve().parents[1]


def backends_collected(done):
    """The backends of the collected items (an id's parameter starts with its backend)."""
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    names = sorted(kernels.names(), key=len, reverse=True)  # numba-parallel before numba
    found = set()
    for line in done.stdout.splitlines():
        if "[" in line:
            parameter = line.split("[", 1)[1]
            found |= {next((n for n in names if parameter.startswith(n)), None)}
    return found - {None}


def test_a_chosen_backend_keeps_its_baselines_in_the_suite(bench_collect):
    chosen = bench_collect("--backend=numba-parallel", "-k", "test_derivative")
    assert backends_collected(chosen) == {"numba-parallel", "numba", "python"}
    chosen = bench_collect("--backend=cython", "-k", "test_derivative")
    assert backends_collected(chosen) == {"cython", "python"}


def test_a_chosen_backend_is_alone_in_the_tests():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_api.py", "--collect-only", "-q",
         "--backend=numba-parallel", "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")},
    )  # fmt: skip
    assert backends_collected(done) == {"numba-parallel"}
