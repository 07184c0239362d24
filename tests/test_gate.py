"""The speedup gate and the results it reads, on synthetic pytest-benchmark entries."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kernels
from nbody_bench import gate
from nbody_bench.results import ResultsError, extra_info_of, load_run, rows_from
from nbody_bench.summary import format_table

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def entry(workload, backend, time, n=20, calls=1, kind=None, cores=2, spread=0.1):
    """A suite benchmark whose fastest round took `time` and middle round `spread` more."""
    kind = kind or ("lecture" if workload == "lecture" else "derivative")
    info = {
        "workload": workload,
        "kind": kind,
        "backend": backend,
        "n": n,
        "calls": calls,
        "cores": cores,
    }
    stats = {"min": time, "median": time * (1 + spread)}
    return {"name": f"{workload}[{backend}]", "extra_info": info, "stats": stats}


RUN = [
    entry("lecture", "python", 2.0, calls=2000),
    entry("lecture", "numpy", 0.04, calls=2000),  # 50x
    entry("lecture", "numba", 0.004, calls=2000),  # 500x
    entry("derivative-n1000", "python", 3.0, n=1000),
    entry("derivative-n1000", "numba", 0.003, n=1000),  # 1000x
    entry("derivative-n4000", "numba", 0.048, n=4000),  # python not run at N = 4000
    {"name": "someone_elses_benchmark", "extra_info": {}, "stats": {"min": 1.0, "median": 1.0}},
]


def thresholds(minimum, headroom=3.0, targets=None):
    """Thresholds from {workload: {key: bound}}, through the same parser as pyproject.toml."""
    bounds = [
        gate.Bound(workload, *gate._split(key), *gate._bound_value(value, key, gate.KINDS))
        for workload, entries in minimum.items()
        for key, value in entries.items()
    ]
    goals = [
        gate.Bound(workload, *gate._split(key), "target", value)
        for workload, entries in (targets or {}).items()
        for key, value in entries.items()
    ]
    return gate.Thresholds(bounds=bounds, targets=goals, headroom=headroom)


def verdict_of(verdicts, workload, backend):
    (found,) = [v for v in verdicts if (v.workload, v.backend) == (workload, backend)]
    return found


def test_speedups_are_against_the_baseline_of_the_same_run():
    rows = {(r.workload, r.backend): r for r in rows_from(RUN)}
    assert len(rows) == 6  # the foreign entry is ignored
    assert rows["lecture", "numpy"].speedup == pytest.approx(50)
    assert rows["lecture", "python"].speedup == pytest.approx(1)
    assert rows["derivative-n1000", "numba"].speedup == pytest.approx(1000)
    assert rows["lecture", "numba"].pairs_per_second == pytest.approx(190 * 2000 / 0.004)
    assert rows["derivative-n1000", "numba"].ns_per_pair == pytest.approx(1e9 * 0.003 / 499500)


def test_missing_baseline_is_estimated_by_pair_count_and_flagged():
    row = {(r.workload, r.backend): r for r in rows_from(RUN)}["derivative-n4000", "numba"]
    assert row.speedup_estimated
    python_at_4000 = 3.0 * (4000 * 3999) / (1000 * 999)
    assert row.speedup == pytest.approx(python_at_4000 / 0.048)


def test_gate_passes_fails_and_asks_to_raise():
    limits = {"lecture": {"numpy": 20, "numba": 600}, "derivative-n1000": {"numba": 300}}
    verdicts = gate.evaluate(rows_from(RUN), thresholds(limits))
    assert verdict_of(verdicts, "lecture", "numpy").status == "pass"  # 50x >= 20x, < 60x
    failed = verdict_of(verdicts, "lecture", "numba")  # 500x < 600x
    assert failed.failed
    assert "lecture/numba: speedup over python 500x is below the bound >= 600x" in failed.message
    assert verdict_of(verdicts, "derivative-n1000", "numba").status == "raise"  # 1000x > 3 * 300x


def test_a_threshold_too_high_fails_the_gate_cli(tmp_path, capsys):
    """End to end: a saved run and a pyproject whose threshold no backend can meet."""
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"benchmarks": RUN}))
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.nbody-bench.gate.lecture]\nnumba = 10000\nnumpy = 10\n")
    assert gate.main([str(run), "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "gate FAIL: lecture/numba: speedup over python 500x is below the bound >= 10000x" in out
    assert "gate: FAILED" in out

    config.write_text("[tool.nbody-bench.gate.lecture]\nnumba = 400\nnumpy = 40\n")
    assert gate.main([str(run), "--config", str(config)]) == 0
    assert "gate: passed" in capsys.readouterr().out


def test_estimated_or_absent_speedups_are_not_gated():
    limits = {"derivative-n4000": {"numba": 1e9}, "lecture": {"cython": 1e9}}
    verdicts = gate.evaluate(rows_from(RUN), thresholds(limits))
    assert [v.status for v in verdicts] == ["missing", "missing"]
    assert "nothing gated" in "\n".join(gate.report(verdicts))


def write(tmp_path, text):
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[project]\nname = 'x'\n", r"\[tool.nbody-bench.gate\] is missing"),
        (
            "[tool.nbody-bench.gate.lecture]\nnumba = -3\n",
            r"lecture.'numba' must be a positive number",
        ),
        (
            "[tool.nbody-bench.gate.lecture]\nnumba = 'fast'\n",
            r"lecture.'numba' must be a positive number",
        ),
        (
            "[tool.nbody-bench.gate.lecture]\nnumba = { at-least = 3 }\n",
            r"lecture.'numba' must be a number, a table with one of min, max, min-per-added",
        ),
        (
            "[tool.nbody-bench.gate.lecture]\nnumba = { max = 0 }\n",
            r"lecture.'numba' must be a positive number, got 0",
        ),
        (
            "[tool.nbody-bench.gate.lecture]\nnumba = 3\n[tool.nbody-bench.targets.lecture]\n"
            "numba = { max = 3 }\n",
            r"targets\].lecture.'numba' must be a positive number",
        ),
        ("[tool.nbody-bench.gate.lecture]\nnumbaa = 3\n", r"unknown backend 'numbaa'"),
        ("[tool.nbody-bench.gate.lecture]\n'numba/pythn' = 3\n", r"unknown backend 'pythn'"),
        ("[tool.nbody-bench.gate]\nlecture = 3\n", r"lecture must be a table"),
        ("[tool.nbody-bench.gate]\n[tool.nbody-bench]\ntargets = 3\n", r"targets\] must be"),
        ("[tool.nbody-bench.gate]\nheadroom = 0.5\n", r"headroom must be a number above 1"),
        ("[tool.nbody-bench.gate\n", r"not valid TOML"),
    ],
)
def test_bad_threshold_config_says_what_is_wrong(tmp_path, text, message):
    with pytest.raises(gate.GateConfigError, match=message):
        gate.load_thresholds(write(tmp_path, text), kernels.BACKENDS)


def test_project_thresholds_are_valid():
    limits = gate.load_thresholds(PYPROJECT, kernels.BACKENDS)
    lecture = {b.backend: b for b in limits.bounds if b.workload == "lecture"}
    assert set(lecture) >= {"numpy", "numba", "cython", "fortran", "multiprocessing"}
    # The lecture's lesson, it does not pay: at most 1.1x the loop on the 2 cores of CI
    # (the lecture measured 0.6-0.8x; AMD Zen 4 up to 0.93x).
    assert lecture["multiprocessing"].upper
    assert lecture["multiprocessing"].value * 2 <= 1.1
    # Goals that some CPUs cannot reach are targets, never bounds.
    assert {(t.workload, t.backend) for t in limits.targets} >= {
        ("lecture-whole-run", "numba"),
        ("lecture", "fortran"),
    }
    # No bound between an interpreter-bound and a SIMD-bound kernel: a compiled kernel's
    # derivative is only ever bounded against another compiled kernel.
    compiled = {"numba", "cython", "fortran", "c-reference"}
    for b in limits.bounds:
        if b.workload.startswith("derivative") and b.backend in compiled:
            assert b.over in compiled, b


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("{not json", "not valid JSON"),
        ('{"machine_info": {}}', "no 'benchmarks' list"),
        ('{"benchmarks": [{"stats": {}}]}', "benchmark 0 has no numeric stats.min"),
        ('{"benchmarks": [{"stats": {"min": 1}}]}', "benchmark 0 has no numeric stats.median"),
    ],
)
def test_unreadable_runs_name_the_file_and_the_fault(tmp_path, content, message):
    path = tmp_path / "0001_run.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ResultsError, match=message) as info:
        load_run(path)
    assert str(path) in str(info.value)


def test_gate_cli_reports_unreadable_run(tmp_path, capsys):
    assert gate.main([str(tmp_path / "absent.json"), "--config", str(PYPROJECT)]) == 2
    assert "absent.json: cannot read it" in capsys.readouterr().err


def test_summary_table_lists_every_row_with_its_verdict():
    rows = rows_from(RUN)
    table = format_table(rows, gate.evaluate(rows, thresholds({"lecture": {"numpy": 20}})))
    lines = table.splitlines()
    assert lines[0].split() == [
        "workload",
        "backend",
        "min",
        "median",
        "vs",
        "python",
        "pairs/s",
        "%",
        "of",
        "ref",
        "%",
        "of",
        "limit",
        "gate",
        "target",
    ]
    assert any("numpy" in line and "50.0x" in line and "pass (>= 20x)" in line for line in lines)
    assert any("numpy" in line and "40 ms" in line and "44 ms (+10%)" in line for line in lines)
    assert any("derivative-n4000" in line and "~" in line for line in lines)
    assert len([line for line in lines if line.startswith(("lecture", "derivative"))]) == 6


def test_summary_table_shows_percent_of_the_c_reference():
    rows = rows_from([*RUN, entry("derivative-n4000", "c-reference", 0.036, n=4000)])
    lines = format_table(rows).splitlines()
    (numba,) = [line for line in lines if line.startswith("derivative-n4000") and "numba" in line]
    assert " 75% " in numba  # 0.036 s / 0.048 s
    assert any("percentage of the c-reference" in line for line in lines)


def test_percent_of_limit_is_like_for_like():
    """Serial backends against simd, parallel variants against simd-parallel, in the
    summary and in the extra_info stored with each benchmark."""
    rows = rows_from(
        [
            *RUN,
            entry("derivative-n4000", "simd", 0.024, n=4000),
            entry("derivative-n4000", "simd-parallel", 0.012, n=4000, cores=2),
            entry("derivative-n4000", "numba-parallel", 0.016, n=4000, cores=2),
        ]
    )
    lines = format_table(rows).splitlines()
    (numba,) = [line for line in lines if line.startswith("derivative-n4000") and " numba " in line]
    (parallel,) = [line for line in lines if "numba-parallel" in line]
    assert " 50% " in numba  # 0.024 s / 0.048 s
    assert " 75% " in parallel  # 0.012 s / 0.016 s
    by_backend = {r.backend: r for r in rows if r.workload == "derivative-n4000"}
    info = extra_info_of(by_backend["numba-parallel"], rows)
    assert info["of_limit"] == pytest.approx(0.75)
    assert info["of_limit_backend"] == "simd-parallel"
    assert "of_reference" not in info  # no c-reference in this run
    assert "of_limit" not in extra_info_of(by_backend["numba"])  # no run given: nothing to compare


def test_gate_on_a_ratio_between_two_backends():
    """'backend/other' gates a speedup over another backend of the run, at any N."""
    rows = rows_from([*RUN, entry("derivative-n4000", "c-reference", 0.036, n=4000)])
    limits = {"derivative-n4000": {"numba/c-reference": 0.67, "numba": 10}}
    relative, over_python = gate.evaluate(rows, thresholds(limits))
    assert relative.bound.over == "c-reference"
    assert relative.measured == pytest.approx(0.75)  # 0.036 s / 0.048 s
    assert relative.status == "pass"
    assert over_python.status == "missing"  # python's time at N = 4000 is only an estimate
    limits = {"derivative-n4000": {"numba/c-reference": 0.9}}
    (failed,) = gate.evaluate(rows, thresholds(limits))
    assert failed.failed
    assert "speedup over c-reference 0.75x is below the bound >= 0.9x c-reference" in failed.message


def test_whole_run_workload_is_compared_with_the_lecture_baseline():
    rows = rows_from([*RUN, entry("lecture-whole-run", "numba", 0.001, calls=2000, kind="lecture")])
    row = {(r.workload, r.backend): r for r in rows}["lecture-whole-run", "numba"]
    assert row.speedup == pytest.approx(2000)  # python's 2 s on the lecture workload
    assert not row.speedup_estimated


def test_ratios_use_the_fastest_round_not_the_median():
    """A noisy baseline (median far above its minimum) does not move the speedup."""
    rows = rows_from(
        [
            entry("lecture", "python", 2.0, calls=2000, spread=1.0),  # median 4 s
            entry("lecture", "numpy", 0.04, calls=2000, spread=0.0),
        ]
    )
    numpy = {r.backend: r for r in rows}["numpy"]
    assert numpy.speedup == pytest.approx(50)
    assert numpy.pairs_per_second == pytest.approx(190 * 2000 / 0.04)


def test_an_upper_bound_fails_when_the_lesson_breaks():
    """{max = 1} holds the lecture's lesson: per-body multiprocessing must stay slower."""
    limits = {"lecture": {"multiprocessing": {"max": 1.0}}}
    slower = [entry("lecture", "python", 2.0, calls=2000), entry("lecture", "multiprocessing", 3.0)]
    (verdict,) = gate.evaluate(rows_from(slower), thresholds(limits))
    assert verdict.status == "pass"
    faster = [entry("lecture", "python", 2.0, calls=2000), entry("lecture", "multiprocessing", 1.0)]
    (verdict,) = gate.evaluate(rows_from(faster), thresholds(limits))
    assert verdict.failed
    assert "speedup over python 2x is above the bound <= 1x" in verdict.message


