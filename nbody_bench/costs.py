"""What each backend costs to use, beside what it gains: the time to the first result in
a fresh process, the build time of its compiled code, its lines of kernel code, and the
peak memory of one call.

    nbody-bench costs [--json RUN.json] [--n-memory 4000] [--backend NAME ...]

- first result: a fresh Python process imports kernels, gets the backend and makes one
  checked derivatives() call of 20 bodies; timed inside the process from just before
  `import kernels` (so NumPy's import counts for every backend alike). Numba twice: with
  an empty cache (it compiles) and again with the cache the first run wrote.
- build: the seconds the compiler spent on the backend's extension modules, from the
  build folder's ninja log (the last build of each target): pythran -E and the C++
  compile, Cython's C and its compile, f2py and gfortran. The shared boundary module
  (kernels._boundary) is its own row.
- lines: lines of kernel code, comments, docstrings and blank lines left out.
- peak memory: how far one call at N = --n-memory raises the process's peak resident
  memory (Linux: VmHWM after resetting it through /proc/self/clear_refs), after a first
  call has compiled and allocated what stays, and glibc has handed back what it freed.
  Backends that compute in other processes (multiprocessing, dask) count only this
  process's part, and are marked so.
- speedups, with --json: each backend's speedups from a suite run's JSON (the lecture run
  and N = 1000), as the summary computes them.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

import kernels
import kernels.registry

ROOT = Path(kernels.__file__).resolve().parent

# The files that hold each backend's kernel (its derivative and whole run), relative to
# kernels/: what a user writes to get that backend, not the project's plumbing around it.
KERNEL_FILES = {
    "python": ["python.py"],
    "numpy": ["numpy.py"],
    "numba": ["numba.py"],
    "cython": ["cy/_nbody.pyx"],
    "fortran": ["fortran/nbody.f90"],
    "multiprocessing": ["multiprocessing.py"],
    "c-reference": ["c/nbody.c", "c/soa.h"],
    "numba-parallel": ["numba_parallel.py"],
    "multiprocessing-shared": ["multiprocessing_shared.py"],
    "simd": ["simd/limit.c"],
    "simd-parallel": ["simd/parallel.py"],
    "dask": ["dask.py"],
    "pythran": ["pythran/_kernel.py"],
    "jax": ["jax.py"],
    "cuda": ["cuda.py"],
    "cupy": ["cupy.py", "numpy.py"],
}
# Extension modules (folders under kernels/ in the build) per backend, for the build time.
BUILT_IN = {
    "cython": "kernels/cy/",
    "fortran": "kernels/fortran/",
    "c-reference": "kernels/c/",
    "simd": "kernels/simd/",
    "pythran": "kernels/pythran/",
}
OTHER_PROCESSES = kernels.registry.POOLED
TOO_SLOW_FOR_MEMORY = {"python": "50 s a call", "multiprocessing": "minutes a call"}

_PROBE = r"""
import json, os, sys, time
start = time.perf_counter()
import kernels
import kernels.registry
backend = kernels.get(sys.argv[1])
pos, vel, mass = kernels.initial_conditions(20, seed=0)
backend.derivatives(pos, vel, mass)
first = time.perf_counter() - start
result = {"first": first}
n = int(sys.argv[2])
if n:
    def resident(field):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    pos, vel, mass = kernels.initial_conditions(n, seed=0)
    backend.derivatives(pos, vel, mass)  # compiles for this N (JAX), allocates what stays
    try:  # what that call freed goes back to the system, so reusing it shows as new pages
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the present resident size
    before = resident("VmRSS:")
    backend.derivatives(pos, vel, mass)
    result["peak"] = resident("VmHWM:") - before
