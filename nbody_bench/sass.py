"""What one pair costs the `cuda` kernel, counted in the machine code a GPU runs (SASS).

The FP64 arithmetic of one pair interaction (`kernels._cuda_device`, each form of
`PAIRS`) is compiled for a GPU architecture without the GPU: numba-cuda to PTX, NVIDIA's
`ptxas` to a cubin, `nvdisasm` to SASS. What runs for a pair is the straight path from
the kernel's entry to its first EXIT: the slow paths that libdevice's square root,
reciprocal square root and division branch to for operands near the ends of the float64
range are calls that a pair of bodies at ordinary distances never takes. Counted there:
the instructions of the FP64 pipe (DADD, DMUL, DFMA, DSETP) and of the special-function
unit (MUFU: the hardware's 32-bit approximations that libdevice refines).

A GPU whose multiprocessors issue F FP64 fused multiply-adds a clock has a peak of 2F
flops a clock, one instruction of the FP64 pipe each cycle a slot. At I FP64 instructions
a pair, and the 20 flops a pair interaction counts for (GPU Gems 3, ch. 31), the kernel can
reach at most 20 / (2 I) of that peak, whatever else it does right.

    python -m nbody_bench.sass [--cc 9.0] [--show]

Needs numba-cuda and the CUDA compiler's wheels (no GPU): `./dev sass` installs them.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .results import FLOPS_PER_INTERACTION

FP64_PIPE = ("DADD", "DMUL", "DFMA", "DSETP")
SPECIAL = ("MUFU",)
# One instruction of the SASS listing: its address comment, an optional predicate, the
# opcode (with its modifiers) and the operands.
LINE = re.compile(r"/\*(?P<address>[0-9a-f]{4,})\*/\s+(?P<guard>@!?U?P\w+\s+)?(?P<op>[A-Z0-9_.]+)")


class SassError(RuntimeError):
    """A tool the count needs is missing or failed; the message says which and the fix."""


@dataclass(frozen=True)
class Count:
    pair: str
    opcodes: dict  # opcode (without modifiers) -> instructions on the path, FP64 and MUFU
    listing: str  # the path's SASS, one instruction a line

    @property
    def fp64(self):
        return sum(self.opcodes.get(op, 0) for op in FP64_PIPE)

    @property
    def special(self):
        return sum(self.opcodes.get(op, 0) for op in SPECIAL)

    @property
    def bound(self):
        """The most of the FP64 peak this pair's arithmetic allows, by the 20-flop count."""
        return FLOPS_PER_INTERACTION / (2 * self.fp64)


def fast_path(sass):
    """The instructions of a SASS listing from its first to its first EXIT, as
    (opcode, text) with the opcode's modifiers dropped."""
    path = []
    for line in sass.splitlines():
        found = LINE.search(line)
        if not found:
            continue
        op = found["op"].split(".")[0]
        path.append((op, line.split("*/", 1)[1].split(";")[0].strip()))
        if op == "EXIT":
            return path
    raise SassError("no EXIT in the SASS listing: not one kernel's code")


def count(pair, sass):
    path = fast_path(sass)
    opcodes = {}
    for op, _ in path:
        if op in FP64_PIPE or op in SPECIAL:
            opcodes[op] = opcodes.get(op, 0) + 1
    return Count(pair, opcodes, "\n".join(text for _, text in path))


def probe(pair):
    """A kernel of one pair's pull, added into running sums as the tiled kernel adds it,
    from the backend's own device function for `pair`: a pair of a tile that does not hold
    the body, with no test for the body's own term (only the tile that holds it tests)."""
    from numba import cuda

    from kernels._cuda_device import TILE, kernels_for

    pull = kernels_for(TILE, pair)[-1]

    def one_pair(p, m, a):
        ax, ay, az = a[0], a[1], a[2]
        fx, fy, fz = pull(p[0, 0], p[1, 0], p[2, 0], p[0], p[1], p[2], m, 1)
        a[0] = ax + fx
        a[1] = ay + fy
        a[2] = az + fz

    return cuda, one_pair, "void(float64[:, :], float64[:], float64[:])"


