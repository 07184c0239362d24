"""nbody_bench.formatting: how a measured figure is written, wherever the project prints it."""

import pytest

from nbody_bench import formatting


@pytest.mark.parametrize(
    ("seconds", "digits", "written"),
    [(3.5912, 4, "3.591 s"), (0.04189, 4, "41.89 ms"), (7.26e-4, 3, "726 us"),
     (3e-8, 4, "30 ns"), (1.0, 4, "1 s"), (0.0, 4, "0 ns")],
)  # fmt: skip
def test_a_time_is_written_in_the_largest_unit_it_reaches(seconds, digits, written):
    assert formatting.duration(seconds, digits) == written


def test_a_difference_always_shows_its_sign():
    assert formatting.signed_duration(1.8e-7) == "+180 ns"
    assert formatting.signed_duration(-2.634e-6) == "-2.634 us"


@pytest.mark.parametrize(
    ("ratio", "digits", "written"),
    [(0.731, 2, "0.73x"), (85.7, 2, "86x"), (85.7, 3, "85.7x"), (99.4, 2, "99x"),
     (100.0, 2, "100x"), (2786.2, 2, "2,786x"), (20260.0, 3, "20,260x")],
)  # fmt: skip
def test_a_speedup_is_whole_from_100_on(ratio, digits, written):
    assert formatting.speedup(ratio, digits) == written


@pytest.mark.parametrize(
    ("fraction", "written"), [(1.06, "106%"), (0.1, "10%"), (0.018, "1.8%"), (9.3e-5, "0.0093%")]
)
def test_a_percentage_is_whole_from_ten_on(fraction, written):
    assert formatting.percent(fraction) == written
