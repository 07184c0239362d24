"""Results kept as they come: what a run on a borrowed machine (./dev gpu, on a GPU lent for
minutes) has measured is on disk after each benchmark, so that a run cut short still
returns it.

The suite's `--keep DIR` (bench/conftest.py) calls `keep` after every benchmark that ran:

- DIR/results.json: the run's benchmarks in pytest-benchmark's layout (machine_info,
  commit_info, datetime, benchmarks), each with its extra_info and its statistics but
  not its rounds' raw times (pytest-benchmark's --benchmark-json holds every round: over
  100 MB for a suite run), so it stays small enough to travel back from a lent machine.
  `nbody_bench.results.load_run` reads it, and `nbody-bench render` can draw from it.
- DIR/table.txt: the GPU table (summary.format_gpu, with each kernel's own time) and the
  summary table of every benchmark kept so far.

Both are replaced whole each time, written to a temporary file beside and renamed over the
old one, so a reader, or a run killed mid-write, sees the last whole version. A later
session keeping into the same DIR (the GPU run's CPU comparisons, after its GPU
benchmarks) adds to what is there: an entry of the same workload and backend replaces the
earlier one.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from pathlib import Path

from .results import ResultsError, load_run, rows_from
from .summary import format_gpu, format_table

RESULTS = "results.json"
TABLE = "table.txt"
# What of pytest-benchmark's statistics is kept: no raw rounds (stats.data).
STATISTICS = ("min", "max", "mean", "median", "stddev", "rounds")


def slim(entry):
    """A benchmark entry without its rounds' raw times: name, group, extra_info and the
    statistics of STATISTICS that it has."""
    stats = entry.get("stats") or {}
    return {
        "name": entry.get("name"),
        "group": entry.get("group"),
        "extra_info": dict(entry.get("extra_info") or {}),
        "stats": {key: stats[key] for key in STATISTICS if key in stats},
    }


def _key(entry):
    info = entry.get("extra_info") or {}
    return (info.get("workload"), info.get("backend"), entry.get("name"))


def merged(kept, new):
    """`kept` with `new` added, an entry of the same workload and backend (and name)
    replacing the kept one in its place; the others in the order they came."""
    entries = {_key(e): e for e in kept}
    for entry in new:
        entries[_key(entry)] = entry
    return list(entries.values())


def write_atomic(path, text):
    """Writes `text` to `path` whole: into a temporary file in the same folder, then renamed
    over `path` (os.replace, atomic on one file system)."""
    path = Path(path)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False,
        encoding="utf-8",
    ) as f:  # fmt: skip
        f.write(text)
    try:
        os.replace(f.name, path)
    except OSError:
        os.unlink(f.name)
        raise


def tables(benchmarks):
    """table.txt's text for the kept benchmarks: the GPU table, then the summary table."""
    rows = rows_from(benchmarks)
    if not rows:
        return "No benchmark has finished yet.\n"
    gpu = format_gpu(rows)
    return "\n\n".join(part for part in (gpu, format_table(rows)) if part) + "\n"


def keep(directory, entries, machine_info=None, commit_info=None):
    """Writes DIR/results.json (what was kept there before, with `entries` added, slimmed)
    and DIR/table.txt; returns the results' path. An existing results.json that cannot be
    read is an error (ResultsError), never overwritten."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / RESULTS
    before = load_run(path) if path.exists() else {"benchmarks": []}
    benchmarks = merged(before["benchmarks"], [slim(e) for e in entries])
    run = {
        "machine_info": machine_info or before.get("machine_info") or {},
        "commit_info": commit_info or before.get("commit_info") or {},
        "datetime": datetime.datetime.now(datetime.UTC).isoformat(),
        "benchmarks": benchmarks,
    }
    write_atomic(path, json.dumps(run, indent=1) + "\n")
    write_atomic(directory / TABLE, tables(benchmarks))
    return path


__all__ = ["RESULTS", "TABLE", "ResultsError", "keep", "merged", "slim", "tables"]