print(json.dumps(result))
"""


@dataclass
class Cost:
    backend: str
    first: float | None = None  # seconds; Numba: with an empty cache
    first_warm: float | None = None  # Numba: with the cache the first run wrote
    build: float | None = None  # compiler seconds
    lines: int = 0
    peak: int | None = None  # bytes
    note: str = ""


def probe(backend, n_memory, env=None):
    """One fresh process: {"first": seconds, "peak": bytes (when n_memory)}."""
    shown = subprocess.run(
        [sys.executable, "-c", _PROBE, backend, str(n_memory)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if shown.returncode != 0:
        raise RuntimeError(f"{backend}: the fresh process failed:\n{shown.stderr[-2000:]}")
    return json.loads(shown.stdout.strip().splitlines()[-1])


def kernel_lines(path):
    """Lines with code in them: no blank lines, comments or (Python) docstrings."""
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".py", ".pyx"):
        return _python_lines(text)
    comment = "!" if path.suffix == ".f90" else "//"
    lines, in_block = 0, False
    for line in text.splitlines():
        code = line
        if path.suffix != ".f90":  # C: /* ... */ blocks
            kept = ""
            while code:
                if in_block:
                    end = code.find("*/")
                    if end < 0:
                        code = ""
                    else:
                        code, in_block = code[end + 2 :], False
                else:
                    begin = code.find("/*")
                    if begin < 0:
                        kept, code = kept + code, ""
                    else:
                        kept, code, in_block = kept + code[:begin], code[begin + 2 :], True
            code = kept
        code = code.split(comment, 1)[0]
        lines += bool(code.strip())
    return lines


def _python_lines(text):
    """Python (and Cython, whose extra keywords tokenize as names) lines with code."""
    code_lines = set()
    previous = tokenize.NEWLINE
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.ENDMARKER:
            break
        is_docstring = token.type == tokenize.STRING and previous in (
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
        )
        if token.type not in skip and not is_docstring:
            code_lines.update(range(token.start[0], token.end[0] + 1))
        if token.type not in (tokenize.COMMENT, tokenize.NL):
            previous = token.type
    return len(code_lines)


def build_folder():
    """The meson build folder this process's extensions came from (an editable install's),
    or None (a wheel install keeps no ninja log)."""
    from kernels.c import _reference

    for folder in Path(_reference.__file__).resolve().parents:
        if (folder / ".ninja_log").is_file():
            return folder
    return None


def build_seconds(folder):
    """{backend: compiler seconds} from the ninja log of `folder` (its latest entry per
    target); the boundary module under "boundary"."""
    latest = {}
    for line in (folder / ".ninja_log").read_text().splitlines():
        fields = line.split("\t")
        if line.startswith("#") or len(fields) < 4:
            continue
        latest[fields[3]] = (int(fields[1]) - int(fields[0])) / 1000
    totals = {}
    for target, seconds in latest.items():
        owner = next((b for b, prefix in BUILT_IN.items() if target.startswith(prefix)), None)
        if owner is None and target.startswith("kernels/_boundary"):
            owner = "boundary"
        if owner is not None:
            totals[owner] = totals.get(owner, 0.0) + seconds
    return totals


def kernel_files(name):
    """The files of a backend's kernel: this project's, or a plugin's module."""
    if name in KERNEL_FILES:
        return [ROOT / f for f in KERNEL_FILES[name]]
    from kernels.registry import plugin_source

    return [plugin_source(name)]


def measure(backends, n_memory=4000):
    """A Cost for each usable backend of `backends`, measured now."""
    folder = build_folder()
    builds = build_seconds(folder) if folder else {}
    costs = []
    for name in backends:
        cost = Cost(name, lines=sum(kernel_lines(f) for f in kernel_files(name)))
        cost.build = builds.get("simd" if name == "simd-parallel" else name)
        n = 0 if name in TOO_SLOW_FOR_MEMORY else n_memory
        if name.startswith("numba"):
            with tempfile.TemporaryDirectory() as cache:
                cold = probe(name, 0, {"NUMBA_CACHE_DIR": cache})
                warm = probe(name, n, {"NUMBA_CACHE_DIR": cache})
            cost.first, cost.first_warm, cost.peak = cold["first"], warm["first"], warm.get("peak")
        else:
            shown = probe(name, n)
            cost.first, cost.peak = shown["first"], shown.get("peak")
        if name in TOO_SLOW_FOR_MEMORY:
            cost.note = f"memory not measured: {TOO_SLOW_FOR_MEMORY[name]} at N = {n_memory}"
        elif name in OTHER_PROCESSES:
            cost.note = "memory: this process only (the work runs in other processes)"
        costs.append(cost)
    if "boundary" in builds:
        costs.append(Cost("(checked call)", build=builds["boundary"], note="kernels/_boundary"))
    return costs


def format_costs(costs, speedups=None, n_memory=4000):
    """A Markdown table; `speedups` = {backend: (lecture, n1000)} adds two columns."""
    speedups = speedups or {}
    head = ["backend", "first result", "build", "kernel lines", f"peak memory, N = {n_memory}"]
    if speedups:
        head += ["speedup, lecture", "speedup, N = 1000"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in costs:
        first = "-" if c.first is None else f"{c.first:.2f} s"
        if c.first_warm is not None:
            first += f" ({c.first_warm:.2f} s cached)"
        cells = [
            c.backend,
            first,
            "-" if c.build is None else f"{c.build:.1f} s",
            str(c.lines or "-"),
            "-" if c.peak is None else f"{max(c.peak, 0) / 2**20:.1f} MB",
        ]
        if speedups:
            lecture, n1000 = speedups.get(c.backend, (None, None))
            cells += ["-" if s is None else f"{s:.1f}x" for s in (lecture, n1000)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {c.backend}: {c.note}" for c in costs if c.note and c.backend[0] != "("]
    return "\n".join([*lines, "", *notes] if notes else lines)


def speedups_from(json_path):
    """{backend: (lecture speedup, N = 1000 speedup)} from a suite run's JSON."""
    from .results import load_run, rows_from

    found = {}
    for row in rows_from(load_run(json_path)["benchmarks"]):
        lecture, n1000 = found.get(row.backend, (None, None))
        if row.workload == "lecture":
            found[row.backend] = (row.speedup, n1000)
        elif row.workload == "derivative-n1000":
            found[row.backend] = (lecture, row.speedup)
    return found
