"""Pythran: the C reference's loops as plain Python (`_kernel.py`), compiled ahead of time
to C++ by `pythran -E` in the meson build. `lecture_accelerations` is the lecture's loop
compiled unchanged."""

from ..errors import BackendUnavailable

try:
    from ._kernel import derivatives, integrate, lecture_accelerations
except ImportError as exc:
    raise BackendUnavailable(
        f"the Pythran extension kernels.pythran._kernel is not built ({exc}); fix: "
        "pip install pythran, then reinstall the project so meson compiles it "
        "(./dev test does both)"
    ) from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)

__all__ = ["COMPILED", "derivatives", "integrate", "lecture_accelerations"]