PARALLEL = {"derivative-n4000": {"numba-parallel/numba": {"min-per-added-core": 0.3}}}


@pytest.mark.parametrize(
    ("speedup", "cores", "status"),
    [
        (1.85, 2, "pass"),  # each added core adds 0.85 of a core
        (1.0, 2, "FAIL"),  # silently on one thread: the added core adds nothing
        (0.95, 16, "FAIL"),  # ... on 16 cores too
        (7.4, 16, "pass"),  # 0.43 per added core: a busy 16-core machine, still working
        (1.0, 1, "skipped"),  # one core: nothing to gain, nothing judged
    ],
)
def test_parallel_variants_are_judged_per_added_core(speedup, cores, status):
    rows = rows_from(
        [
            entry("derivative-n4000", "numba", 0.048, n=4000, cores=cores),
            entry("derivative-n4000", "numba-parallel", 0.048 / speedup, n=4000, cores=cores),
        ]
    )
    (verdict,) = gate.evaluate(rows, thresholds(PARALLEL))
    assert verdict.status == status
    if status == "skipped":
        assert "one usable core" in verdict.message
        assert "nothing gated" in "\n".join(gate.report([verdict]))
    else:
        assert verdict.measured == pytest.approx((speedup - 1) / (cores - 1))
        assert "per added core" in verdict.message


