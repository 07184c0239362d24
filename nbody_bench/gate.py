"""The CI gate: bounds on ratios that hold on every machine, and targets that need not.

Both live in pyproject.toml. A bound sits in `[tool.nbody-bench.gate.<workload>]`, keyed
"backend" (its speedup over `python`) or "backend/other" (over another backend), both
measured in the same run:

    numpy = 40                                        # at least 40 times faster than python
    "cython/c-reference" = { max = 2.0 }              # at most twice as fast as the C kernel
    "numba-parallel/numba" = { min-per-added-core = 0.3 }
    "multiprocessing" = { max-per-core = 0.5 }

A bound is only set where both sides are held back by the same thing (two compiled
kernels at the same N, two runs of the same Python loop, a parallel variant and its
serial twin), since such a ratio moves little from one CPU to another; a ratio between
an interpreter-bound and a SIMD-bound kernel is a property of the CPU and is not gated.

A parallel variant is judged against the cores the process may use (c), and not at all
on one core. `min-per-added-core` bounds what each core beyond the first adds, (S - 1) /
(c - 1) for a speedup S over the serial twin: it is about 0 for a variant that silently
runs on one thread, whatever c, and stays well above it for a working one on 2 cores and
on 16 alike (S / c would not: a working variant on 16 shared cores measured below the
0.5 that one thread scores on 2). `max-per-core` bounds S / c from above, for a lesson
that says "this does not pay": at most 0.5 is "slower than the serial loop" on 2 cores.

Goals that some hardware cannot reach (the lecture run 500 times faster than python,
say) sit in `[tool.nbody-bench.targets.<workload>]`, in the same "backend" or
"backend/other" keys; they are reported as met or missed and never fail a run.

    python -m nbody_bench.gate RUN.json [--config pyproject.toml]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from . import formatting
from .required import required_backends, under_ci
from .results import BASELINE, BUILDS, ResultsError, load_run, ratio, rows_from

KINDS = ("min", "max", "min-per-added-core", "max-per-core")  # the forms a bound can take
PER_CORE = ("min-per-added-core", "max-per-core")


class GateConfigError(ValueError):
    """The bounds in pyproject.toml are missing or malformed; the message says where."""


@dataclass(frozen=True)
class Bound:
    workload: str
    backend: str
    over: str  # the backend the speedup is measured against
    kind: str  # one of KINDS; "target" for a goal that never fails a run
    value: float
    # The build whose runs it judges ("native" or "portable"), or None for every build. A
    # run that did not record its build is judged by the portable bound, the lower. A
    # build and a vector unit ("native-avx512") judges only the runs whose limit kernel
    # ran that unit (Row.vector), in addition to the build's own bound.
    build: str | None = None

    def applies_to(self, row):
        if self.build is None:
            return True
        build, _, vector = self.build.partition("-")
        if build != (row.build or "portable"):
            return False
        return not vector or (row.vector or "").startswith(vector)

    @property
    def upper(self):
        return self.kind in ("max", "max-per-core")

    @property
    def text(self):
        """How the bound reads in the summary: '>= 40x', '<= 0.5x per core', ..."""
        over = "" if self.over == BASELINE else f" {self.over}"
        per = {"min-per-added-core": " per added core", "max-per-core": " per core"}
        build, _, vector = (self.build or "").partition("-")
        build = f" ({build} build{', ' + vector if vector else ''})" if build else ""
        sign = "<=" if self.upper else ">="
        return f"{sign} {self.value:g}x{over}{per.get(self.kind, '')}{build}"


@dataclass(frozen=True)
class Thresholds:
    bounds: list[Bound]
    targets: list[Bound]
    headroom: float
    source: str = "pyproject.toml"


@dataclass(frozen=True)
class Verdict:
    bound: Bound
    # "pass", "FAIL", "retried" (broken, but not on re-measuring), "raise", "skipped",
    # "missing"; targets: "met", "missed"
    status: str
    measured: float | None  # the ratio judged (per core or per added core where the bound is)
    message: str
    cores: int | None = None  # the usable cores the row ran on

    @property
    def workload(self):
        return self.bound.workload

    @property
    def backend(self):
        return self.bound.backend

    @property
    def failed(self):
        return self.status == "FAIL"


def load_thresholds(path="pyproject.toml", known_backends=None):
    """Read the gate's bounds and the targets; GateConfigError says exactly what is wrong."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            config = tomllib.load(f)
    except OSError as exc:
        raise GateConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise GateConfigError(f"{path}: not valid TOML ({exc})") from exc
    tool = config.get("tool", {}).get("nbody-bench", {})
    where = f"{path} [tool.nbody-bench.gate]"
    if not isinstance(tool.get("gate"), dict):
        raise GateConfigError(f"{where} is missing")
    table = dict(tool["gate"])
    headroom = table.pop("headroom", 3.0)
    if not _positive(headroom) or headroom <= 1:
        raise GateConfigError(f"{where}: headroom must be a number above 1, got {headroom!r}")
    bounds = _bounds(table, where, known_backends, forms=KINDS)
    targets_table = tool.get("targets", {})
    where_targets = f"{path} [tool.nbody-bench.targets]"
    if not isinstance(targets_table, dict):
        raise GateConfigError(f"{where_targets} must be a table of workloads")
    targets = _bounds(targets_table, where_targets, known_backends, forms=())
    return Thresholds(bounds, [_as_target(b) for b in targets], float(headroom), str(path))


