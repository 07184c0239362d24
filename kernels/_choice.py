"""A choice timed once per machine and build, then kept for every later process.

Some kernels pick between code paths whose order depends on the CPU: the limit kernel's
variants (`kernels.simd`), Numba's two pair loops (`kernels.numba`). Timed in each
process, two processes of one machine (test workers, both sides of an A/B, suite runs
days apart) could run different code, so the first process times and writes its choice,
atomically, to a small JSON file of the user's cache, keyed by the machine and the build,
and every later one reads it back. Delete the file to time again.
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path


def cache_folder():
    """$NBODY_BENCH_CACHE_DIR, else the user's cache folder ($XDG_CACHE_HOME or ~/.cache)
    /nbody-bench."""
    folder = os.environ.get("NBODY_BENCH_CACHE_DIR")
    if not folder:
        try:
            base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        except RuntimeError:  # no home folder to be found: the temporary one
            base = tempfile.gettempdir()
        folder = Path(base) / "nbody-bench"
    return Path(folder)


def cpu_model():
    """The CPU's model name (/proc/cpuinfo's, where there is one)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                model,
            )
    except OSError:
        return model


def _locked(handle):
    """Hold an exclusive lock on `handle` where the platform has flock (pytest-xdist's
    workers start together; one of them times, the others read its choice)."""
    try:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX)
    except (ImportError, OSError):  # no flock (or none on this file system): the last to
        return  # time wins; each process keeps its own


def remembered(path, key, valid, measure):
    """The value kept under `key` in the JSON file `path` where `valid(value)`, else
    `measure()`, written there for every later process (the file's other keys kept). A
    file that is not a JSON object is timed over; where the file cannot be written, the
    value is measured in this process only. One lock for the folder: two choices timed at
    once on one machine would slow each other."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.parent / "choices.lock", "a")
    except OSError:  # no writable cache: time in this process only
        return measure()
    with lock:
        _locked(lock)
        try:
            choices = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(choices, dict):
                choices = {}
        except (OSError, ValueError):
            choices = {}
        value = choices.get(key)
        if value is not None and valid(value):
            return value
        value = measure()
        choices[key] = value
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            part.write_text(json.dumps(choices, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(part, path)
        except OSError:
            part.unlink(missing_ok=True)
        return value
