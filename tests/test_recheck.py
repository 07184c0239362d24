"""The compare's second look (nbody_bench.recheck): what it nominates and how it decides."""

import json
import math

import pytest

from nbody_bench import ab, recheck


def entry(workload, backend, time, n=20):
    kind = "lecture" if workload.startswith("lecture") else "derivative"
    info = {"workload": workload, "kind": kind, "backend": backend, "n": n, "calls": 1}
    return {"name": workload, "extra_info": info, "stats": {"min": time, "median": time}}


def save(storage, number, benchmarks, commit="abc1234", dirty=False):
    folder = storage / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True, exist_ok=True)
    run = {"benchmarks": benchmarks, "commit_info": {"id": commit, "dirty": dirty}}
    (folder / f"{number:04d}_run.json").write_text(json.dumps(run))


def test_a_benchmark_is_nominated_when_slower_than_the_threshold(tmp_path):
    save(tmp_path, 1, [entry("lecture", "numba", 1.0), entry("lecture", "cython", 1.0)])
    save(tmp_path, 2, [entry("lecture", "numba", 1.2), entry("lecture", "cython", 1.05)])
    previous, latest = recheck.saved_runs(tmp_path)
    ((name, slowed, noise),) = recheck.suspects([previous], latest, 0.1)
    assert name == "lecture[numba]"
    assert slowed == pytest.approx(0.2)
    assert noise is None  # one earlier run: no fence of its own, the threshold alone


def test_each_benchmark_is_nominated_by_its_own_noise_on_record(tmp_path):
    """A benchmark whose runs swing (jax at 20 bodies: 46-336 ms) is not nominated for a
    25% move that nominates one whose runs repeat within 2%."""
    steady = [1.0, 1.01, 0.99, 1.02, 1.0, 0.98]
    swinging = [1.0, 1.6, 0.9, 2.2, 1.1, 1.4]
    for k, (a, b) in enumerate(zip(steady, swinging, strict=True)):
        save(tmp_path, k + 1, [entry("lecture", "numba", a), entry("lecture", "jax", b)])
    save(tmp_path, 7, [entry("lecture", "numba", 1.25), entry("lecture", "jax", 1.5)])
    *earlier, latest = recheck.saved_runs(tmp_path)
    found = {n: (slowed, noise) for n, slowed, noise in recheck.suspects(earlier, latest, 0.1)}
    assert set(found) == {"lecture[numba]"}
    slowed, noise = found["lecture[numba]"]
    assert slowed == pytest.approx(0.25)
    assert 0 < noise < 0.1
    assert recheck.fence(swinging) > 0.5
    assert recheck.fence(steady[:3]) is None  # too few runs for a fence


def test_pooled_nominees_run_on_one_worker_a_side(tmp_path, monkeypatch):
    save(tmp_path, 1, [entry("derivative-n20", "numba", 1e-6), entry("lecture", "dask", 1.0)])
    save(tmp_path, 2, [entry("derivative-n20", "numba", 2e-6), entry("lecture", "dask", 2.0)])
    asked = []

    def fake_run(args):
        asked.append((args.benchmark, args.processes))
        return [], "feed123", "working tree"

    monkeypatch.setattr(ab, "run", fake_run)
    recheck.recheck(tmp_path, 0.1, False, 0.05)
    assert asked == [(["derivative-n20[numba]"], 4), (["lecture[dask]"], 1)]


def test_nothing_to_do_with_one_run_or_no_suspect(tmp_path, capsys):
    save(tmp_path, 1, [entry("lecture", "numba", 1.0)])
    assert recheck.recheck(tmp_path, 0.1, False, 0.05) == 0
    assert "nothing to compare with yet" in capsys.readouterr().out
    save(tmp_path, 2, [entry("lecture", "numba", 1.05)])
    assert recheck.recheck(tmp_path, 0.1, False, 0.05) == 0
    assert "nothing to measure again" in capsys.readouterr().out