@pytest.mark.parametrize(
    ("speedup", "cores", "status"),
    [(0.8, 2, "pass"), (1.2, 2, "FAIL"), (1.2, 16, "pass"), (9.0, 16, "FAIL")],
)
def test_a_lesson_that_parallel_loses_is_an_upper_bound_per_core(speedup, cores, status):
    """{max-per-core = 0.5}: slower than the loop on 2 cores, under half of each core on more."""
    run = [
        entry("lecture", "python", 2.0, calls=2000, cores=cores),
        entry("lecture", "multiprocessing", 2.0 / speedup, calls=2000, cores=cores),
    ]
    limits = {"lecture": {"multiprocessing": {"max-per-core": 0.5}}}
    (verdict,) = gate.evaluate(rows_from(run), thresholds(limits))
    assert verdict.status == status
    assert verdict.measured == pytest.approx(speedup / cores)
    if status == "FAIL":
        assert "is above the bound <= 0.5x per core" in verdict.message


def test_targets_are_reported_but_never_fail_the_gate():
    goals = {"lecture": {"numba": 600, "numpy": 20}}
    verdicts = gate.evaluate(rows_from(RUN), thresholds({}, targets=goals))
    by_backend = {v.backend: v for v in verdicts}
    assert by_backend["numba"].status == "missed"  # 500x < 600x
    assert by_backend["numpy"].status == "met"
    assert not any(v.failed for v in verdicts)
    lines = gate.report(verdicts)
    assert "gate missed: lecture/numba: target >= 600x missed: speedup over python 500x" in lines
    assert "targets: 1 of 2 met (targets never fail a run)" in lines
    table = format_table(rows_from(RUN), verdicts)
    assert any("numba" in line and "missed (>= 600x)" in line for line in table.splitlines())


