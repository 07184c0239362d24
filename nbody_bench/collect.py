"""Saved runs gathered into one results layout: a folder per machine, a file per run.

    nbody-bench collect .benchmarks build/gate-native.json --into results/runs

copies each run in the sources (files or folders) to INTO/MACHINE/WHEN_COMMIT.json, where
MACHINE is its machine's key (nbody_bench.machines: CPU model, vector unit, cores, build,
GPU) and WHEN the time it ran, without the per-round times pytest-benchmark may keep
(--benchmark-save-data). Runs from CI artefacts, several clones or a results branch thus
land side by side, one folder per machine, and a run collected twice is one file.
`nbody-bench publish INTO` builds the site from them.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

from .files import write_text
from .history import collect
from .results import ResultsError, load_run


def destination(run, into):
    """INTO/MACHINE/WHEN_COMMIT.json for a history.SavedRun."""
    when = re.sub(r"[^0-9T]", "", run.when.split("+")[0].split(".")[0]) or "undated"
    commit = run.commit + ("-dirty" if run.dirty else "")
    return Path(into) / run.machine.key / f"{when}_{commit}.json"


def store(run, into):
    """Copy one run into the layout, atomically; returns its path and whether it was new.
    Another run already under the same name (the same second and commit) is kept: this one
    gets the name with a digest of its content added."""
    target = destination(run, into)
    data = load_run(run.path)
    for benchmark in data["benchmarks"]:
        benchmark.get("stats", {}).pop("data", None)
    text = json.dumps(data, indent=1) + "\n"
    if target.is_file() and target.read_text(encoding="utf-8") != text:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        target = target.with_name(f"{target.stem}_{digest}.json")
    if target.is_file() and target.read_text(encoding="utf-8") == text:
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text(target, text)
    return target, True


def arguments(parser):
    parser.add_argument("sources", nargs="+", type=Path, help="saved runs: files or folders")
    parser.add_argument(
        "--into", type=Path, required=True, help="the layout's folder (results/runs, say)"
    )


def command(args):
    try:
        runs, _ = collect(args.sources)
    except ResultsError as exc:
        print(f"collect: {exc}", file=sys.stderr)
        return 1
    into = args.into.resolve()
    new = 0
    for run in runs:
        if into in run.path.resolve().parents:
            continue  # already in the layout
        target, added = store(run, args.into)
        new += added
        print(f"{'added' if added else 'kept'}: {target}")
    print(f"collect: {new} new of {len(runs)} runs in {args.into}")
    return 0