def _bounds(table, where, known_backends, forms):
    bounds = []
    for workload, entries in table.items():
        if not isinstance(entries, dict):
            raise GateConfigError(f"{where}.{workload} must be a table of backend = bound")
        for key, value in entries.items():
            for backend in _split(key):
                if known_backends is not None and backend not in known_backends:
                    raise GateConfigError(
                        f"{where}.{workload}: unknown backend {backend!r} in {key!r}; "
                        f"known: {', '.join(known_backends)}"
                    )
            place = f"{where}.{workload}.{key!r}"
            if forms and isinstance(value, dict) and value and all(map(_by_build, value)):
                # One bound a build: { native = 0.6, portable = 0.3 }, and where one CPU
                # holds a build's bound back, one more for the others by their vector unit:
                # { native = 0.8, native-avx512 = 1.05, portable = 0.8 }.
                if not set(BUILDS) <= set(value):
                    raise GateConfigError(
                        f"{place}: a bound by build needs both {' and '.join(BUILDS)}, "
                        f"got {value!r}"
                    )
                for build, number in value.items():
                    kind, number = _bound_value(number, f"{place}.{build}", forms)
                    bounds.append(Bound(workload, *_split(key), kind, number, build))
                continue
            kind, number = _bound_value(value, place, forms)
            bounds.append(Bound(workload, *_split(key), kind, number))
    return bounds


VECTOR_UNITS = ("avx512", "avx2", "neon")  # the simd variants' prefixes (kernels/simd)


def _by_build(key):
    build, _, vector = key.partition("-")
    return build in BUILDS and (not vector or vector in VECTOR_UNITS)


def _bound_value(value, where, forms):
    if isinstance(value, dict) and forms:
        if len(value) != 1 or next(iter(value)) not in forms:
            raise GateConfigError(
                f"{where} must be a number, a table with one of {', '.join(forms)}, or one "
                f"number for each build ({', '.join(BUILDS)}), got {value!r}"
            )
        ((kind, number),) = value.items()
    else:
        kind, number = "min", value
    if not _positive(number):
        raise GateConfigError(f"{where} must be a positive number, got {number!r}")
    return kind, float(number)


def benchmarks_judged(thresholds):
    """{(workload, backend)}: every benchmark a bound or a target reads, both sides of each
    ratio (a whole-run workload is set against its Python-loop workload's baseline)."""
    judged = set()
    for bound in [*thresholds.bounds, *thresholds.targets]:
        judged |= {(bound.workload, bound.backend), (bound.workload, bound.over)}
        judged.add((bound.workload.removesuffix("-whole-run"), bound.over))
    return judged


def _as_target(bound):
    return Bound(bound.workload, bound.backend, bound.over, "target", bound.value)


