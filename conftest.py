"""Fixtures shared by tests/ and bench/: one parametrization over every backend, which
backends must be here (nbody_bench.required), and the run's skips counted by reason."""

import re
from collections import Counter
from pathlib import Path

import pytest

import kernels
import kernels.registry
from kernels.traits import TWINS
from nbody_bench.required import required_backends, under_ci, why_required

_REQUIRED = pytest.StashKey[frozenset]()


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="append",
        choices=kernels.names(),
        help="run only the tests and benchmarks of this backend (repeatable), with, in bench/, "
        "the baselines it is measured against (python, and a parallel variant's serial "
        "twin); default: all",
    )
    parser.addoption(
        "--ci",
        action="store_true",
        help="fail, rather than skip, where a CPU backend (or, with a GPU, a GPU backend) is "
        "unavailable, as under CI=true (nbody_bench.required)",
    )


def pytest_configure(config):
    ci = config.getoption("--ci") or under_ci()
    config.stash[_REQUIRED] = required_backends(ci)


def required(config):
    """The backends that must be available in this run (none outside CI)."""
    return config.stash[_REQUIRED]


BENCH = Path(__file__).resolve().parent / "bench"


def baselines(chosen):
    """What the chosen backends' benchmarks are measured against, which --backend keeps in
    bench/: python (the speedup column) and each parallel variant's serial twin."""
    return {"python"} | {TWINS[name] for name in chosen if name in TWINS}


def pytest_collection_modifyitems(config, items):
    chosen = config.getoption("--backend")
    if not chosen:
        return
    timed = set(chosen) | baselines(chosen)
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        name = spec.params.get("backend") if spec else None
        wanted = timed if item.path.is_relative_to(BENCH) else chosen
        (drop if name is not None and name not in wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    must = required(config)
    lines = [f"kernels: {kernels.__file__}"]
    if must:
        lines.append(f"  required here (CI): {', '.join(n for n in kernels.names() if n in must)}")
    for name in kernels.names():
        try:
            kernels.get(name)
            lines.append(f"  backend {name}: available")
        except kernels.PluginError as exc:
            lines.append(f"  backend {name}: FAILS, {exc}")
        except kernels.BackendUnavailable as exc:
            lines.append(f"  backend {name}: {'FAILS' if name in must else 'SKIPPED'}, {exc}")
    lines += [f"  plugin problem: {problem}" for problem in kernels.registry.plugin_problems()]
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A plugin backend that cannot be loaded fails its tests, with its error (it was
    installed to be run), before any fixture is set up for them."""
    spec = getattr(item, "callspec", None)
    name = spec.params.get("backend") if spec else None
    if name is not None and name not in kernels.BACKENDS:
        try:
            kernels.get(name)
        except kernels.PluginError as exc:
            pytest.fail(str(exc), pytrace=False)


def need(config, name):
    """Backend `name`, or the test's end: a failure where it is required, else a skip, each
    with the backend's reason and fix."""
    try:
        return kernels.get(name)
    except kernels.BackendUnavailable as exc:
        if name in required(config):
            pytest.fail(f"{exc}\n{why_required(name)}", pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture
def needs(request):
    """`needs(name)`: backend `name` for a test that names it, skipped or (under CI) failed,
    with its reason, where it cannot be had."""
    return lambda name: need(request.config, name)


@pytest.fixture(params=kernels.names())
def backend(request):
    """Each backend by name, skipped (with the reason) where it cannot run here, and failing
    where it is required (under CI). A test can narrow the names with
    @pytest.mark.parametrize("backend", [...], indirect=True)."""
    need(request.config, request.param)
    return request.param


# -- the run's skips, one line per reason ------------------------------------------------

_PREFIX = re.compile(r"^Skipped: ")


def skip_reason(report):
    """A skipped report's reason, without its place or pytest's prefix."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return _PREFIX.sub("", reason).strip()


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    """Every skip is something this machine lacks (combinations that can run nowhere are not
    generated): the reasons, each with its count, so a backend lost shows as a new line."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if r.when != "teardown"]
    if not skipped:
        return
    counts = Counter(skip_reason(r) for r in skipped)
    terminalreporter.section(f"skips by reason ({len(skipped)} in all)")
    for reason, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        terminalreporter.write_line(f"{count:5d}  {reason}")
