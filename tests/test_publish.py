"""`nbody-bench publish`: the static site of saved runs, read as files (the browser's view
is tests/test_publish_browser.py)."""

import copy
import json
import re
import subprocess
from argparse import Namespace
from collections import defaultdict
from pathlib import Path

import pytest

from nbody_bench import ab, cli, formatting, history, publish, synthetic
from nbody_bench.gate import evaluate, load_thresholds
from nbody_bench.machines import identify
from nbody_bench.results import ResultsError, rows_from

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ROOT / "results" / "amd-f25-m17-avx512-2cpu-native.json"
STEP_AT = 20


def other_machine(runs, build="portable"):
    """The same runs as made on an Intel machine with the portable build."""
    out = copy.deepcopy(runs)
    for run in out:
        run["machine_info"]["cpu"].update(vendor_id_raw="GenuineIntel", family=6, model=143)
        for entry in run["benchmarks"]:
            entry["extra_info"]["build"] = build
    return out


@pytest.fixture
def two_machines(tmp_path):
    amd = synthetic.history(runs=30, benchmarks=20, seed=1, step_at=STEP_AT)
    intel = other_machine(synthetic.history(runs=30, benchmarks=20, seed=2))
    synthetic.write(amd, tmp_path / "runs" / "amd")
    synthetic.write(intel, tmp_path / "runs" / "intel")
    return tmp_path / "runs", amd, intel


def figures_of(site):
    text = (site / "graphs.html").read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="figures">(.*?)</script>', text, re.S)
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_the_site_has_every_machine_workload_series_and_point(two_machines, tmp_path):
    runs, amd, intel = two_machines
    counts = publish.publish([runs], tmp_path / "site")
    site = tmp_path / "site"
    assert (counts["runs"], counts["machines"], counts["commits"]) == (60, 2, 30)
    amd_key = identify(amd[0]["machine_info"], rows_from(amd[0]["benchmarks"])).key
    intel_key = identify(intel[0]["machine_info"], rows_from(intel[0]["benchmarks"])).key
    assert amd_key == "amd-f25-m17-avx512-2cpu-native"
    assert intel_key == "intel-f6-m143-avx512-2cpu-portable"
    index = (site / "index.html").read_text(encoding="utf-8")
    for key in (amd_key, intel_key):
        assert f'href="machine-{key}.html"' in index
        assert (site / f"machine-{key}.html").is_file()
    figures = figures_of(site)
    workloads = {e["extra_info"]["workload"] for e in amd[0]["benchmarks"]}
    assert set(figures) == workloads
    for workload, fig in figures.items():
        backends = {
            e["extra_info"]["backend"]
            for e in amd[0]["benchmarks"]
            if e["extra_info"]["workload"] == workload
        }
        names = {trace["name"] for trace in fig["data"]}
        assert names == {f"{b} · {k}" for b in backends for k in (amd_key, intel_key)}
        assert all(len(trace["x"]) == 30 for trace in fig["data"])
        assert f'href="graphs.html#w-{workload}"' in index
    assert "<script src" not in (site / "graphs.html").read_text(encoding="utf-8")


def test_the_metric_buttons_carry_time_and_the_in_run_speedup(two_machines, tmp_path):
    runs, amd, _ = two_machines
    publish.publish([runs], tmp_path / "site")
    fig = figures_of(tmp_path / "site")["derivative-n50"]
    time_button, speedup_button = fig["layout"]["updatemenus"][0]["buttons"]
    trace = next(i for i, t in enumerate(fig["data"]) if t["name"].startswith("numba · amd"))
    first = {e["extra_info"]["backend"]: e["stats"]["min"] for e in amd[0]["benchmarks"]
             if e["extra_info"]["workload"] == "derivative-n50"}  # fmt: skip
    assert time_button["args"][0]["y"][trace][0] == pytest.approx(first["numba"])
    speedup = speedup_button["args"][0]["y"][trace][0]
    assert speedup == pytest.approx(first["python"] / first["numba"])


