"""Which machine a saved run comes from, as a key that stays the same across its runs.

pytest-benchmark records `machine_info`: the host's name, the Python, the kernel release
and py-cpuinfo's view of the CPU, clock readings included, and its compare refuses runs
whose machine_info differs at all. Here a machine is what sets the figures: the CPU's
vendor, family and model, its widest vector unit, the cores the run could use, the build
(native or portable) and the GPU, if a GPU benchmark ran. Host names, clocks, kernel and
Python versions are left out, so runs of one machine from several clones, containers or
days land in one series, and a clock that drifts (pytest-benchmark's issue #255) does not
split it.

The key reads like `amd-f25-m17-avx512-2cpu-native`: `./dev record` names its file
results/KEY.json by it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VENDORS = {"AuthenticAMD": "amd", "GenuineIntel": "intel"}
VECTOR_UNITS = ("avx512f", "avx2", "sse2")  # the widest the CPU's flags name


@dataclass(frozen=True)
class Machine:
    key: str
    cpu: str  # the CPU's model name, as py-cpuinfo reads it
    vector: str  # "avx512", "avx2", "sse2" or "novec"
    cores: int | None  # the cores the benchmarks could use
    build: str  # "native", "portable" or "unknown"
    gpu: str | None = None  # the GPU's name, where a GPU benchmark ran

    @property
    def description(self):
        cores = f"{self.cores} cores" if self.cores else "cores unknown"
        gpu = f", {self.gpu}" if self.gpu else ""
        return f"{self.cpu} ({self.vector}, {cores}){gpu}, {self.build} build"


def identify(machine_info, rows=(), build=None, cores=None):
    """The Machine of a run: its pytest-benchmark `machine_info` and its rows
    (nbody_bench.results.Row), which carry the usable cores, the build and the GPU
    (`build` and `cores` given for a run without rows, as the A/B's)."""
    info = machine_info if isinstance(machine_info, dict) else {}
    cpu = info.get("cpu") if isinstance(info.get("cpu"), dict) else {}
    vendor = VENDORS.get(str(cpu.get("vendor_id_raw", "")), "cpu")
    flags = set(cpu.get("flags") or ())
    vector = next((v.removesuffix("f") for v in VECTOR_UNITS if v in flags), "novec")
    cores = cores or max((r.cores for r in rows if r.cores), default=None)
    cores = cores or _int(cpu.get("count"))
    builds = {build} if build else {r.build for r in rows if r.build}
    build = builds.pop() if len(builds) == 1 else ("mixed" if builds else "unknown")
    gpus = sorted({r.fp64_peak_source.split(":", 1)[0] for r in rows if r.fp64_peak_source})
    gpu = gpus[0] if gpus else None
    family, model = _int(cpu.get("family")), _int(cpu.get("model"))
    if family is None and model is None:  # no x86 family and model (an Arm CPU, say)
        arch = re.sub(r"[^a-z0-9]+", "", str(info.get("machine", "")).lower()) or "cpu"
        brand = _slug(str(cpu.get("brand_raw") or ""))
        head = f"{arch}-{brand}" if brand else arch
    else:
        head = f"{vendor}-f{_or_x(family)}-m{_or_x(model)}-{vector}"
    parts = [head, f"{cores}cpu" if cores else "cpu", build]
    if gpu:
        parts.append(_slug(gpu))
    brand = cpu.get("brand_raw") or info.get("processor") or info.get("machine") or "unknown CPU"
    return Machine("-".join(parts), str(brand), vector, cores, build, gpu)


def this_machine(build, cores=None):
    """The Machine this process runs on, as a run here would record it."""
    import os

    import cpuinfo  # py-cpuinfo, which pytest-benchmark reads machine_info with

    if cores is None and hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    return identify({"cpu": cpuinfo.get_cpu_info()}, build=build, cores=cores or os.cpu_count())


def _or_x(value):
    return "x" if value is None else value


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _slug(text):
    """'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
