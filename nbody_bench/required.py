"""Which backends must be available here: where one is missing, a run fails rather than skips.

On a user's machine a backend that cannot be had (no gfortran, no GPU, JAX not installed)
is skipped, with its reason and fix. Under CI that skip would hide a broken build: a
change that stops the Fortran or Pythran extension from building would pass with fewer
tests. So under CI every CPU backend is required, and where an NVIDIA GPU is present the
GPU backends too: their tests and benchmarks fail with the backend's own reason, and a gate
bound whose benchmark is missing fails (nbody_bench.gate).

CI is the environment variable CI set to true (as GitHub Actions, GitLab and .ci/run set
it), or pytest's --ci, or the gate's --ci.
"""

from __future__ import annotations

import os
from pathlib import Path

TRUE = {"1", "true", "yes", "on"}


def under_ci(environ=None):
    """Whether the environment says this is a CI run (CI=true)."""
    return (environ if environ is not None else os.environ).get("CI", "").strip().lower() in TRUE


def gpu_present(proc=Path("/proc/driver/nvidia/gpus")):
    """Whether the NVIDIA driver reports a GPU here, asked without importing a GPU library
    (numba-cuda or CuPy take seconds to import, and the question must be cheap)."""
    try:
        return any(proc.iterdir())
    except OSError:
        return False


def required_backends(ci, gpu=None):
    """The built-in backends that must be available: none outside CI; under CI every CPU
    backend, the GPU backends where a GPU is present (`gpu`: None asks the driver), and
    cuda on Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), where CI runs its contract
    tests."""
    if not ci:
        return frozenset()
    import kernels  # here, not at import: the gate re-judges saved runs without a build
    from kernels.registry import GPU

    gpu = gpu_present() if gpu is None else gpu
    simulated = {"cuda"} if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else set()
    return frozenset(
        name for name in kernels.BACKENDS if gpu or name not in GPU or name in simulated
    )


def why_required(name):
    """The sentence a required backend's failure ends with."""
    from kernels.registry import GPU

    kind = "a GPU backend on a machine with a GPU" if name in GPU else "a CPU backend"
    return (
        f"{name} is required under CI ({kind}), so it fails here rather than being skipped; "
        "outside CI (no CI=true, no --ci) it is skipped with the reason above"
    )