@pytest.mark.parametrize("option", ["numpy=abc", "cobol=2", "numpy=0.5", "numpy"])
def test_a_bad_slow_down_option_names_the_fix(bench_collect, option):
    """--slow-down (to check that the gate and the compare catch a slower backend) refuses
    what it cannot do before anything runs."""
    done = bench_collect(f"--slow-down={option}")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"--slow-down {option!r}: give BACKEND=FACTOR" in done.stderr


def test_checked_call_cost_is_the_checked_time_less_the_kernels():
    from nbody_bench.summary import format_checked_cost

    rows = rows_from(
        [
            entry("derivative-n20", "cython", 0.6e-6, n=20),
            entry("checked-n20", "cython", 0.8e-6, n=20, kind="checked"),
            entry("derivative-n1000", "cython", 200e-6, n=1000),
            entry("checked-n1000", "cython", 198e-6, n=1000, kind="checked"),  # noise: below
            entry("derivative-n1000", "numpy", 0.02, n=1000),  # no checked run: "-"
        ]
    )
    lines = format_checked_cost(rows).splitlines()
    assert lines[0].startswith("The checked call")
    assert lines[1].split() == ["backend", "N=20", "N=1000"]
    assert lines[3].split() == ["cython", "~+200", "ns", "(+33.3%)", "~-2", "us", "(-1.0%)"]
    assert len(lines) == 4  # numpy has no checked run at all
    assert format_checked_cost(rows_from([entry("derivative-n20", "cython", 1e-6)])) == ""


