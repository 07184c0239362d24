"""Pythran: the C reference's loops as plain Python (`_kernel.py`), compiled ahead of time
to C++ by `pythran -E` in the meson build. `lecture_accelerations` is the lecture's loop
compiled unchanged."""

import importlib.util
import shutil

from ..errors import BackendUnavailable

try:
    from ._kernel import derivatives, integrate, lecture_accelerations
except ImportError as exc:
    if importlib.util.find_spec("pythran") is None:
        why = "pythran was not installed when the project was built"
        fix = "pip install pythran, then reinstall the project (./dev test does both)"
    elif shutil.which("c++") is None and shutil.which("g++") is None:
        why = "no C++ compiler was found when the project was built"
        fix = "apt-get install g++ (as root), then rebuild: rm -rf build, and reinstall"
    else:
        why = f"the Pythran extension kernels.pythran._kernel was not built ({exc})"
        fix = "rebuild so meson finds pythran and a C++ compiler: rm -rf build, and reinstall"
    raise BackendUnavailable(f"{why}; fix: {fix}") from exc

COMPILED = True  # no NumPy arithmetic in the derivative (registry.Backend.compiled)

__all__ = ["COMPILED", "derivatives", "integrate", "lecture_accelerations"]