def test_a_backend_has_one_colour_on_every_graph_and_a_machine_its_own_line(two_machines, tmp_path):
    runs, *_ = two_machines
    publish.publish([runs], tmp_path / "site")
    colours, lines = defaultdict(set), defaultdict(set)
    for fig in figures_of(tmp_path / "site").values():
        for trace in fig["data"]:
            if trace.get("mode") != "lines+markers":
                continue
            backend, machine = trace["name"].split(" · ")
            colours[backend].add(trace["line"]["color"])
            assert trace["marker"]["color"] == trace["line"]["color"]
            lines[machine].add((trace["line"]["dash"], trace["marker"]["symbol"]))
    assert all(len(c) == 1 for c in colours.values())
    assert len({c.pop() for c in colours.values()}) == len(colours)
    assert len(lines) == 2
    assert all(len(style) == 1 for style in lines.values())
    assert len({style.pop() for style in lines.values()}) == 2


def test_the_planted_step_is_on_the_regressions_page_and_the_flat_machine_has_none(
    two_machines, tmp_path
):
    runs, *_ = two_machines
    counts = publish.publish([runs], tmp_path / "site")
    page = (tmp_path / "site" / "regressions.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr>(.*?)</tr>", page)
    stepped = [r for r in rows if "<td>numba</td>" in r and "amd-" in r]
    assert len(stepped) == len(figures_of(tmp_path / "site"))  # numba's step at every N
    slower = page.split('id="slower"')[1].split('id="recovered"')[0]
    assert all(r in slower for r in stepped)  # it holds to the last run: it stands
    assert stepped
    for row in stepped:  # the synthetic commits count up in hex: (SINCE, AT] holds it
        since, at = re.search(r"(\w{7}) \(\S+\) \.\. (\w{7}) \(", row).groups()
        assert int(since, 16) < int(synthetic.commit_id(STEP_AT)[:7], 16) <= int(at, 16), row
    assert not [r for r in rows if "intel-" in r]
    assert counts["steps"] == counts["standing"] == len(stepped)


def test_a_slow_down_fixed_later_is_listed_as_recovered_not_standing(tmp_path):
    runs = synthetic.history(runs=40, benchmarks=20, seed=3, step_at=STEP_AT)
    for run in runs[30:]:  # numba's slow-down undone at run 30
        for entry in run["benchmarks"]:
            if entry["extra_info"]["backend"] == "numba":
                entry["stats"]["min"] /= 1.2
    synthetic.write(runs, tmp_path / "runs")
    counts = publish.publish([tmp_path / "runs"], tmp_path / "site")
    page = (tmp_path / "site" / "regressions.html").read_text(encoding="utf-8")
    standing, rest = page.split('id="slower"')[1].split('id="recovered"')
    recovered, faster = rest.split('id="faster"')
    workloads = len(figures_of(tmp_path / "site"))
    assert "<td>numba</td>" not in standing
    assert counts["standing"] == 0
    assert recovered.count("<td>numba</td>") == workloads  # the slow-down, at every N
    assert faster.count("<td>numba</td>") == workloads  # and the fix
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "0 slower, standing</a>" in index
    assert f'<a href="regressions.html#recovered">{workloads} slower, recovered since' in index


def test_runs_of_one_machine_from_several_clones_and_clocks_share_its_key():
    run = synthetic.history(runs=1, benchmarks=5)[0]
    rows = rows_from(run["benchmarks"])
    moved = copy.deepcopy(run["machine_info"])
    moved.update(node="another-clone", release="6.1.0", python_version="3.12.1")
    moved["cpu"]["hz_actual"] = [2_450_000_000, 0]
    assert identify(moved, rows).key == identify(run["machine_info"], rows).key
    fewer = rows_from(
        [{**e, "extra_info": {**e["extra_info"], "cores": 1}} for e in run["benchmarks"]]
    )
    assert identify(run["machine_info"], fewer).key.endswith("-1cpu-native")