def test_checked_call_cost_measured_in_alternation_comes_with_its_interval():
    from nbody_bench.summary import format_checked_cost

    checked = entry("checked-n1000", "simd", 205e-6, n=1000, kind="checked")
    checked["extra_info"]["checked_cost"] = {"median": 2.5e-6, "low": 2.1e-6, "high": 3e-6}
    rows = rows_from([entry("derivative-n1000", "simd", 200e-6, n=1000), checked])
    assert rows[1].checked_cost == (2.5e-6, 2.1e-6, 3e-6)
    line = format_checked_cost(rows).splitlines()[3]
    assert line.split() == ["simd", "+2.5", "us", "[+2.1", "us,", "+3", "us]", "(+1.2%)"]


def test_a_broken_bound_stands_only_if_the_alternating_remeasurement_breaks_it_too():
    from nbody_bench.paired import Interval

    limits = {"lecture": {"numba": 600, "numpy": 20}}
    verdicts = gate.evaluate(rows_from(RUN), thresholds(limits))  # numba 500x < 600x
    asked = []

    def remeasure(verdict, fresh=False):
        asked.append(verdict.backend)
        return again

    again = Interval(510.0, 490.0, 530.0, 0.95)  # still below 600x: confirmed
    kept = verdict_of(gate.confirm(verdicts, remeasure), "lecture", "numba")
    assert asked == ["numba"]  # only the broken bound is measured again
    assert kept.failed
    assert "re-measured with both sides alternating: 510 [490, 530], confirmed" in kept.message

    asked.clear()
    again = Interval(590.0, 560.0, 640.0, 0.95)  # across the bound, median below: confirmed
    straddling = verdict_of(gate.confirm(verdicts, remeasure), "lecture", "numba")
    assert asked == ["numba", "numba"]  # a second look before the median decides
    assert straddling.failed
    assert "590 [560, 640], its interval across the bound after a second look" in (
        straddling.message
    )
    assert straddling.message.endswith("judged by its median, confirmed")

    asked.clear()
    again = Interval(640.0, 590.0, 700.0, 0.95)  # across the bound, median above: noise
    across = verdict_of(gate.confirm(verdicts, remeasure), "lecture", "numba")
    assert asked == ["numba", "numba"]
    assert across.status == "retried"
    assert across.measured == 640.0

    asked.clear()
    looks = iter([Interval(640.0, 590.0, 700.0, 0.95), Interval(630.0, 610.0, 660.0, 0.95)])
    again = None
    second = verdict_of(
        gate.confirm(verdicts, lambda v, fresh=False: asked.append(v.backend) or next(looks)),
        "lecture",
        "numba",
    )
    assert asked == ["numba", "numba"]
    assert second.status == "retried"  # the second look's whole interval clears it
    assert "630 [610, 660], within the bound" in second.message
    assert "judged by its median" not in second.message

    again = Interval(640.0, 610.0, 700.0, 0.95)  # the whole interval clears it: noise
    retried = verdict_of(gate.confirm(verdicts, remeasure), "lecture", "numba")
    assert retried.status == "retried"
    assert not retried.failed
    assert "noise in the first measurement" in retried.message
    assert "gate: passed: 0 of 2 bounds broken" in gate.report([retried, verdicts[1]])[-1]


