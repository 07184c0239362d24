"""The speedup gate: each backend's speedup over the baseline, measured in the same run,
against thresholds kept in pyproject.toml under [tool.nbody-bench.gate].

A table per workload; each key is a backend, gated on its speedup over `python`, or
"backend/other", gated on its speedup over another backend of the same run (the C
reference, or a parallel variant's serial twin).

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

from .results import BASELINE, ResultsError, load_run, ratio, rows_from
from .summary import format_table, format_times


class GateConfigError(ValueError):
    """The thresholds in pyproject.toml are missing or malformed; the message says where."""


@dataclass(frozen=True)
class Thresholds:
    minimum: dict[str, dict[str, float]]  # workload -> "backend" or "backend/over" -> minimum
    headroom: float
    source: str = "pyproject.toml"


@dataclass(frozen=True)
class Verdict:
    workload: str
    backend: str
    over: str  # the backend the speedup is measured against
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
        for key, value in backends.items():
            for backend in _split(key):
                if known_backends is not None and backend not in known_backends:
                    raise GateConfigError(
                        f"{where}.{workload}: unknown backend {backend!r} in {key!r}; "
                        f"known: {', '.join(known_backends)}"
                    )
            if not _positive(value):
                raise GateConfigError(
                    f"{where}.{workload}.{key} must be a positive number, got {value!r}"
                )
        minimum[workload] = {b: float(v) for b, v in backends.items()}
    return Thresholds(minimum=minimum, headroom=float(headroom), source=str(path))


def evaluate(rows, thresholds):
    """One verdict per threshold; only ratios of two rows measured in the run count."""
    measured = {(r.workload, r.backend): r for r in rows}
    verdicts = []
    for workload, entries in thresholds.minimum.items():
        for key, threshold in entries.items():
            backend, over = _split(key)
            row = measured.get((workload, backend))
            speedup, estimated = (None, False) if row is None else ratio(rows, row, over)
            name = f"{workload}/{backend}"
            if row is None or speedup is None or estimated:
                why = "not run" if row is None else f"{over} not measured at this N"
                status = "missing"
                message = (
                    f"{name}: not gated in this run ({why}); threshold {threshold:g}x over {over}"
                )
            else:
                measured_text = f"speedup over {over} {format_times(speedup)}"
                if speedup < threshold:
                    status = "FAIL"
                    message = (
                        f"{name}: {measured_text} is below the threshold {threshold:g}x "
                        f"({thresholds.source} [tool.nbody-bench.gate.{workload}])"
                    )
                elif speedup > thresholds.headroom * threshold:
                    status = "raise"
                    message = (
                        f"{name}: {measured_text} is over {thresholds.headroom:g} times the "
                        f"threshold {threshold:g}x; consider raising it"
                    )
                else:
                    status = "pass"
                    message = f"{name}: {measured_text} >= {threshold:g}x"
            verdicts.append(Verdict(workload, backend, over, status, speedup, threshold, message))
    return verdicts


def _split(key):
    backend, _, over = key.partition("/")
    return backend, over or BASELINE


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
