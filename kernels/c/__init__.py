"""The C reference kernel (`nbody.c`): the plain pair loop as gcc compiles it, the suite's
yardstick for how well each tool compiles the same loop ("% of ref")."""

from ..errors import BackendUnavailable

try:
    from ._reference import derivatives, integrate
except ImportError as exc:
    raise BackendUnavailable(
        f"the C extension kernels.c._reference is not built ({exc}); fix: reinstall the "
        "project so meson compiles it (./dev test does)"
    ) from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)

__all__ = ["COMPILED", "derivatives", "integrate"]
