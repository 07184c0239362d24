"""Fixtures shared by tests/ and bench/: one parametrization over every backend."""

import pytest

import kernels


def pytest_report_header(config):
    lines = [f"kernels: {kernels.__file__}"]
    for name in kernels.BACKENDS:
        try:
            kernels.get(name)
            lines.append(f"  backend {name}: available")
        except kernels.BackendUnavailable as exc:
            lines.append(f"  backend {name}: SKIPPED, {exc}")
    return lines


@pytest.fixture(params=kernels.BACKENDS)
def backend(request):
    """Each backend by name, skipped (with the reason) where it cannot run here."""
    try:
        kernels.get(request.param)
    except kernels.BackendUnavailable as exc:
        pytest.skip(str(exc))
    return request.param
