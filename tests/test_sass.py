"""The count of one pair's GPU instructions (nbody_bench.sass), on SASS listings of the
form nvdisasm prints; and, where numba-cuda and NVIDIA's compiler wheels are installed
(`./dev sass`), on the backend's own kernels compiled for an H200."""

import importlib.util

import pytest

from nbody_bench import sass

LISTING = """
        .text._Z3onePdS_:
        /*0000*/                   LDC R1, c[0x0][0x28] ;               /* 0x00000a00ff017b82 */
        /*0010*/                   DADD R2, R2, -R4 ;                    /* 0x0000000402027229 */
        /*0020*/              @!P0 BRA `(.L_x_0) ;                       /* 0x0000000000008947 */
        /*0030*/                   DFMA R8, R6, R6, R8 ;                 /* 0x000000060608722b */
        /*0040*/                   MUFU.RSQ64H R11, R9 ;                 /* 0x00000009000b7308 */
        /*0050*/                   DMUL R12, R10, R10 ;                  /* 0x0000000a0a0c7228 */
        /*0060*/               @P1 DSETP.NEU.AND P0, PT, R8, RZ, PT ;    /* 0x000000ff0800722a */
        /*0070*/                   CALL.REL.NOINC `($__internal_slowpath) ;
        /*0080*/                   DFMA R4, R10, R16.reuse, R4 ;         /* 0x000000100a04722b */
        /*0090*/                   EXIT ;                                /* 0x000000000000794d */
        /*00a0*/                   DMUL R8, R8, 1.80143985094819840000e+16 ;
        /*00b0*/                   MUFU.RSQ64H R11, R9 ;
        /*00c0*/                   RET.REL.NODEC R8 `(_Z3onePdS_) ;
"""


def test_the_count_takes_the_path_to_the_first_exit_and_leaves_the_slow_paths_out():
    found = sass.count("rsqrt", LISTING)
    assert found.opcodes == {"DADD": 1, "DFMA": 2, "MUFU": 1, "DMUL": 1, "DSETP": 1}
    assert found.fp64 == 5  # DADD, DFMA x2, DMUL, DSETP: the slow path's DMUL is not
    assert found.special == 1
    assert found.bound == pytest.approx(20 / 10)
    assert found.listing.splitlines()[0] == "LDC R1, c[0x0][0x28]"
    assert found.listing.splitlines()[-1] == "EXIT"


def test_a_listing_without_a_kernel_is_an_error():
    with pytest.raises(sass.SassError, match="no EXIT"):
        sass.count("rsqrt", "nvdisasm: nothing here\n")


def test_a_missing_tool_names_the_wheel_that_has_it(monkeypatch):
    monkeypatch.setattr(sass.shutil, "which", lambda name: None)
    monkeypatch.setattr(sass.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(sass.SassError, match="pip install nvidia-cuda-nvcc nvidia-cuda-nvdisasm"):
        sass.tool("ptxas")


def test_a_compiler_that_cannot_load_is_named_with_the_fix(monkeypatch, capsys):
    class Cuda:
        @staticmethod
        def compile_ptx(*args, **kwargs):
            raise RuntimeError("Failed to dlopen libnvrtc.so.13")

    monkeypatch.setattr(sass, "probe", lambda pair: (Cuda, None, None))
    assert sass.main([]) == 2
    err = capsys.readouterr().err
    assert "numba-cuda cannot compile to PTX here (RuntimeError: Failed to dlopen" in err
    assert "pinned in .ci/cuda13.txt" in err


def test_a_bad_compute_capability_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        sass.main(["--cc", "sm90"])
    assert exited.value.code == 2
    assert "argument --cc: 'sm90': give MAJOR.MINOR" in capsys.readouterr().err


def test_the_backends_own_pair_on_an_h200():
    """One pair of each form, compiled: the rsqrt form takes fewer FP64 instructions than
    the square root and division, and the default is the cheaper one."""
    try:
        for name in ("ptxas", "nvdisasm"):
            sass.tool(name)
    except sass.SassError as exc:
        pytest.skip(f"no CUDA compiler here: {exc}")
    if importlib.util.find_spec("numba.cuda") is None:
        pytest.skip("numba-cuda is not installed")
    from kernels._cuda_device import PAIR

    rsqrt = sass.count("rsqrt", sass.sass_of("rsqrt", (9, 0)))
    divide = sass.count("divide", sass.sass_of("divide", (9, 0)))
    assert rsqrt.fp64 < divide.fp64
    assert rsqrt.special == 1
    assert divide.special == 2
    assert PAIR == "rsqrt"