def evaluate(rows, thresholds, required=frozenset()):
    """One verdict per bound and per target; only ratios of two rows of the run count.

    `required`: the backends that must be here (nbody_bench.required): a bound whose
    benchmark is missing fails where either of its sides is required, since a backend that
    stopped building would otherwise pass the gate by not being measured.
    """
    measured = {(r.workload, r.backend): r for r in rows}
    verdicts = []
    for bound in [*thresholds.bounds, *thresholds.targets]:
        row = measured.get((bound.workload, bound.backend))
        if row is not None and not bound.applies_to(row):
            continue  # the other build's bound
        if row is None and bound.build not in (None, _build_of(rows)):
            continue  # the other build's bound, or one for a vector unit (Row.vector) that
            # a missing row cannot show: the build's own bound judges the loss
        speedup, estimated = (None, False) if row is None else ratio(rows, row, bound.over)
        name = f"{bound.workload}/{bound.backend}"
        if row is None or speedup is None or estimated:
            why = (
                f"{bound.backend} not run"
                if row is None
                else f"{bound.over} not measured at this N"
            )
            lost = {bound.backend if row is None else bound.over} & required
            if lost and bound.kind != "target":
                message = (
                    f"{name}: bound {bound.text} not judged: {why}, and "
                    f"{' and '.join(sorted(lost))} must be measured here (CI): see the "
                    "run's failed or skipped benchmarks for why it is missing"
                )
                verdicts.append(Verdict(bound, "FAIL", None, message))
            else:
                verdicts.append(
                    Verdict(bound, "missing", None, f"{name}: not judged in this run ({why})")
                )
            continue
        if bound.kind in PER_CORE:
            if row.cores is None:
                verdicts.append(
                    Verdict(bound, "missing", None, f"{name}: the run did not record its cores")
                )
                continue
            if row.cores < 2:
                verdicts.append(
                    Verdict(
                        bound,
                        "skipped",
                        None,
                        f"{name}: skipped, one usable core: a parallel variant has nothing "
                        "to gain on it",
                    )
                )
                continue
            if bound.kind == "max-per-core":
                value, per = speedup / row.cores, "per core"
            else:
                value, per = (speedup - 1) / (row.cores - 1), "per added core"
            what = (
                f"speedup over {bound.over} {formatting.speedup(speedup)} on {row.cores} cores, "
                f"{value:.2f}x {per}"
            )
        else:
            value = speedup
            what = f"speedup over {bound.over} {formatting.speedup(speedup)}"
        verdicts.append(replace(_judge(bound, name, what, value, thresholds), cores=row.cores))
    return verdicts


def _judge(bound, name, what, value, thresholds):
    section = f"({thresholds.source} [tool.nbody-bench.gate.{bound.workload}])"
    if bound.kind == "target":
        met = value >= bound.value
        status = "met" if met else "missed"
        message = f"{name}: target {bound.text} {'met' if met else 'missed'}: {what}"
    elif bound.upper and value > bound.value:
        status, message = "FAIL", f"{name}: {what} is above the bound {bound.text} {section}"
    elif not bound.upper and value < bound.value:
        status, message = "FAIL", f"{name}: {what} is below the bound {bound.text} {section}"
    elif not bound.upper and value > thresholds.headroom * bound.value:
        status = "raise"
        message = (
            f"{name}: {what} is over {thresholds.headroom:g} times the bound {bound.text}; "
            "consider raising it"
        )
    else:
        status, message = "pass", f"{name}: {what}, bound {bound.text}"
    return Verdict(bound, status, value, message)


def _split(key):
    backend, _, over = key.partition("/")
    return backend, over or BASELINE


def arguments(parser):
    """The options of `nbody-bench gate`."""
    parser.add_argument(
        "run", help="a pytest-benchmark JSON file (--benchmark-json or .benchmarks/...)"
    )
    parser.add_argument("--config", default="pyproject.toml", help="where the bounds are")
    parser.add_argument(
        "--ci",
        action="store_true",
        help="fail a bound whose benchmark is missing, as under CI=true: every CPU backend "
        "must have been measured (nbody_bench.required)",
    )


def command(args):
    """`nbody-bench gate RUN.json`: exit status 0 passed, 1 a bound broken, 2 bad input."""
    try:
        rows = rows_from(load_run(args.run)["benchmarks"])
        thresholds = load_thresholds(args.config)
    except (ResultsError, GateConfigError) as exc:
        print(f"gate: {exc}", file=sys.stderr)
        return 2
    required = required_backends(args.ci or under_ci(), gpu=_gpu_in(rows))
    verdicts = evaluate(rows, thresholds, required)
    from .summary import format_table  # the renderer, only for this command's output

    print(format_table(rows, verdicts))
    print("\n".join(report(verdicts)))
    return 1 if any(v.failed for v in verdicts) else 0


def main(argv=None):
    """`nbody-bench gate` without the rest of the command (python -m nbody_bench.gate),
    for nox sessions that run it from the source tree, where `kernels` is not built."""
    parser = argparse.ArgumentParser(prog="nbody-bench gate", description=__doc__.split("\n\n")[0])
    arguments(parser)
    return command(parser.parse_args(argv))


def _build_of(rows):
    """The build a run was made on, as bounds by build read it."""
    builds = {r.build for r in rows}
    return "native" if builds == {"native"} else "portable"


def _gpu_in(rows):
    """Whether the run was made with a GPU: judged from the run, not from this machine."""
    return any(r.workload.startswith("gpu-") for r in rows)


