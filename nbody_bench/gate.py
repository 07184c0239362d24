"""The speedup gate: each backend's speedup over the baseline, measured in the same run,
against thresholds kept in pyproject.toml under [tool.nbody-bench.gate].

It is relative on purpose: a shared, noisy or different machine moves absolute times by
tens of percent, but it moves the baseline with them. The gate is two-sided: a speedup
below its threshold fails; one above `headroom` times its threshold is reported so the
threshold can be raised.

    python -m nbody_bench.gate RUN.json [--config pyproject.toml]
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .results import BASELINE, ResultsError, load_run, rows_from
from .summary import format_table


class GateConfigError(ValueError):
    """The thresholds in pyproject.toml are missing or malformed; the message says where."""


@dataclass(frozen=True)
class Thresholds:
    minimum: dict[str, dict[str, float]]  # workload -> backend -> minimum speedup
    headroom: float
    source: str = "pyproject.toml"


@dataclass(frozen=True)
class Verdict:
    workload: str
    backend: str
    status: str  # "pass", "FAIL", "raise", "missing"
    speedup: float | None
    threshold: float
    message: str

    @property
    def failed(self):
        return self.status == "FAIL"


def load_thresholds(path="pyproject.toml", known_backends=None):
    """Read [tool.nbody-bench.gate]; GateConfigError says exactly what is wrong."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            config = tomllib.load(f)
    except OSError as exc:
        raise GateConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise GateConfigError(f"{path}: not valid TOML ({exc})") from exc
    table = config.get("tool", {}).get("nbody-bench", {}).get("gate")
    where = f"{path} [tool.nbody-bench.gate]"
    if not isinstance(table, dict):
        raise GateConfigError(f"{where} is missing")
    table = dict(table)
    headroom = table.pop("headroom", 3.0)
    if not _positive(headroom) or headroom <= 1:
        raise GateConfigError(f"{where}: headroom must be a number above 1, got {headroom!r}")
    minimum = {}
    for workload, backends in table.items():
        if not isinstance(backends, dict):
            raise GateConfigError(
                f"{where}.{workload} must be a table of backend = minimum speedup"
            )
        for backend, value in backends.items():
            if known_backends is not None and backend not in known_backends:
                raise GateConfigError(
                    f"{where}.{workload}: unknown backend {backend!r}; "
                    f"known: {', '.join(known_backends)}"
                )
            if not _positive(value):
                raise GateConfigError(
                    f"{where}.{workload}.{backend} must be a positive number, got {value!r}"
                )
        minimum[workload] = {b: float(v) for b, v in backends.items()}
    return Thresholds(minimum=minimum, headroom=float(headroom), source=str(path))


def evaluate(rows, thresholds):
    """One verdict per threshold; only speedups measured against a measured baseline count."""
    measured = {(r.workload, r.backend): r for r in rows}
    verdicts = []
    for workload, backends in thresholds.minimum.items():
        for backend, threshold in backends.items():
            row = measured.get((workload, backend))
            key = f"{workload}/{backend}"
            if row is None or row.speedup is None or row.speedup_estimated:
                why = (
                    "not run" if row is None else f"no {BASELINE} baseline measured for {workload}"
                )
                verdicts.append(
                    Verdict(
                        workload,
                        backend,
                        "missing",
                        None,
                        threshold,
                        f"{key}: not gated in this run ({why}); threshold {threshold:g}x",
                    )
                )
            elif row.speedup < threshold:
                verdicts.append(
                    Verdict(
                        workload,
                        backend,
                        "FAIL",
                        row.speedup,
                        threshold,
                        f"{key}: speedup {row.speedup:.1f}x is below the threshold "
                        f"{threshold:g}x ({thresholds.source} [tool.nbody-bench.gate.{workload}])",
                    )
                )
            elif row.speedup > thresholds.headroom * threshold:
                verdicts.append(
                    Verdict(
                        workload,
                        backend,
                        "raise",
                        row.speedup,
                        threshold,
                        f"{key}: speedup {row.speedup:.1f}x is over {thresholds.headroom:g} times "
                        f"the threshold {threshold:g}x; consider raising it",
                    )
                )
            else:
                verdicts.append(
                    Verdict(
                        workload,
                        backend,
                        "pass",
                        row.speedup,
                        threshold,
                        f"{key}: speedup {row.speedup:.1f}x >= {threshold:g}x",
                    )
                )
    return verdicts


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m nbody_bench.gate", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "run", help="a pytest-benchmark JSON file (--benchmark-json or .benchmarks/...)"
    )
    parser.add_argument("--config", default="pyproject.toml", help="where the thresholds are")
    args = parser.parse_args(argv)
    try:
        rows = rows_from(load_run(args.run)["benchmarks"])
        thresholds = load_thresholds(args.config)
    except (ResultsError, GateConfigError) as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return 2
    verdicts = evaluate(rows, thresholds)
    print(format_table(rows, verdicts))
    print("\n".join(report(verdicts)))
    return 1 if any(v.failed for v in verdicts) else 0


def report(verdicts):
    """Lines for the failures and raise-hints, then the overall result."""
    lines = [f"gate {v.status}: {v.message}" for v in verdicts if v.status in ("FAIL", "raise")]
    failed = sum(v.failed for v in verdicts)
    gated = sum(v.status != "missing" for v in verdicts)
    missing = len(verdicts) - gated
    if not gated:
        lines.append("gate: nothing gated (no baseline or no gated workload in this run)")
    lines.append(
        f"gate: {'FAILED' if failed else 'passed'}: {failed} of {gated} gated speedups below "
        f"threshold" + (f", {missing} thresholds not measured in this run" if missing else "")
    )
    return lines


def _positive(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


if __name__ == "__main__":
    sys.exit(main())
