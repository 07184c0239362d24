"""The C reference kernel (`nbody.c`): the suite's yardstick for "the hardware limit"."""

from ..errors import BackendUnavailable

try:
    from ._reference import derivatives
except ImportError as exc:
    raise BackendUnavailable(
        f"the C extension kernels.c._reference is not built ({exc}); fix: reinstall the "
        "project so meson compiles it (./dev test does)"
    ) from exc

__all__ = ["derivatives"]
