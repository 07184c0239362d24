"""The README and docs as a reader meets them: every command in their code blocks parses
with the options it is given, and every table of figures is what its recorded run renders
(nbody_bench.render)."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from nbody_bench import (
    ab,
    bisect,
    cli,
    gate,
    notebook,
    publish,
    recheck,
    render,
    sass,
)

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Programs a page may name besides the project's own, each a fact about setting up.
OTHERS = {
    "apt-get", "bash", "cd", "cp", "export", "git", "jupyter", "ls", "pip", "python3",
    "sudo", "source", "unzip", "nvidia-smi", "mkdir", "cat",
}  # fmt: skip


def commands(page):
    """(line number, words) of each command in the page's ```bash blocks: continuations
    joined, comments and blank lines left out, `A && B` split into two."""
    found, block, pending = [], False, None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("```"):
            block = stripped in ("```bash", "```sh", "```console") if not block else False
            continue
        if not block or (pending is None and (not stripped or stripped.startswith("#"))):
            continue
        text = stripped.removeprefix("$ ")
        if pending is not None:
            start, text = pending[0], f"{pending[1]} {text}"
        else:
            start = number
        if text.endswith("\\"):
            pending = (start, text[:-1])
            continue
        pending = None
        for part in re.split(r"\s&&\s|\s;\s", text):
            words = shlex.split(part, comments=True)
            if words:
                found.append((start, words))
    return found


def _parse(configure, args, prog):
    parser = argparse.ArgumentParser(prog=prog, exit_on_error=False)
    configure(parser)
    parser.parse_args(args)


def _pytest_options():
    """Every option `pytest bench/` knows here, the suite's own included."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "bench/", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(re.findall(r"(?<![\w-])(-{1,2}[a-zA-Z][\w-]*)", done.stdout))


def _check_pytest_args(args, options, what):
    for arg in args:
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            assert name in options, f"{what}: pytest has no option {name}"


ENVIRONMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
DEV_PYTEST = {"test", "bench", "gate", "compare", "record", "lint"}
TOOL_MODULES = {
    "ab": ab.arguments,
    "bisect": bisect.arguments,
    "recheck": recheck.arguments,
    "gate": gate.arguments,
    "sass": sass.arguments,
    "notebook": notebook.arguments,
    "render": render.arguments,
    "publish": publish.arguments,
}


def check(words, pytest_options):
    """Raise AssertionError (or argparse's error) where the command would not run as
    written; returns what kind of command it was."""
    what = " ".join(words)
    while words and ENVIRONMENT.match(words[0]):  # CI=true ./dev gate: the shell's, not a program
        words = words[1:]
    assert words, f"{what}: sets variables and runs nothing"
    optional = [w for w in words if w.startswith("[") and w.endswith("]")]
    assert not optional, f"{what}: {optional[0]} is a placeholder, not what a reader can paste"
    program, args = words[0], words[1:]
    if program in ("./dev", "dev"):
        verb, args = (args[0] if args else ""), args[1:]
        if args[:1] == ["--portable"]:
            args = args[1:]
        dev = (ROOT / "dev").read_text(encoding="utf-8")
        verbs = set(re.findall(r"^  ([a-z|-]+)\)", dev, re.MULTILINE))
        known = {v for group in verbs for v in group.split("|")}
        assert verb in known, f"{what}: ./dev has no {verb!r} (it has {', '.join(sorted(known))})"
        if verb == "nbody-bench":
            cli._parser().parse_args(args)
        elif verb in ("ab", "bisect"):
            _parse(TOOL_MODULES[verb], args, what)
        elif verb == "sass":
            _parse(sass.arguments, args, what)
        elif verb == "gpu":
            assert set(args) <= {"--rehearse"}, f"{what}: ./dev gpu takes --rehearse alone"
        elif verb == "notebook":
            assert set(args) <= {"--run", "--quick"}, f"{what}: ./dev notebook takes --run, --quick"
        elif verb in DEV_PYTEST:
            _check_pytest_args(args, pytest_options, what)
        return "dev"
    if program == "nbody-bench":
        cli._parser().parse_args(args)
        return "nbody-bench"
    if program.startswith("python") and args[:2] in (
        ["-m", "nbody_bench"],
        ["-m", "nbody_bench.cli"],
    ):
        cli._parser().parse_args(args[2:])
        return "nbody-bench"
    if program.startswith("python") and args[:1] == ["-m"] and args[1].startswith("nbody_bench."):
        module = args[1].removeprefix("nbody_bench.")
        assert module in TOOL_MODULES, f"{what}: nbody_bench.{module} has no -m entry"
        _parse(TOOL_MODULES[module], args[2:], what)
        return "module"
    if program == "pytest" or (program.startswith("python") and args[:2] == ["-m", "pytest"]):
        _check_pytest_args(args[2:] if program != "pytest" else args, pytest_options, what)
        return "pytest"
    if program == "nox":
        return "nox"
    assert program in OTHERS or Path(ROOT, program).exists(), (
        f"{what}: {program!r} is neither the project's nor a known tool (tests/test_docs.py OTHERS)"
    )
    return "other"


