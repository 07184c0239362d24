"""The Cython backend (`_nbody.pyx`, compiled by the meson build)."""

from .._boundary import Kernel
from ..errors import BackendUnavailable

try:
    from ._nbody import KERNEL_CAPSULE, derivatives, integrate
except ImportError as exc:
    raise BackendUnavailable(
        f"the Cython extension kernels.cy._nbody is not built ({exc}); fix: reinstall the "
        "project so meson compiles it: pip install --no-build-isolation -e ."
    ) from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)
KERNEL = Kernel(KERNEL_CAPSULE)  # the derivative as a C function, for the checked call

__all__ = ["COMPILED", "KERNEL", "derivatives", "integrate"]