def test_commits_are_in_git_order_where_the_repository_knows_them(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args):
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=repo, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip

    git("init", "-q")
    ids = []
    for i in range(3):
        (repo / "f").write_text(str(i))
        git("add", "f")
        git("commit", "-q", "-m", str(i))
        ids.append(git("rev-parse", "HEAD"))
    runs = synthetic.history(runs=3, benchmarks=3)
    for run, commit, when in zip(
        runs, ids, ("2026-03-01", "2026-02-01", "2026-01-01"), strict=True
    ):
        run["commit_info"].update(id=commit, time=when)  # recorded times in reverse
    saved = [history.read_run(tmp_path / f"{i}.json", run) for i, run in enumerate(runs)]
    assert publish.commit_order(saved, repo) == (ids, "git order")
    assert publish.commit_order(saved, tmp_path) == (ids[::-1], "commit time")  # no repository


def test_runs_of_no_commit_get_a_point_each_after_the_commits_before_them():
    runs = synthetic.history(runs=4, benchmarks=3)
    for run, when in zip(
        runs[2:], ("2026-01-05T12:00:00+00:00", "2026-01-06T20:00:00+00:00"), strict=True
    ):
        run["commit_info"] = {"id": "unversioned", "dirty": False}  # pytest-benchmark, no git
        run["datetime"] = when
    saved = [history.read_run(f"{i}.json", run) for i, run in enumerate(runs)]
    order, _ = publish.commit_order(saved, Path("/"))
    first, second = (synthetic.commit_id(i) for i in range(2))
    assert order == [first, "unknown@2026-01-05T12:00:00+00:00", second,
                     "unknown@2026-01-06T20:00:00+00:00"]  # fmt: skip


def test_a_dirty_run_is_drawn_and_not_judged(tmp_path):
    runs = synthetic.history(runs=24, benchmarks=3, step_at=None)
    slow = copy.deepcopy(runs[12])  # uncommitted changes at commit 12, much slower
    slow["commit_info"]["dirty"] = True
    slow["datetime"] = "2026-01-08T08:00:00+00:00"
    for entry in slow["benchmarks"]:
        entry["stats"]["min"] /= 3  # faster, so it would be the commit's fastest
    synthetic.write([*runs, slow], tmp_path / "runs")
    counts = publish.publish([tmp_path / "runs"], tmp_path / "site")
    assert counts["runs"] == 25
    assert counts["steps"] == 0
    fig = figures_of(tmp_path / "site")["derivative-n20"]
    assert {len(t["x"]) for t in fig["data"]} == {25}


def test_a_run_found_twice_counts_once(two_machines, tmp_path):
    runs, *_ = two_machines
    into = tmp_path / "layout"
    assert cli.main(["collect", str(runs), "--into", str(into)]) == 0
    assert publish.publish([runs, into], tmp_path / "site")["runs"] == 60


def test_the_latest_ab_and_the_gates_verdicts_are_shown(tmp_path):
    args = Namespace(portable=False, threshold=0.05)
    verdict = ab.Verdict("derivative-n1000[numba]", 1e-3, 1.2e-3, (1.2, 1.15, 1.25), "slower")
    older = ab.Verdict("derivative-n1000[cython]", 1e-3, 1e-3, (1.0, 0.98, 1.02), "same")
    latest = ab.as_json([verdict], "abc1234", "tree", args, machine="m")
    earlier = {**ab.as_json([older], "0000000", "abc1234", args, machine="m"), "when": "2026-01-01"}
    (tmp_path / "ab.json").write_text(json.dumps(latest))
    (tmp_path / "ab-earlier.json").write_text(json.dumps(earlier))
    thresholds = load_thresholds(ROOT / "pyproject.toml")
    publish.publish(
        [RECORDED, tmp_path / "ab-earlier.json", tmp_path / "ab.json"],
        tmp_path / "site",
        thresholds=thresholds,
    )
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    for text in (
        "Latest A/B",
        "derivative-n1000[numba]",
        "1.200 [1.150, 1.250]",
        "tree against abc1234",
    ):
        assert text in index
    assert "derivative-n1000[cython]" not in index
    machine = (tmp_path / "site" / "machine-amd-f25-m17-avx512-2cpu-native.html").read_text()
    judged = [
        v
        for v in evaluate(history.read_run(RECORDED).rows, thresholds)
        if v.status not in ("skipped", "missing")
    ]
    broken = sum(v.failed for v in judged)
    assert f"{broken} of {len(judged)} bounds broken on the run's first measurements" in machine
    assert "lecture/numba" in machine