def test_a_per_core_bound_is_remeasured_per_added_core():
    from nbody_bench.paired import Interval

    rows = rows_from(
        [
            entry("derivative-n4000", "numba", 0.048, n=4000, cores=2),
            entry("derivative-n4000", "numba-parallel", 0.048, n=4000, cores=2),  # 1x: FAIL
        ]
    )
    (verdict,) = gate.evaluate(rows, thresholds(PARALLEL))
    (again,) = gate.confirm([verdict], lambda v, fresh=False: Interval(1.8, 1.7, 1.9, 0.95))
    assert again.status == "retried"
    assert again.measured == pytest.approx(0.8)  # (1.8 - 1) / (2 - 1)


def test_a_parallel_bound_gets_a_later_fresh_look_before_it_stands():
    """The other core busy for a while slows the parallel side only, alternation or not:
    a confirmed per-core bound is measured afresh after a pause, and that look decides."""
    from nbody_bench.paired import Interval

    rows = rows_from(
        [
            entry("derivative-n4000", "numba", 0.048, n=4000, cores=2),
            entry("derivative-n4000", "numba-parallel", 0.048, n=4000, cores=2),  # 1x: FAIL
        ]
    )
    (verdict,) = gate.evaluate(rows, thresholds(PARALLEL))
    calls, slept = [], []

    def remeasure(looks):
        def measure(v, fresh=False):
            calls.append(fresh)
            return next(looks)

        return measure

    busy, free = Interval(1.01, 1.0, 1.05, 0.95), Interval(1.9, 1.85, 1.95, 0.95)
    (cleared,) = gate.confirm([verdict], remeasure(iter([busy, free])), sleep=slept.append)
    assert calls == [False, True]
    assert slept == [10.0]
    assert cleared.status == "retried"
    assert cleared.measured == pytest.approx(0.9)
    assert "10 s later, afresh: with both sides alternating: 0.9 [0.85, 0.95]" in cleared.message

    calls.clear()
    (kept,) = gate.confirm([verdict], remeasure(iter([busy, busy])), sleep=slept.append)
    assert calls == [False, True]
    assert kept.failed
    assert kept.message.endswith("confirmed")

    calls.clear()  # a bound that is not per core stands on the first re-measurement
    limits = {"lecture": {"numba": 600, "numpy": 20}}
    (serial, _) = gate.evaluate(rows_from(RUN), thresholds(limits))
    (kept,) = gate.confirm(
        [serial], remeasure(iter([Interval(510.0, 490.0, 530.0, 0.95)])), sleep=slept.append
    )
    assert calls == [False]
    assert kept.failed