@pytest.mark.parametrize(("flagged", "code"), [("slower", 1), ("same", 0)])
def test_a_suspect_is_decided_by_ab_against_the_previous_runs_commit(
    tmp_path, monkeypatch, capsys, flagged, code
):
    save(tmp_path, 1, [entry("derivative-n20", "numba", 1e-6)], commit="feed123")
    save(tmp_path, 2, [entry("derivative-n20", "numba", 2e-6)])
    asked = {}

    def fake_run(args):
        asked.update(base=args.base, head=args.head, benchmark=args.benchmark)
        assert args.slow_down == {}
        verdict = ab.Verdict("derivative-n20[numba]", 1e-6, 2e-6, (2.0, 1.9, 2.1), flagged)
        return [verdict], "feed123", "working tree"

    monkeypatch.setattr(ab, "run", fake_run)
    assert recheck.recheck(tmp_path, 0.1, False, 0.05) == code
    assert asked == {"base": "feed123", "head": None, "benchmark": ["derivative-n20[numba]"]}
    out = capsys.readouterr().out
    assert "derivative-n20[numba] (+100%)" in out
    assert ("FAILED" in out) == (code == 1)


@pytest.mark.parametrize(("earlier", "code"), [(1e-12, 1), (100.0, 0)])
def test_without_the_previous_build_the_suspect_is_timed_against_the_history(
    tmp_path, capsys, earlier, code
):
    """A dirty previous run has no commit to build: the benchmark is timed again here and
    set against every earlier run (1 ps: anything is slower; 100 s: nothing is)."""
    save(tmp_path, 1, [entry("derivative-n20", "cython", earlier)])
    save(tmp_path, 2, [entry("derivative-n20", "cython", earlier)], dirty=True)
    save(tmp_path, 3, [entry("derivative-n20", "cython", 2 * earlier)])
    assert recheck.recheck(tmp_path, 0.1, False, 0.05) == code
    out = capsys.readouterr().out
    assert "timing again against the history" in out
    assert ("still slower" in out) == (code == 1)
    # a slow-down is confirmed only when every fresh process repeats it
    assert f"(fastest of {recheck.LOOKS if code else 1} process(es))" in out


def test_a_process_that_started_slow_is_not_a_slow_down(tmp_path, monkeypatch, capsys):
    """The first fresh look is as slow as the suite's run, the second is within the
    history: noise, not confirmed, and no third look."""
    save(tmp_path, 1, [entry("derivative-n20", "cython", 1e-6)])
    save(tmp_path, 2, [entry("derivative-n20", "cython", 1e-6)], dirty=True)
    save(tmp_path, 3, [entry("derivative-n20", "cython", 2e-6)])
    looks = iter([2e-6, 1.05e-6, 9.0])
    monkeypatch.setattr(recheck, "time_in_a_fresh_process", lambda *_: next(looks))
    assert recheck.recheck(tmp_path, 0.1, False, 0.05) == 0
    out = capsys.readouterr().out
    assert "0.00105 ms now (fastest of 2 process(es))" in out
    assert "within them: noise" in out


def test_the_suites_slow_down_is_applied_when_measuring_again(tmp_path, monkeypatch):
    save(tmp_path, 1, [entry("derivative-n20", "cython", 1e-6)], commit="feed123")
    slowed = entry("derivative-n20", "cython", 2e-6)
    slowed["extra_info"]["slowed_down"] = 1.5
    save(tmp_path, 2, [slowed])
    seen = {}

    def fake_run(args):
        seen.update(args.slow_down)
        return [], "feed123", "working tree"

    monkeypatch.setattr(ab, "run", fake_run)
    recheck.recheck(tmp_path, 0.1, False, 0.05)
    assert seen == {"cython": 1.5}


def test_a_suspect_ab_cannot_measure_is_named_not_passed_over(tmp_path, monkeypatch, capsys):
    save(tmp_path, 1, [entry("derivative-n20", "numba", 1e-6)], commit="feed123")
    save(tmp_path, 2, [entry("derivative-n20", "numba", 2e-6)])

    def fake_run(args):
        verdict = ab.Verdict(
            "derivative-n20[numba]", math.nan, math.nan, None, "skipped", "ValueError: why"
        )
        return [verdict], "feed123", "working tree"

    monkeypatch.setattr(ab, "run", fake_run)
    assert recheck.recheck(tmp_path, 0.1, False, 0.05) == 0
    out = capsys.readouterr().out
    assert "recheck: NOT measured again: derivative-n20[numba] (ValueError: why)" in out