@pytest.fixture(scope="module")
def pytest_options():
    return _pytest_options()


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_command_on_the_page_parses_as_written(page, pytest_options):
    found = commands(page)
    problems = []
    for number, words in found:
        try:
            check(words, pytest_options)
        except (AssertionError, argparse.ArgumentError) as exc:
            problems.append(f"{page.name}:{number}: {exc}")
        except SystemExit as exc:  # argparse's error() on a subparser, or --help
            if exc.code:
                problems.append(f"{page.name}:{number}: {' '.join(words)}: does not parse")
    assert not problems, "\n".join(problems)


def test_the_command_checker_catches_what_a_reader_would_hit(pytest_options):
    good = [
        ["./dev", "nbody-bench", "try", "my_kernel.py:Nbody_derivatives"],
        ["./dev", "gate", "--portable", "-k", "numba"],
        ["nbody-bench", "costs", "--json", "build/gate-native.json"],
        ["python", "-m", "nbody_bench.gate", "build/gate-native.json", "--ci"],
        ["./dev", "ab", "HEAD~1", "-k", "numba and n1000"],
        ["CI=true", "NUMBA_NUM_THREADS=1", "./dev", "gate", "--portable"],
        ["./dev", "gpu", "--rehearse"],
    ]
    for words in good:
        check(words, pytest_options)
    bad = [
        ["./dev", "nbody-bench", "costs", "--json"],  # the option wants a file
        ["./dev", "frobnicate"],
        ["./dev", "bench", "--no-such-option"],
        ["nbody-bench", "gate"],  # the run is missing
        ["python", "-m", "nbody_bench.cli2"],
        ["make", "all"],
        ["CI=true", "./dev", "frobnicate"],  # a variable in front hides nothing
        ["CI=true"],
        ["./dev", "compare", "[--portable]"],
        ["./dev", "gpu", "--simulate"],
    ]
    for words in bad:
        with pytest.raises((AssertionError, argparse.ArgumentError, SystemExit)):
            check(words, pytest_options)


def test_commands_are_found_in_bash_blocks_only(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Run `nbody-bench nothing` inline: not a block.\n"
        "```bash\n# a comment\n./dev test\nnbody-bench try a.py:f \\\n    --n 20\n"
        "cd notebooks && nbody-bench render --check\n```\n"
        "```text\nnbody-bench output is not a command\n```\n"
    )
    assert commands(page) == [
        (4, ["./dev", "test"]),
        (5, ["nbody-bench", "try", "a.py:f", "--n", "20"]),
        (7, ["cd", "notebooks"]),
        (7, ["nbody-bench", "render", "--check"]),
    ]


def test_every_table_is_what_its_recorded_run_renders():
    differ = render.render(ROOT, check=True)
    assert not differ, f"redraw with `nbody-bench render`: {', '.join(differ)}"


def _recorded(tmp_path, time_numba):
    """A recorded run of two backends at the lecture's workload, as ./dev record writes it."""

    def entry(backend, seconds):
        info = {"workload": "lecture", "kind": "lecture", "backend": backend, "n": 20, "calls": 1}
        stats = {"min": seconds, "median": seconds, "max": seconds, "mean": seconds,
                 "stddev": 0.0, "rounds": 5, "iterations": 1}  # fmt: skip
        return {"name": f"test[{backend}]", "extra_info": info, "stats": stats}

    run = {
        "machine_info": {"cpu": {"brand_raw": "Test CPU", "count": 2}},
        "commit_info": {"id": "0123456789abcdef", "dirty": False},
        "datetime": "2026-12-07T06:00:00",
        "benchmarks": [entry("python", 1.0), entry("numba", time_numba)],
    }
    path = tmp_path / "results" / "test-native.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(run))
    return path


def test_a_table_redraws_from_its_run_and_check_catches_a_stale_one(tmp_path):
    _recorded(tmp_path, 0.002)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbody-bench.docs]\nrun = "results/test-native.json"\n'
    )
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "page.md"
    page.write_text("Intro.\n<!-- render: backends -->\nstale\n<!-- /render -->\nAfter.\n")
    assert render.render(tmp_path, check=True) == ["docs/page.md"]
    assert render.render(tmp_path) == ["docs/page.md"]
    text = page.read_text()
    assert "| `numba` | 2 ms | 500x |" in text
    assert "Test CPU, 2 cores" in text
    assert "commit 0123456789" in text
    assert "[results/test-native.json](../results/test-native.json)" in text
    assert text.startswith("Intro.\n<!-- render: backends -->\n")
    assert text.endswith("<!-- /render -->\nAfter.\n")
    assert render.render(tmp_path, check=True) == []  # drawn once, it stays as drawn
    _recorded(tmp_path, 0.004)  # a new recording: the page is stale until redrawn
    assert render.render(tmp_path, check=True) == ["docs/page.md"]


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("<!-- render: nonsense -->\n<!-- /render -->", "no table named 'nonsense'"),
        ("<!-- render: backends -->\nno end", "has no closing"),
        ("<!-- render: backends results/absent.json -->\n<!-- /render -->", "absent.json"),
    ],
)
def test_a_bad_marker_is_named_with_its_page_and_line(tmp_path, marker, message):
    _recorded(tmp_path, 0.002)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbody-bench.docs]\nrun = "results/test-native.json"\n'
    )
    (tmp_path / "README.md").write_text(f"Title\n{marker}\n")
    with pytest.raises(render.RenderError, match=message) as caught:
        render.render(tmp_path, check=True)
    assert "README.md:2" in str(caught.value)