def tool(name):
    """The path of a CUDA tool: on PATH, or in NVIDIA's wheels (nvidia-cuda-nvcc,
    nvidia-cuda-nvdisasm)."""
    found = shutil.which(name)
    if found:
        return found
    spec = importlib.util.find_spec("nvidia")
    for root in spec.submodule_search_locations if spec else ():
        for candidate in sorted(Path(root).glob(f"*/bin/{name}")):
            return str(candidate)
    raise SassError(
        f"{name} not found on PATH or in NVIDIA's wheels; fix: pip install "
        "nvidia-cuda-nvcc nvidia-cuda-nvdisasm (or put the CUDA toolkit's bin/ on PATH)"
    )


def sass_of(pair, cc):
    """The SASS of the probe kernel for `pair`, compiled for compute capability `cc`."""
    try:
        cuda, kernel, signature = probe(pair)
    except ImportError as exc:
        raise SassError(f"numba-cuda is needed ({exc}); fix: pip install numba-cuda") from exc
    try:
        ptx, _ = cuda.compile_ptx(kernel, signature, cc=cc)
    except Exception as exc:  # NVVM or NVRTC missing or too old: numba-cuda's many errors
        first = " ".join(str(exc).split())[:300]
        raise SassError(
            f"numba-cuda cannot compile to PTX here ({type(exc).__name__}: {first}); fix: "
            "pip install the CUDA 13 wheels pinned in .ci/cuda13.txt (./dev sass does), or "
            "set CUDA_HOME to a CUDA toolkit"
        ) from exc
    arch = f"sm_{cc[0]}{cc[1]}"
    with tempfile.TemporaryDirectory() as folder:
        source, binary = Path(folder, "pair.ptx"), Path(folder, "pair.cubin")
        source.write_text(ptx)
        for command in (
            [tool("ptxas"), f"-arch={arch}", "-O3", str(source), "-o", str(binary)],
            [tool("nvdisasm"), "-c", str(binary)],
        ):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SassError(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout


def compute_capability(text):
    """--cc MAJOR.MINOR as a pair of ints."""
    try:
        cc = tuple(int(x) for x in text.split("."))
        if len(cc) != 2:
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give MAJOR.MINOR, as 9.0") from None
    return cc


def arguments(parser):
    """The options of `nbody-bench sass`."""
    parser.add_argument(
        "--cc",
        default=(9, 0),
        type=compute_capability,
        help="compute capability to compile for (default 9.0: H100, H200)",
    )
    parser.add_argument("--show", action="store_true", help="print each path's SASS too")


def command(args):
    """`nbody-bench sass`: exit status 0 counted, 2 the tools to compile with are missing."""
    cc = args.cc
    from kernels._cuda_device import PAIR, PAIRS

    print(f"One pair of the cuda kernel, compiled for sm_{cc[0]}{cc[1]} (no GPU needed):")
    try:
        counts = [count(pair, sass_of(pair, cc)) for pair in PAIRS]
    except SassError as exc:
        print(f"sass: {exc}", file=sys.stderr)
        return 2
    for c in counts:
        ops = ", ".join(f"{c.opcodes.get(op, 0)} {op}" for op in (*FP64_PIPE, *SPECIAL))
        default = " (the default)" if c.pair == PAIR else ""
        print(
            f"  {c.pair}{default}: {c.fp64} FP64 instructions a pair ({ops}): at most "
            f"{c.bound:.0%} of the FP64 peak by the {FLOPS_PER_INTERACTION}-flop count"
        )
        if args.show:
            print("    " + c.listing.replace("\n", "\n    "))
    return 0


def main(argv=None):
    """`nbody-bench sass` without the rest of the command (python -m nbody_bench.sass),
    for nox sessions that run it from the source tree, where `kernels` is not built."""
    parser = argparse.ArgumentParser(prog="nbody-bench sass", description=__doc__.split("\n\n")[0])
    arguments(parser)
    return command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
