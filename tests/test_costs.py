"""nbody-bench costs: lines of kernel code counted without comments or docstrings, build
seconds from the ninja log, and the fresh-process probe."""

import pytest

from nbody_bench import costs


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("k.py", '"""Doc\nstring."""\n# note\nx = 1 # why\ndef f():\n    """D."""\n    y = 2\n', 3),
        ("k.pyx", "cdef double x = 1.0\n# note\ncdef int n\n", 2),
        ("k.c", "/* a\n * block */\nint x; /* tail */\n\n// line\nint y = 1 /* mid */ + 2;\n", 2),
        ("k.f90", "! comment\nsubroutine s()\n  x = 1 ! why\nend subroutine s\n", 3),
    ],
)  # fmt: skip
def test_kernel_lines_count_code_only(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    assert costs.kernel_lines(path) == expected


def test_every_backend_has_its_kernel_files():
    import kernels

    assert set(costs.KERNEL_FILES) == set(kernels.BACKENDS)
    for name, files in costs.KERNEL_FILES.items():
        for file in files:
            assert (costs.ROOT / file).is_file(), f"{name}: {file} is not in kernels/"


def test_build_seconds_per_backend_from_the_ninja_log(tmp_path):
    (tmp_path / ".ninja_log").write_text(
        "# ninja log v5\n"
        "0\t1500\t0\tkernels/c/_reference.cpython-311.so.p/nbody.c.o\t1\n"
        "0\t500\t0\tkernels/c/_reference.cpython-311.so\t2\n"
        "100\t4100\t0\tkernels/pythran/_kernel.cpp\t3\n"
        "0\t9000\t0\tkernels/c/_reference.cpython-311.so\t4\n"  # rebuilt: the latest counts
        "0\t700\t0\tkernels/_boundary.cpython-311.so\t5\n"
        "0\t300\t0\tbuild.ninja\t6\n"
    )
    assert costs.build_seconds(tmp_path) == {"c-reference": 10.5, "pythran": 4.0, "boundary": 0.7}


def test_the_probe_reports_first_result_and_peak_memory():
    shown = costs.probe("c-reference", 500)
    assert 0 < shown["first"] < 60
    assert shown["peak"] >= 0


def test_a_failing_probe_shows_the_child_error():
    with pytest.raises(RuntimeError, match="UnknownBackend"):
        costs.probe("no-such-backend", 0)


def test_the_table_has_a_row_per_backend_and_its_speedups():
    table = costs.format_costs(
        [costs.Cost("numba", first=2.0, first_warm=0.5, lines=40, peak=2**20),
         costs.Cost("python", first=0.1, lines=12, note="memory not measured")],
        speedups={"numba": (480.0, 90.0)},
    )  # fmt: skip
    assert "| numba | 2.00 s (0.50 s cached) | - | 40 | 1.0 MB | 480.0x | 90.0x |" in table
    assert "| python | 0.10 s | - | 12 | - | - | - |" in table
    assert "- python: memory not measured" in table
