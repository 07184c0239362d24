"""The lecture as a notebook (notebooks/lecture.py), executed start to end at a reduced size."""

import importlib.util
import re
from pathlib import Path

import pytest

import kernels
from nbody_bench import notebook
from nbody_bench.lecture import CLAIMS as LECTURE_CLAIMS

MISSING = [m for m in ("jupytext", "nbclient", "ipykernel") if importlib.util.find_spec(m) is None]
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not installed; fix: pip install '.[notebook]'",
)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebook") / "lecture.ipynb"
    notebook.execute(out, quick=True)  # raises CellExecutionError, naming the cell, on error
    return out


def outputs(path):
    import nbformat

    cells = nbformat.read(path, as_version=4).cells
    found = []
    for cell in cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", output
            data = output.get("data", {})
            found.append(
                output.get("text", "")
                + data.get("text/markdown", "")
                + data.get("text/html", "")
                + data.get("text/plain", "")
            )
    return "\n".join(found)


def test_it_profiles_the_lecture_loop(executed):
    text = outputs(executed)
    assert re.search(r"ncalls\s+tottime", text)  # %prun's table
    assert "python.py:" in text  # the project's own kernel, by its file
    assert "(norm)" in text  # the lecture's hot spot


def test_it_shows_each_step_from_the_project_files(executed):
    text = outputs(executed)
    assert "def block_accelerations(rows, pos, mass, first" in text  # kernels/numpy.py
    assert "subroutine pair_accelerations" in text  # kernels/fortran/nbody.f90


def test_the_animation_is_inline_javascript(executed):
    assert 'class="animation"' in outputs(executed)  # matplotlib's to_jshtml, no ffmpeg


def test_cythons_annotation_shows_why_the_first_attempt_is_slow(executed):
    text = outputs(executed)
    found = re.search(
        r"The first attempt: \*\*(\d+) of (\d+)\*\*.*in its pair loop .*: \*\*(\d+)\*\*", text
    )
    assert found, "the annotation summary is missing"
    first_yellow, first_lines, in_pair_loop = map(int, found.groups())
    assert first_yellow >= first_lines // 2
    assert in_pair_loop == 0
    assert 'class="cython line score-' in text


def test_it_ends_on_every_backend_with_its_speedup(executed):
    text = outputs(executed)
    table = text[text.rindex("| backend | run | speedup over the lecture's loop") :]
    for name in kernels.available():
        if name != "dask":
            assert f"| {name} |" in table, name
    # Each of the lecture's claims beside its backend, as nbody_bench.trial holds them.
    for name, claim in LECTURE_CLAIMS.items():
        if name in kernels.available():
            (row,) = [line for line in table.splitlines() if line.startswith(f"| {name} |")]
            cells = [cell.strip() for cell in row.split("|")]
            assert cells[4] == f"about {claim}x", row  # the table's last column


def test_annotate_counts_only_lines_of_code():
    _, yellow, lines = notebook.annotate("notebooks/cython_first_attempt.pyx")
    source = (notebook.ROOT / "notebooks" / "cython_first_attempt.pyx").read_text().splitlines()
    assert lines == sum(1 for s in source if s.strip() and not s.strip().startswith("#"))
    assert all(source[k - 1].strip() and not source[k - 1].lstrip().startswith("#") for k in yellow)
    loop = notebook.lines_of("kernels/cy/_nbody.pyx", "pair_accelerations")
    typed = (notebook.ROOT / "kernels" / "cy" / "_nbody.pyx").read_text().splitlines()
    assert "pair_accelerations(" in typed[loop.start - 1]
    assert typed[loop.stop - 1].startswith(("cdef", "def", "KERNEL"))


def test_the_notebooks_files_are_found_beside_it_without_the_source_tree(monkeypatch, tmp_path):
    """As from a plain install (the module in site-packages, no notebooks/ beside it), with
    Jupyter's kernel in notebooks/: every file a cell names is found from there."""
    monkeypatch.setattr(notebook, "NOTEBOOK", tmp_path / "site-packages" / "lecture.py")
    folder = Path(__file__).resolve().parents[1] / "notebooks"
    monkeypatch.chdir(folder)
    cells = (folder / "lecture.py").read_text()
    named = re.findall(r'notebook\.(?:annotate|source_of|lines_of)\("([^"]+)"', cells)
    assert len(named) >= 4, named
    for name in named:
        assert notebook._here(name).is_file(), name
    assert notebook.find_notebook() == folder / "lecture.py"
    with pytest.raises(FileNotFoundError, match=r"open notebooks/lecture\.py from a clone"):
        notebook._here("kernels/no_such_kernel.pyx")
    monkeypatch.chdir(tmp_path)
    assert notebook.find_notebook() is None
