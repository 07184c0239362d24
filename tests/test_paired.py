"""nbody_bench.paired: the median's distribution-free interval and the alternation order."""

import pytest

from nbody_bench.paired import Paired, alternate, median_interval


def test_interval_is_the_sign_tests_order_statistics():
    # n = 25 at 95%: P(Binomial(25, 1/2) <= 7) = 0.0216, P(<= 8) = 0.0539, so k = 8.
    values = [float(v) for v in range(100, 125)]
    interval = median_interval(reversed(values))
    assert interval.median == 112.0
    assert (interval.low, interval.high) == (107.0, 117.0)
    assert median_interval(values, confidence=0.5).low > interval.low  # narrower


def test_interval_needs_enough_pairs():
    assert median_interval([1.0, 2, 3, 4, 5, 6]).low == 1.0  # 6: 1 - 2/64 = 0.969
    with pytest.raises(ValueError, match="5 pairs cannot give a 95% interval"):
        median_interval([1.0, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
        median_interval([1.0] * 10, confidence=1)


def test_ratio_and_difference_are_pairwise():
    paired = Paired(a=[1.0] * 5 + [2.0] * 5, b=[1.1] * 5 + [2.2] * 5)
    assert paired.ratio().median == pytest.approx(1.1)
    assert paired.ratio().low == pytest.approx(1.1)  # pairs cancel what moves both sides
    assert paired.difference().median == pytest.approx(0.15)


def test_alternate_runs_the_pairs_as_ab_ba_and_keeps_each_side_apart():
    calls = []

    def side(name):
        return lambda: calls.append(name)

    result = alternate(side("a"), side("b"), pairs=4, block_seconds=1e-12)  # a call a block
    assert len(result.a) == len(result.b) == 4
    assert all(t >= 0 for t in result.a + result.b)
    # One calibrating call each, then the pairs: a b, b a, a b, b a.
    assert "".join(calls) == "ab" + "abbaabba"
