"""The C reference kernel (`nbody.c`): the plain pair loop as gcc compiles it, the suite's
yardstick for how well each tool compiles the same loop ("% of ref")."""

from .._boundary import Kernel
from ..errors import BackendUnavailable

try:
    from ._reference import KERNEL_CAPSULE, derivatives, integrate
except ImportError as exc:
    raise BackendUnavailable(
        f"the C extension kernels.c._reference is not built ({exc}); fix: reinstall the "
        "project so meson compiles it (./dev test does)"
    ) from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)
KERNEL = Kernel(KERNEL_CAPSULE)  # the derivative as a C function, for the checked call

__all__ = ["COMPILED", "KERNEL", "derivatives", "integrate"]