def confirm(verdicts, remeasure, pause=10.0, sleep=time.sleep):
    """Each broken bound measured again with its two sides alternating, and judged by that
    re-measurement.

    The suite times each side of a ratio as its own benchmark, seconds or minutes apart,
    and on a shared machine a burst of interference can slow every round of one of them
    by 1.3-1.9x, more than most bounds' margins. remeasure(verdict, fresh=False) measures
    the bound's two sides again in alternating blocks, so that a burst hits both, and
    returns the speedup over every pair it has measured for that verdict so far (fresh:
    over the pairs of this call only), an nbody_bench.paired.Interval: the median and its
    95% interval.

    - The whole interval outside the bound: the bound stays broken ("confirmed").
    - The whole interval within the bound: noise in the first measurement; the verdict
      becomes "retried", which does not fail the gate, and says both measurements.
    - The interval straddles the bound: it is measured once more, as many pairs again,
      and the median over all pairs decides. A bound sits at least 1.15 times below the
      worst figure on record, so a backend as fast as it was lands its median above it,
      and one slowed by 1.5x lands below.

    A parallel variant against its serial twin (a per-core bound) is the exception to
    alternation's fairness: a process busy on the other core for a while slows the
    parallel side only, however the two alternate, and on two cores takes its speedup to
    1x. So such a bound, once confirmed, gets a later look: `pause` seconds on, measured
    afresh, and it stays broken only if that look breaks it too.
    """
    confirmed = []
    for v in verdicts:
        if not v.failed:
            confirmed.append(v)
            continue
        within, what, again = _look(v, remeasure, fresh=False)
        if not within and v.bound.kind in PER_CORE:
            sleep(pause)
            within, later, again = _look(v, remeasure, fresh=True)
            what += f"; {pause:g} s later, afresh: {later.removeprefix('re-measured ')}"
        if not within:
            confirmed.append(replace(v, message=f"{v.message}; {what}, confirmed"))
        else:
            message = f"{v.message}; {what}, within the bound: noise in the first measurement"
            median = _per_core(v.bound, again.median, v.cores)
            confirmed.append(replace(v, status="retried", measured=median, message=message))
    return confirmed


PER_CORE = ("min-per-added-core", "max-per-core")


def _look(v, remeasure, fresh):
    """(within the bound, what was measured, the interval) from one re-measurement of the
    verdict, and a second look if the first straddles the bound."""
    again = remeasure(v, fresh=fresh)
    side = _side(v, again)
    if side == "straddles":
        again = remeasure(v)
        side = _side(v, again)
    low, high = (_per_core(v.bound, x, v.cores) for x in (again.low, again.high))
    median = _per_core(v.bound, again.median, v.cores)
    what = f"re-measured with both sides alternating: {median:.3g} [{low:.3g}, {high:.3g}]"
    if side == "straddles":
        what += ", its interval across the bound after a second look, judged by its median"
        return _within(v.bound, median), what, again
    return side == "within", what, again


def _within(bound, value):
    return value <= bound.value if bound.upper else value >= bound.value


def _side(verdict, interval):
    """Where a re-measured interval lies against the verdict's bound."""
    bound, cores = verdict.bound, verdict.cores
    low, high = (_per_core(bound, x, cores) for x in (interval.low, interval.high))
    ends = {_within(bound, low), _within(bound, high)}
    if ends == {True}:
        return "within"
    return "outside" if ends == {False} else "straddles"


def _per_core(bound, speedup, cores):
    if bound.kind == "max-per-core":
        return speedup / cores
    if bound.kind == "min-per-added-core":
        return (speedup - 1) / (cores - 1)
    return speedup


def report(verdicts):
    """Lines for failures, raise hints and missed targets, then the overall result."""
    shown = ("FAIL", "retried", "raise", "missed")
    lines = [f"gate {v.status}: {v.message}" for v in verdicts if v.status in shown]
    judged = [v for v in verdicts if v.bound.kind != "target"]
    failed = sum(v.failed for v in judged)
    gated = sum(v.status not in ("missing", "skipped") for v in judged)
    left = len(judged) - gated
    if not gated:
        lines.append("gate: nothing gated (no baseline or no gated workload in this run)")
    lines.append(
        f"gate: {'FAILED' if failed else 'passed'}: {failed} of {gated} bounds broken"
        + (f", {left} not judged in this run (missing or skipped)" if left else "")
    )
    targets = [v for v in verdicts if v.bound.kind == "target" and v.status != "missing"]
    if targets:
        met = sum(v.status == "met" for v in targets)
        lines.append(f"targets: {met} of {len(targets)} met (targets never fail a run)")
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