def test_gate_runs_kept_for_calibration_render_each_bound_against_its_worst(tmp_path):
    first = _recorded(tmp_path, 0.002)  # numba 500x python
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nbody-bench.docs]\nrun = "results/test-native.json"\n'
        "[tool.nbody-bench.gate]\nheadroom = 2.5\n"
        "[tool.nbody-bench.gate.lecture]\nnumba = 400\n"
    )
    run = json.loads(first.read_text())
    run["machine_info"]["cpu"].update(vendor_id_raw="GenuineIntel", family=6, model=143)
    run["machine_info"]["cpu"]["flags"] = ["avx2", "avx512f"]
    run["benchmarks"][1]["stats"]["data"] = [0.002] * 1000
    first.write_text(json.dumps(run))
    kept = [render.add_calibration(first, tmp_path) for _ in range(2)]
    assert [p.name for p in kept] == [
        "intel-f6-m143-avx512-2cpu-native-1.json",
        "intel-f6-m143-avx512-2cpu-native-2.json",
    ]
    assert "data" not in json.loads(kept[0].read_text())["benchmarks"][1]["stats"]
    slower = json.loads(kept[1].read_text())
    slower["benchmarks"][1]["stats"]["min"] = 0.00225  # 444x: the worst of the two
    kept[1].write_text(json.dumps(slower))
    (tmp_path / "README.md").write_text("<!-- render: calibration -->\n<!-- /render -->\n")
    render.render(tmp_path)
    table = (tmp_path / "README.md").read_text()
    assert "| lecture | `numba` | >= 400x | 444 (2) | - | 1.11 |" in table
    assert "intel-f6-m143-avx512-2cpu-native-2.json" in table


def test_the_ci_times_name_the_cpu_as_the_backends_table_does_and_render(tmp_path, monkeypatch):
    import cpuinfo

    cpu = {"brand_raw": "Test CPU", "family": 25, "model": 17, "flags": ["avx2", "avx512f"]}
    monkeypatch.setattr(cpuinfo, "get_cpu_info", lambda: cpu)
    (tmp_path / "results").mkdir()
    render.write_ci_times(
        tmp_path / "results" / "ci-times.json", {"./dev test": 300, "./dev gate": 150}
    )
    record = json.loads((tmp_path / "results" / "ci-times.json").read_text())
    assert record["machine"].startswith("Test CPU (family 25 model 17, AVX-512), ")
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["ci-times.json"]
    (tmp_path / "README.md").write_text("<!-- render: setup-times -->\n<!-- /render -->\n")
    render.render(tmp_path)
    text = (tmp_path / "README.md").read_text()
    assert "| `./dev test` | 5.0 min |" in text
    assert "| in all (`.ci/run`) | 7.5 min |" in text
    assert "on Test CPU (family 25 model 17, AVX-512), " in text


def _slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def _anchors(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def broken_links(page):
    """What of the page's relative links leads nowhere: a missing file or heading."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:: not the project's
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{page.name}: {target}: no {path}")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            problems.append(f"{page.name}: {target}: {file.name} has no heading #{anchor}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_every_link_between_pages_lands_on_a_file_and_heading(page):
    problems = broken_links(page)
    assert not problems, "\n".join(problems)


def test_a_link_to_a_missing_page_or_heading_is_caught(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## The gate\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#the-gate) [top](#title) [web](https://example.org/x#y)\n"
        "[gone](missing.md) [stale](other.md#the-compare)\n# Title\n"
    )
    assert broken_links(page) == [
        "page.md: missing.md: no missing.md",
        "page.md: other.md#the-compare: other.md has no heading #the-compare",
    ]


def test_the_link_checker_knows_githubs_anchors():
    assert _slug("JAX's dispatches") == "jaxs-dispatches"
    assert _slug('The limit: what the CPU allows, and "% of limit"') == (
        "the-limit-what-the-cpu-allows-and--of-limit"
    )
    assert _slug("`nbody-bench try`: your own derivative") == "nbody-bench-try-your-own-derivative"
