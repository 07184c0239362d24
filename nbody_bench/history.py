"""Saved runs, read one way for every page that shows them (the summary's rows, `report`,
`publish`): pytest-benchmark's JSON -> SavedRun (machine, commit, rows with in-run
ratios). pytest-benchmark's storage is `.benchmarks/<machine>/NNNN_<name>.json`; a run
written by --benchmark-json (the gate's, `./dev record`'s) is read the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .machines import Machine, identify
from .results import ResultsError, checked_run, load_run, rows_from


@dataclass(frozen=True)
class SavedRun:
    path: Path
    commit: str  # short commit id, "unknown" when pytest-benchmark recorded none
    dirty: bool
    when: str  # when the run was made (ISO 8601)
    rows: list
    commit_id: str = "unknown"  # the full commit id
    committed: str = ""  # the commit's own time (ISO 8601), where recorded
    branch: str = ""
    machine: Machine | None = None

    @property
    def has_commit(self):
        return self.commit_id != "unknown"

    @property
    def label(self):
        number = self.path.name.split("_", 1)[0]
        return f"{number} {self.commit}{'+' if self.dirty else ''}"


def read_run(path, run=None):
    """One saved run as a SavedRun, or ResultsError naming the file and what is wrong."""
    path = Path(path)
    run = load_run(path) if run is None else run
    rows = rows_from(run["benchmarks"])
    if not rows:
        raise ResultsError(f"{path}: holds no benchmarks of this suite (no workload in extra_info)")
    commit = run.get("commit_info") or {}
    full = str(commit.get("id") or "unknown")
    if full in NO_COMMIT:  # outside git (pytest-benchmark: "unversioned"), or git failed
        full = "unknown"
    return SavedRun(
        path=path,
        commit=full[:7],
        dirty=bool(commit.get("dirty")),
        when=str(run.get("datetime", "")),
        rows=rows,
        commit_id=full,
        committed=str(commit.get("time") or ""),
        branch=str(commit.get("branch") or ""),
        machine=identify(run.get("machine_info"), rows),
    )


def saved_runs(storage=".benchmarks"):
    """Every saved run under `storage`, oldest first (the NNNN counter is the save order).

    The files are listed with pytest-benchmark's own naming (NNNN_*.json in one folder per
    machine); its FileStorage class is not used because it creates the folder when absent,
    and reading must not write anything.
    """
    storage = Path(storage)
    if not storage.is_dir():
        raise ResultsError(
            f"{storage}: no such folder; save a run first: pytest bench/ --benchmark-autosave"
        )
    files = sorted(
        storage.glob("*/[0-9][0-9][0-9][0-9]_*.json"), key=lambda p: (p.name, p.parent.name)
    )
    if not files:
        raise ResultsError(
            f"{storage}: no saved runs in it; save one first: pytest bench/ --benchmark-autosave"
        )
    return [read_run(path) for path in files]


def collect(sources):
    """Every run and A/B verdict file in `sources` (files, or folders searched through):
    (runs oldest first by when they ran, A/B results). A file named outright must be one of
    the two; in a folder, other JSON (a CI timing, say) and runs of no suite benchmark are
    passed over."""
    runs, abs_ = [], []
    seen, same = set(), set()
    for source in map(Path, sources):
        if source.is_dir():
            files, named = sorted(source.rglob("*.json")), False
        elif source.is_file():
            files, named = [source], True
        else:
            raise ResultsError(f"{source}: no such file or folder")
        for path in files:
            if path.resolve() in seen or path.name.startswith("."):
                continue
            seen.add(path.resolve())
            found = _read_any(path, named)
            if isinstance(found, SavedRun):
                # One run copied twice (into the results layout, say) counts once.
                key = (found.machine.key, found.when, found.commit_id, found.dirty)
                if key not in same:
                    same.add(key)
                    runs.append(found)
            elif found is not None:
                abs_.append(found)
    if not runs:
        names = ", ".join(map(str, sources)) or "nothing"
        raise ResultsError(
            f"no saved runs in {names}; save one first: pytest bench/ --benchmark-autosave "
            "(or ./dev record)"
        )
    runs.sort(key=lambda r: (r.when, str(r.path)))
    return runs, abs_


def _read_any(path, named):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        if named:
            load_run(path)  # raises with the reason
        return None
    if isinstance(data, dict) and data.get("kind") == AB_KIND:
        return data
    if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
        try:
            return read_run(path, checked_run(data, path))
        except ResultsError:
            if named:
                raise
            return None
    if named:
        raise ResultsError(
            f"{path}: neither a pytest-benchmark run (no 'benchmarks' list) nor the "
            "verdicts of `nbody-bench ab --json`"
        )
    return None


NO_COMMIT = {"", "unknown", "unversioned"}  # commit ids that name no commit
AB_KIND = "nbody-bench ab"  # the "kind" of the file `nbody-bench ab --json` writes
