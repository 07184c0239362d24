"""The nbody-bench command: report, profile and animate, on histories the tests write."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import kernels
from nbody_bench.cli import main

BACKENDS = ("python", "numpy", "numba", "cython", "fortran", "multiprocessing")
COMPILED = ("numba", "cython", "fortran", "c-reference", "numba-parallel")


def benchmark_entry(workload, backend, median, n, calls):
    kind = "lecture" if workload == "lecture" else "derivative"
    info = {"workload": workload, "kind": kind, "backend": backend, "n": n, "calls": calls}
    return {
        "name": f"test[{backend}-{n}]",
        "group": workload,
        "extra_info": info,
        "stats": {"median": median, "min": median, "max": median, "rounds": 5},
    }


def save_run(storage, number, commit, scale):
    """A run in pytest-benchmark's file layout; `scale` slows every backend but python."""
    entries = []
    for i, backend in enumerate(BACKENDS):
        factor = 1.0 if backend == "python" else scale / (1 + i)
        entries.append(benchmark_entry("lecture", backend, 2.0 * factor, 20, 2000))
        for n in (20, 100, 1000):
            entries.append(
                benchmark_entry(f"derivative-n{n}", backend, 1e-9 * n * n * factor, n, 1)
            )
    run = {
        "machine_info": {"node": "test"},
        "commit_info": {"id": commit, "dirty": False},
        "datetime": "2026-11-26T00:00:00",
        "version": "5.3.1",
        "benchmarks": entries,
    }
    folder = storage / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{number:04d}_{commit}_20261126_000000.json"
    path.write_text(json.dumps(run))
    return path


@pytest.fixture
def storage(tmp_path):
    storage = tmp_path / ".benchmarks"
    save_run(storage, 1, "aaaaaaa1111", 0.01)
    save_run(storage, 2, "bbbbbbb2222", 0.005)
    save_run(storage, 3, "ccccccc3333", 0.02)  # a regression
    return storage


def assert_real_png(path, size):
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 5, f"{path.name} looks blank"
    assert len(np.unique(pixels)) > 10


def test_report_writes_plots_and_markdown(storage, tmp_path, capsys):
    out = tmp_path / "report"
    config = Path(__file__).resolve().parents[1] / "pyproject.toml"
    assert (
        main(["report", "--storage", str(storage), "--out", str(out), "--config", str(config)]) == 0
    )
    assert "report.md" in capsys.readouterr().out
    for name in ("scaling.png", "speedup.png", "history.png"):
        assert_real_png(out / name, (900 if name == "speedup.png" else 800, 550))
    markdown = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert sorted(links) == ["history.png", "scaling.png", "speedup.png"]
    assert all((out / link).is_file() for link in links)
    assert "0003_ccccccc3333" in markdown
    assert re.search(r"lecture\s+numpy\s+.*\s100\.0x", markdown)  # python 2 s / numpy 0.02 s
    # The gate column, from the project's pyproject.toml.
    assert re.search(r"lecture\s+numpy\s+.*\spass \(>= \d+x\)", markdown)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".benchmarks", "report"]


def test_report_replaces_an_earlier_report_whole(storage, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "stale.png").write_text("old")
    assert main(["report", "--storage", str(storage), "--out", str(out)]) == 0
    assert not (out / "stale.png").exists()


def test_report_without_saved_runs_says_so_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", "--storage", str(tmp_path / "none"), "--out", str(out)]) == 1
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", "--storage", str(tmp_path / "empty"), "--out", str(out)]) == 1
    assert "no saved runs" in capsys.readouterr().err
    assert not out.exists()
    assert not (tmp_path / "none").exists()