def test_the_machine_page_has_the_backend_by_n_table_of_the_latest_run(two_machines, tmp_path):
    runs, amd, _ = two_machines
    publish.publish([runs], tmp_path / "site")
    page = (tmp_path / "site" / "machine-amd-f25-m17-avx512-2cpu-native.html").read_text()
    header = re.search(r"<thead><tr>(.*?)</tr>", page).group(1)
    assert re.findall(r"<th>(.*?)</th>", header)[:3] == ["backend", "N = 20", "N = 50"]
    last = rows_from(amd[-1]["benchmarks"])
    numba = next(r for r in last if r.backend == "numba" and r.n == 50)
    assert "<td>numba</td>" in page
    assert formatting.duration(numba.time) in page  # the last run's figure, not the first's
    first = next(r for r in rows_from(amd[0]["benchmarks"]) if r.backend == "numba" and r.n == 50)
    assert formatting.duration(first.time) not in page
    assert "No gate bounds were read" in page


def test_bad_input_names_the_file_and_writes_nothing(tmp_path):
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    (tmp_path / "broken.json").write_text("{")
    out = tmp_path / "site"
    with pytest.raises(ResultsError, match=r"notes\.json: neither a pytest-benchmark run"):
        publish.publish([tmp_path / "notes.json"], out)
    with pytest.raises(ResultsError, match=r"broken\.json: not valid JSON"):
        publish.publish([tmp_path / "broken.json"], out)
    with pytest.raises(ResultsError, match="no saved runs in"):
        publish.publish([tmp_path], out)  # in a folder, other JSON is passed over
    with pytest.raises(ResultsError, match="missing: no such file or folder"):
        publish.publish([tmp_path / "missing"], out)
    assert not out.exists()


def test_a_site_is_replaced_whole_or_not_at_all(two_machines, tmp_path, monkeypatch):
    runs, *_ = two_machines
    out = tmp_path / "site"
    publish.publish([runs], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args):
        raise RuntimeError("the plotting failed")

    monkeypatch.setattr(publish, "_regressions", broken)
    with pytest.raises(RuntimeError):
        publish.publish([runs], out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_the_command(two_machines, tmp_path, capsys):
    runs, *_ = two_machines
    assert cli.main(["publish", str(runs), "--out", str(tmp_path / "site")]) == 0
    assert "60 runs on 2 machines, 30 commits" in capsys.readouterr().out
    assert (
        cli.main(
            ["publish", str(runs / "amd" / "0001_0000001.json"), "--out", str(tmp_path / "one")]
        )
        == 0
    )
    assert "1 run on 1 machine, 1 commit, " in capsys.readouterr().out
    assert cli.main(["publish", str(tmp_path / "nothing"), "--out", str(tmp_path / "s")]) == 1
    assert "no such file or folder" in capsys.readouterr().err


def test_collect_lays_runs_out_by_machine_once_each_without_raw_rounds(two_machines, tmp_path):
    runs, *_ = two_machines
    first = tmp_path / "runs" / "amd" / "0001_0000001.json"
    raw = json.loads(first.read_text())
    raw["benchmarks"][0]["stats"]["data"] = [1e-3] * 1000  # --benchmark-save-data
    first.write_text(json.dumps(raw))
    into = tmp_path / "layout"
    assert cli.main(["collect", str(runs), "--into", str(into)]) == 0
    assert sorted(p.name for p in into.iterdir()) == [
        "amd-f25-m17-avx512-2cpu-native",
        "intel-f6-m143-avx512-2cpu-portable",
    ]
    files = sorted((into / "amd-f25-m17-avx512-2cpu-native").iterdir())
    assert len(files) == 30
    assert files[0].name == "20260105T092000_0000001.json"
    assert "data" not in json.loads(files[0].read_text())["benchmarks"][0]["stats"]
    assert cli.main(["collect", str(runs), str(into), "--into", str(into)]) == 0
    assert sum(1 for _ in into.rglob("*.json")) == 60  # collected twice: once each
    assert publish.publish([into], tmp_path / "site")["runs"] == 60
