"""Fixtures shared by tests/ and bench/: one parametrization over every backend."""

import pytest

import kernels
import kernels.registry


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="append",
        choices=kernels.names(),
        help="run only the tests and benchmarks of this backend (repeatable); default: all",
    )


def pytest_collection_modifyitems(config, items):
    chosen = config.getoption("--backend")
    if not chosen:
        return
    keep, drop = [], []
    for item in items:
        spec = getattr(item, "callspec", None)
        name = spec.params.get("backend") if spec else None
        (drop if name is not None and name not in chosen else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    lines = [f"kernels: {kernels.__file__}"]
    for name in kernels.names():
        try:
            kernels.get(name)
            lines.append(f"  backend {name}: available")
        except kernels.PluginError as exc:
            lines.append(f"  backend {name}: FAILS, {exc}")
        except kernels.BackendUnavailable as exc:
            lines.append(f"  backend {name}: SKIPPED, {exc}")
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


@pytest.fixture(params=kernels.names())
def backend(request):
    """Each backend by name, skipped (with the reason) where it cannot run here."""
    try:
        kernels.get(request.param)
    except kernels.BackendUnavailable as exc:
        pytest.skip(str(exc))
    return request.param
