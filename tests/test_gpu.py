"""The GPU backends without a GPU: the `cuda` kernels on Numba's CUDA simulator, and what
`cuda` and `cupy` say where they cannot run."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kernels

ROOT = Path(__file__).resolve().parents[1]
NUMBA_CUDA = importlib.util.find_spec("numba") is not None and (
    importlib.util.find_spec("numba.cuda") is not None
)

# Runs in a process of its own: the simulator is chosen when numba.cuda is first imported.
SIMULATED = r"""
import json, sys
import numpy as np
import kernels
from kernels import cuda as kc
from kernels.integrate import schedule
from nbody_bench import reference
from nbody_bench.workloads import bodies

device = kc.Device(tile=8)  # 8 threads a block: a few bodies span several tiles
found = {"per_call": {}, "whole_run": {}}
for n in (1, 2, 3, 7, 8, 9, 20):
    pos, vel, mass = bodies(n)
    state = np.stack((pos, vel))
    rate = np.empty_like(state)
    device.derivatives(state, mass, rate)
    exact, magnitude = reference.direct_sum(pos, mass)
    found["per_call"][n] = {
        "excess": float(reference.excess(rate[1], exact, magnitude).max()),
        "velocities": bool(np.array_equal(rate[0], vel)),
    }
for n in (5, 8, 13):
    pos, vel, mass = bodies(n)
    steps, ends = schedule(3, 0.01, 0.004)
    loop = kernels.run_rk2(pos, vel, mass, tend=0.03, tframe=0.01, dt=0.004, backend="c-reference")
    for one_block in (True, False):
        if one_block and n > device.tile:
            continue
        frames = np.empty_like(loop)
        device.integrate(np.stack((pos, vel)), mass, steps, ends, frames, one_block=one_block)
        found["whole_run"][f"{n}-{one_block}"] = float(np.abs(frames - loop).max())
# The registry's backend, checked call and whole run, with the default tile.
pos, vel, mass = bodies(20)
backend = kernels.get("cuda")
dpdt, dvdt = backend.derivatives(pos, vel, mass)
exact, magnitude = reference.direct_sum(pos, mass)
found["checked"] = float(reference.excess(dvdt, exact, magnitude).max())
frames = kernels.run_rk2(pos, vel, mass, tend=0.02, tframe=0.01, dt=0.005, backend="cuda",
                         whole_run=True)
loop = kernels.run_rk2(pos, vel, mass, tend=0.02, tframe=0.01, dt=0.005, backend="c-reference")
found["registry_whole_run"] = float(np.abs(frames - loop).max())
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def simulated():
    if not NUMBA_CUDA:
        pytest.skip("numba-cuda is not installed; fix: pip install '.[cuda]'")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SIMULATED], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("n", ["1", "2", "3", "7", "8", "9", "20"])
def test_the_tiled_kernel_is_within_the_bound(simulated, n):
    """N = 7, 8, 9 sit around the tile of 8 (one partial tile, one full, one full and a
    body over); N = 20 is three tiles, the last partial."""
    result = simulated["per_call"][n]
    assert result["excess"] <= 1, f"N = {n}: {result['excess']:.3g} times the float64 bound"
    assert result["velocities"]


def test_the_whole_run_on_the_device_follows_the_loop(simulated):
    """One block for the whole run (N up to the tile) and a launch per stage beyond, each
    against run_rk2's loop over the C reference: the same steps, to rounding."""
    assert set(simulated["whole_run"]) == {"5-True", "5-False", "8-True", "8-False", "13-False"}
    for case, difference in simulated["whole_run"].items():
        assert difference < 1e-12, f"{case}: frames {difference:.3g} from the loop's"


def test_the_registry_backend_runs_checked_and_whole(simulated):
    assert simulated["checked"] <= 1
    assert simulated["registry_whole_run"] < 1e-12


def test_without_a_gpu_each_says_why_and_how_to_fix_it(monkeypatch):
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("this process runs the CUDA simulator")
    for name, fix in (("cuda", "NUMBA_ENABLE_CUDASIM=1"), ("cupy", "cupy-cuda")):
        try:
            kernels.get(name)
        except kernels.BackendUnavailable as exc:
            message = str(exc)
            assert "fix:" in message
            assert fix in message or "no CUDA GPU" in message, message
        else:
            pytest.skip(f"{name} runs here: a GPU is present")


def test_importing_kernels_touches_no_gpu():
    """`import kernels` and kernels.names() import neither numba.cuda nor cupy."""
    code = (
        "import sys, kernels; kernels.names(); "
        "print(sorted(m for m in ('numba.cuda', 'cupy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
