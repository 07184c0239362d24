"""Saved runs in pytest-benchmark's storage (`.benchmarks/<machine>/NNNN_<name>.json`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .results import ResultsError, load_run, rows_from


@dataclass(frozen=True)
class SavedRun:
    path: Path
    commit: str  # short commit id, "unknown" when pytest-benchmark recorded none
    dirty: bool
    when: str
    rows: list

    @property
    def label(self):
        number = self.path.name.split("_", 1)[0]
        return f"{number} {self.commit}{'+' if self.dirty else ''}"


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
    runs = []
    for path in files:
        run = load_run(path)
        commit = run.get("commit_info") or {}
        rows = rows_from(run["benchmarks"])
        if not rows:
            raise ResultsError(
                f"{path}: holds no benchmarks of this suite (no workload in extra_info)"
            )
        runs.append(
            SavedRun(
                path=path,
                commit=str(commit.get("id") or "unknown")[:7],
                dirty=bool(commit.get("dirty")),
                when=str(run.get("datetime", "")),
                rows=rows,
            )
        )
    return runs