def test_a_missing_bound_fails_where_its_backend_is_required():
    """A backend that stopped building leaves its benchmarks out of the run: under CI that
    fails the bound (nbody_bench.required), elsewhere it is only not judged."""
    run = [e for e in RUN if e["extra_info"].get("backend") != "numba"]
    limits = thresholds({"lecture": {"numba": 100, "numpy": 20}}, targets={"lecture": {"numba": 1}})
    relaxed = gate.evaluate(rows_from(run), limits)
    assert [v.status for v in relaxed if v.backend == "numba"] == ["missing", "missing"]
    assert not any(v.failed for v in relaxed)
    strict = gate.evaluate(rows_from(run), limits, required=frozenset({"python", "numba"}))
    (lost, target) = [v for v in strict if v.backend == "numba"]
    assert lost.failed
    assert "numba not run, and numba must be measured here (CI)" in lost.message
    assert target.status == "missing"  # a target never fails a run
    assert verdict_of(strict, "lecture", "numpy").status == "pass"
    assert "gate: FAILED: 1 of 2 bounds broken" in gate.report(strict)[-1]


def test_the_gate_cli_under_ci_fails_on_a_lost_backend(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"benchmarks": [e for e in RUN if "numba" not in e["name"]]}))
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.nbody-bench.gate]\nlecture = { numba = 100, numpy = 20 }\n")
    monkeypatch.delenv("CI", raising=False)
    assert gate.main([str(run), "--config", str(config)]) == 0
    assert gate.main([str(run), "--config", str(config), "--ci"]) == 1
    monkeypatch.setenv("CI", "true")
    assert gate.main([str(run), "--config", str(config)]) == 1
    assert "lecture/numba: bound >= 100x not judged: numba not run" in capsys.readouterr().out


