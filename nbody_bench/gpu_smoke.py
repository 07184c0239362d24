"""The GPU run's smoke step (.ci/gpu): under a minute, before anything else spends the lent
GPU's minutes, it says what the machine has and stops the run, with the reason, where a
GPU backend cannot work.

    python -P nbody_bench/gpu_smoke.py probe --out DIR    # before the build: no project import
    python -P -m nbody_bench.gpu_smoke calls --out DIR    # after it: one call per backend

- `probe`: the GPU and its driver (nvidia-smi), the driver's CUDA version, NVVM's, and the
  versions of numba-cuda, CuPy and JAX with its CUDA plugin, against the pins of
  .ci/cuda13.txt. Exit status 75 (EX_TEMPFAIL: try again where there is a GPU) where no
  GPU answers, 1 where a package a backend needs is missing. It imports nothing of the
  project, so it runs from the source tree before the build.
- `calls`: one compiled call per GPU backend at N = 1e5, each checked against the
  extended-precision sum of a sample of bodies; exit status 1, naming the backend and
  its error, where one fails.

The backends are those of NBODY_GPU_BACKENDS (default "cuda cupy jax"), so that a rerun
can leave out one that cannot work. Each stage appends its report to DIR/smoke.txt,
replaced whole (a temporary file, renamed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NO_GPU = 75
FAILED = 1
BACKENDS = ("cuda", "cupy", "jax")
# The distributions each backend needs, as the CUDA 13 pins name them.
NEEDS = {"cuda": ("numba-cuda",), "cupy": ("cupy-cuda13x",), "jax": ("jax", "jax-cuda13-plugin")}
PINS = Path(__file__).resolve().parents[1] / ".ci" / "cuda13.txt"
# The calls' N: 1e5; a rehearsal on the simulator (.ci/gpu --rehearse) sets a few bodies.
N = int(os.environ.get("NBODY_GPU_SMOKE_N", "100000"))
SIMULATOR = "Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1: a rehearsal, no figure is a GPU's)"
SAMPLE = 64


def backends():
    """The GPU backends this run is for: NBODY_GPU_BACKENDS, or all three."""
    chosen = os.environ.get("NBODY_GPU_BACKENDS", " ".join(BACKENDS)).split()
    unknown = [b for b in chosen if b not in BACKENDS]
    if unknown:
        raise SystemExit(f"NBODY_GPU_BACKENDS: {', '.join(unknown)}: choose from {BACKENDS}")
    return chosen


def pins(path=PINS):
    """{distribution: version} of the name==version lines of the CUDA 13 pins."""
    found = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return found
    for line in lines:
        spec = line.split("#", 1)[0].strip()
        name, sep, version = spec.partition("==")
        if sep:
            found[name.split("[")[0].strip().lower()] = version.strip()
    return found


def version_of(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def gpu_line():
    """nvidia-smi's name, memory and driver version of each GPU, or None with no GPU
    (and why); on Numba's CUDA simulator, which stands in for the GPU in a rehearsal, it."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return SIMULATOR, None
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None, "nvidia-smi is not on PATH (no NVIDIA driver here)"
    query = "--query-gpu=name,memory.total,clocks.max.sm,driver_version"
    try:
        done = subprocess.run(
            [smi, query, "--format=csv,noheader"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"nvidia-smi failed ({exc})"
    if done.returncode != 0 or not done.stdout.strip():
        return None, f"nvidia-smi found no GPU ({(done.stderr or done.stdout).strip()[-300:]})"
    return done.stdout.strip(), None


def cuda_versions():
    """(the driver's CUDA version, NVVM's CUDA version, notes) as 'MAJOR.MINOR' text, each
    None where it cannot be told (no driver; NVVM not from a wheel), the notes saying why
    and where NVVM is from."""
    notes = []
    driver = None
    try:
        from numba.cuda.cudadrv.driver import driver as cuda_driver

        driver = ".".join(map(str, cuda_driver.get_version()))
    except Exception as exc:
        first = " ".join(str(exc).split())[:160]
        notes.append(f"the driver's CUDA version: {type(exc).__name__}: {first}")
    wheel = version_of("nvidia-nvvm")
    nvvm = ".".join(wheel.split(".")[:2]) if wheel else None
    if wheel is None:
        home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH") or "/usr/local/cuda"
        found = sorted(Path(home).glob("nvvm/lib*/libnvvm.so*"))
        notes.append(
            f"NVVM: no nvidia-nvvm wheel; numba-cuda takes CUDA_HOME's ({home}): "
            + (
                f"{found[0]}"
                if found
                else "no libnvvm.so there, so cuda cannot compile; fix: "
                "CUDA_HOME=<the toolkit> or pip install nvidia-nvvm as pinned"
            )
        )
    return driver, nvvm, notes


def probe(chosen):
    """(lines of the report, exit status, reason or None)."""
    pinned = pins()
    lines = ["versions (installed; pinned in .ci/cuda13.txt):"]
    missing = []
    for backend in chosen:
        for distribution in NEEDS[backend]:
            found = version_of(distribution)
            pin = pinned.get(distribution)
            lines.append(f"  {distribution}: {found or 'not installed'} (pinned {pin or '-'})")
            if found is None:
                missing.append(f"{distribution} (for {backend})")
    for distribution in ("numba", "numpy", "jaxlib"):
        lines.append(f"  {distribution}: {version_of(distribution) or 'not installed'}")
    gpu, why = gpu_line()
    lines.append(f"GPU: {gpu or why}")
    driver = nvvm = None
    if "cuda" in chosen and version_of("numba-cuda"):
        driver, nvvm, notes = cuda_versions()
        lines.append(f"CUDA: the driver's {driver or '?'}, NVVM's {nvvm or '?'}")
        lines += [f"  ({note})" for note in notes]
    if gpu is None:
        return (
            lines,
            NO_GPU,
            (
                f"no CUDA GPU here: {why}; run .ci/gpu (./dev gpu) on a machine with an NVIDIA "
                "GPU and its driver"
            ),
        )
    if missing:
        return (
            lines,
            FAILED,
            (
                f"not installed: {', '.join(missing)}; fix: install the pinned versions "
                "(.ci/cuda13.txt), or carry them as wheels (./dev gpu-wheels NAME ... where "
                "there is network, then carry .whl), or leave the backend out: "
                'NBODY_GPU_BACKENDS="..."'
            ),
        )
    if driver and nvvm and _newer(nvvm, driver):
        lines.append(
            f"  note: NVVM {nvvm} is newer than the driver's CUDA {driver}: its PTX may not "
            "load (the calls step says); NVVM of the driver's CUDA: CUDA_HOME=/usr/local/cuda "
            "or nvidia-nvvm as pinned"
        )
    return lines, 0, None


def _newer(a, b):
    def parts(text):
        return tuple(int(x) for x in text.split(".")[:2])

    try:
        return parts(a) > parts(b)
    except ValueError:
        return False


def calls(chosen, passing=None):
    """(lines, exit status, reason or None): one checked call per backend at N = 1e5.

    Every backend is tried. One whose call fails to run (an import, a compiler, a plugin)
    is left out of the rest of the run, which goes on with the others, so that one broken
    package does not cost a lent GPU every measurement; the run stops where none runs, or
    where any gives a wrong answer. `passing` (a path) receives the names that go on."""
    import numpy as np

    import kernels
    from nbody_bench import reference
    from nbody_bench.workloads import bodies

    pos, vel, mass = bodies(N)
    rows = np.unique(np.linspace(0, N - 1, SAMPLE).astype(int))
    exact, magnitude = reference.direct_sum(pos, mass, rows=rows)
    state = np.stack((pos, vel))
    lines = [f"one compiled call per backend at N = {N}, checked on {len(rows)} bodies:"]
    ran, failed = [], []
    for name in chosen:
        start = time.perf_counter()
        try:
            backend = kernels.get(name)
            if name == "jax":
                platform = __import__("kernels.jax", fromlist=["platform"]).platform()
                if platform != "gpu":
                    raise RuntimeError(f"JAX runs on the {platform} here, not the GPU")
            rate = np.full_like(state, np.nan)
            backend.derivatives_into(state, mass, rate)
            excess = reference.excess(rate[1][rows], exact, magnitude, n=N).max()
        except Exception as exc:
            lines.append(f"  {name}: failed: {type(exc).__name__}: {exc}")
            failed.append(f"{name}'s call at N = {N} failed: {type(exc).__name__}: {exc}")
            continue
        took = time.perf_counter() - start
        if not excess <= 1:
            lines.append(f"  {name}: wrong: {excess:.3g} times the float64 bound")
            return lines, FAILED, f"{name} at N = {N}: error {excess:.3g} times the bound"
        lines.append(f"  {name}: within the bound ({excess:.2g} of it), {took:.2f} s, compile in")
        ran.append(name)
    if not ran:
        return lines, FAILED, "; ".join(failed)
    if failed:
        lines.append(f"  left out of this run: {'; '.join(failed)}; going on with {' '.join(ran)}")
    if passing:
        Path(passing).write_text(" ".join(ran) + "\n", encoding="utf-8")
    return lines, 0, None


def report(out, stage, lines, status, reason):
    """Prints the stage's report and appends it to OUT/smoke.txt, replaced whole."""
    text = "\n".join([f"smoke, {stage}:", *lines])
    if reason:
        text += f"\nsmoke: stop: {reason}"
    print(text, flush=True)
    if out is None:
        return
    path = Path(out) / "smoke.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=".smoke.", delete=False, encoding="utf-8"
    ) as f:
        f.write(before + text + "\n")
    os.replace(f.name, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gpu_smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", choices=("probe", "calls"))
    parser.add_argument("--out", default=None, help="folder to write smoke.txt in")
    parser.add_argument(
        "--passing", default=None, help="calls: a file to write the backends that go on into"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    chosen = backends()
    if args.stage == "probe":
        lines, status, reason = probe(chosen)
    else:
        lines, status, reason = calls(chosen, args.passing)
    report(args.out, args.stage, lines, status, reason)
    if reason:
        print(f"gpu: stopped in the smoke step ({args.stage}): {reason}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
