"""The Cython backend (`_nbody.pyx`, compiled by the meson build)."""

from ..errors import BackendUnavailable

try:
    from ._nbody import derivatives, integrate
except ImportError as exc:
    raise BackendUnavailable(
        f"the Cython extension kernels.cy._nbody is not built ({exc}); fix: reinstall the "
        "project so meson compiles it: pip install --no-build-isolation -e ."
    ) from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)

__all__ = ["COMPILED", "derivatives", "integrate"]