def test_the_gate_confirms_a_planted_slow_down_end_to_end(tmp_path):
    """The suite's own gate on a tiny selection, numba made 3x slower (--slow-down): the
    bound numba/c-reference at N = 1000 (0.5) breaks, the confirm step re-measures both
    sides alternating (bench/conftest.py's remeasurer, not a stand-in) and keeps it
    broken, and the run fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    env.pop("CI", None)  # the bounds of backends left out of the selection stay unjudged
    pair = ("numba", "c-reference")
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider"),
            *("--benchmark-only", "--gate", "--slow-down=numba=3"),
            *(f"{ROOT}/bench/test_derivative.py::test_derivative[{b}-1000]" for b in pair),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout
    assert done.returncode == 1, out[-3000:] + done.stderr[-2000:]
    assert "2 passed" in out, out[-3000:]
    (line,) = [x for x in out.splitlines() if x.startswith("gate FAIL: derivative-n1000/numba")]
    assert "re-measured with both sides alternating" in line, line
    assert line.endswith("confirmed"), line
    assert "gate: FAILED: 1 of 1 bounds broken" in out, out[-3000:]


def test_a_bound_by_build_judges_each_build_by_its_own_number(tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text(
        "[tool.nbody-bench.gate]\n"
        '"derivative-n1000" = { "numba/python" = { native = 900, portable = 500 } }\n'
    )
    limits = gate.load_thresholds(config)
    assert [(b.build, b.value) for b in limits.bounds] == [("native", 900), ("portable", 500)]

    def run(build):
        entries = [dict(e, extra_info={**e["extra_info"], "build": build}) for e in RUN[3:5]]
        return gate.evaluate(rows_from(entries), limits)  # numba 1000x python

    (native,) = run("native")
    assert native.status == "pass"
    assert native.bound.build == "native"
    assert "bound >= 900x (native build)" in native.message
    (portable,) = run("portable")
    assert portable.bound.build == "portable"
    (unrecorded,) = gate.evaluate(rows_from(RUN[3:5]), limits)
    assert unrecorded.bound.build == "portable"  # the lower bound, where no build is said


def test_a_bound_by_vector_unit_adds_to_its_builds_where_the_limit_kernel_ran_it(tmp_path):
    """{ native = 0.8, native-avx512 = 0.95, portable = 0.8 }: a CPU whose limit kernel
    runs AVX-512 is held to both native bounds; one that runs AVX2 to the build's only."""
    config = tmp_path / "pyproject.toml"
    config.write_text(
        "[tool.nbody-bench.gate]\n"
        '"derivative-n1000" = { "simd/c-reference" = '
        "{ native = 0.8, native-avx512 = 0.95, portable = 0.8 } }\n"
    )
    limits = gate.load_thresholds(config)
    assert [b.build for b in limits.bounds] == ["native", "native-avx512", "portable"]

    def run(vector, simd_time):
        entries = [
            entry("derivative-n1000", "c-reference", 1e-3, n=1000),
            entry("derivative-n1000", "simd", simd_time, n=1000),
        ]
        for e in entries:
            e["extra_info"]["build"] = "native"
        entries[1]["extra_info"]["simd_variant"] = vector
        return gate.evaluate(rows_from(entries), limits)

    slowed = run("avx512-mixed", 1e-3 / 0.85)  # 0.85x: passes 0.8, not 0.95
    assert [(v.bound.build, v.status) for v in slowed] == [
        ("native", "pass"),
        ("native-avx512", "FAIL"),
    ]
    assert "bound >= 0.95x c-reference (native build, avx512)" in slowed[1].message
    assert [v.status for v in run("avx2-fma", 1e-3 / 0.85)] == ["pass"]  # AVX2: 0.8 only
    missing = gate.evaluate(rows_from([entry("derivative-n1000", "c-reference", 1e-3)]), limits)
    assert [v.bound.build for v in missing] == ["portable"]  # not judged by a unit unseen


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{ native = 900, native-sse9 = 1 }", "must be a number"),
        ("{ native = 900 }", "a bound by build needs both native and portable"),
        ("{ native = 900, portable = -1 }", "must be a positive number"),
    ],
)
def test_a_bad_bound_by_build_says_what_is_wrong(tmp_path, value, message):
    config = tmp_path / "pyproject.toml"
    config.write_text(f"[tool.nbody-bench.gate]\nlecture = {{ numba = {value} }}\n")
    with pytest.raises(gate.GateConfigError, match=message):
        gate.load_thresholds(config)