def test_report_names_a_corrupt_file_and_keeps_the_old_report(storage, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["report", "--storage", str(storage), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    broken = save_run(storage, 4, "ddddddd4444", 0.01)
    broken.write_text('{"benchmarks": [')
    assert main(["report", "--storage", str(storage), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert broken.name in err
    assert "not valid JSON" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".benchmarks", "report"]


def test_profile_prints_the_top_functions_by_internal_time(capsys):
    assert main(["profile", "numpy", "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "Ordered by: internal time" in out
    assert "List reduced from" in out
    # The lecture's broadcasting, in numpy.py's function for one block of rows (below 1800
    # bodies, the only block).
    assert re.search(
        r"\b2000\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+ .*numpy\.py:\d+\(block_accelerations\)",
        out,
    )


# Not python and multiprocessing (seconds a run; their Python frames are profiled by the
# test above), nor dask (4000 calls of 20 bodies through a cluster: a minute of round trips).
PROFILED = [b for b in kernels.names() if b not in ("python", "multiprocessing", "dask")]


@pytest.mark.parametrize("backend", PROFILED, indirect=True)
def test_profile_shows_where_the_time_goes_for_every_backend(backend, capsys):
    """Compiled kernels are invisible to cProfile on their own; the profile must still
    show the derivative's 2000 calls and its time against the integrator's."""
    assert main(["profile", backend, "--top", "5"]) == 0
    out = capsys.readouterr().out
    if backend in COMPILED:  # the kernel's own row, where it is not Python code itself
        assert re.search(r"\b2000\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+ .*\(derivative\)", out)
    split = re.search(
        rf"in run_rk2\):\n  the {backend} derivative: 2000 calls, ([\d.]+) ms \((\d+)%\).*\n"
        r"  the integrator around it .*: ([\d.]+) ms \((\d+)%\)",
        out,
    )
    assert split, out
    assert abs(int(split[2]) + int(split[4]) - 100) <= 1
    assert float(split[1]) > 0


def test_profile_rejects_unknown_backend(capsys):
    with pytest.raises(SystemExit) as info:
        main(["profile", "cobol"])
    assert info.value.code == 2
    assert "invalid choice: 'cobol'" in capsys.readouterr().err


def test_animate_writes_a_gif_of_every_frame(tmp_path, capsys):
    gif = tmp_path / "run.gif"
    assert main(["animate", "numpy", "--out", str(gif)]) == 0
    with Image.open(gif) as image:
        assert image.format == "GIF"
        assert image.size == (400, 400)
        assert image.n_frames == 100
        first = np.asarray(image.convert("L"))
        image.seek(99)
        last = np.asarray(image.convert("L"))
    assert first.std() > 5
    assert not np.array_equal(first, last), "the bodies did not move"


def test_animate_refuses_other_formats(tmp_path, capsys):
    assert main(["animate", "numpy", "--out", str(tmp_path / "run.mp4")]) == 1
    assert "give a .gif name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_console_script_is_installed():
    done = subprocess.run(
        [Path(sys.executable).with_name("nbody-bench"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    for command in ("report", "profile", "animate"):
        assert command in done.stdout


def test_costs_prints_a_row_per_backend(capsys):
    assert (
        main(["costs", "--backend", "c-reference", "--backend", "numpy", "--n-memory", "300"]) == 0
    )
    out = capsys.readouterr().out
    assert re.search(r"\| c-reference \| [\d.]+ s \| ([\d.]+ s|-) \| \d+ \| [\d.]+ MB \|", out)
    assert re.search(r"\| numpy \| [\d.]+ s \| - \| \d+ \| [\d.]+ MB \|", out)


def test_costs_refuses_no_bodies(capsys):
    assert main(["costs", "--n-memory", "0"]) == 1
    assert "--n-memory must be at least 1" in capsys.readouterr().err


def test_report_with_costs_has_their_table_and_the_latest_speedups(storage, tmp_path):
    from nbody_bench.costs import Cost, format_costs, speedups_from
    from nbody_bench.report import write_report

    def costs(latest):
        return format_costs([Cost("numpy", first=0.1, lines=18, peak=2**20)], speedups_from(latest))

    written = write_report(storage, tmp_path / "report", costs=costs)
    markdown = written.read_text()
    assert "## What each backend costs to use" in markdown
    # The latest run (0003): python 2 s / numpy 0.02 s on the lecture.
    assert "| numpy | 0.10 s | - | 18 | 1.0 MB | 100.0x |" in markdown


TOOLS = (
    "report", "profile", "animate", "try", "costs", "cluster",
    "ab", "bisect", "recheck", "gate", "sass", "notebook", "render", "publish", "collect",
    "synthetic",
)  # fmt: skip


@pytest.mark.parametrize("entry", [["-m", "nbody_bench"], ["-m", "nbody_bench.cli"]])
def test_one_command_lists_every_tool(entry):
    """`nbody-bench --help`, as `python -m nbody_bench` and `python -m nbody_bench.cli`."""
    done = subprocess.run(
        [sys.executable, *entry, "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^    (\S+)\s", done.stdout, re.MULTILINE)
    assert sorted(listed) == sorted(TOOLS)


@pytest.mark.parametrize("tool", TOOLS)
def test_every_tool_takes_help_as_a_subcommand(tool, capsys):
    with pytest.raises(SystemExit) as exited:
        main([tool, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: nbody-bench {tool} ")


def test_a_tools_own_module_entry_is_the_same_command(capsys):
    """python -m nbody_bench.gate, kept for nox sessions that run from the source tree:
    the same options and prog as `nbody-bench gate`."""
    from nbody_bench import gate

    with pytest.raises(SystemExit):
        gate.main(["--help"])
    own = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["gate", "--help"])
    assert capsys.readouterr().out == own
