"""Pass@k against its combinatorial definition; diversity metrics on hand-made cases."""

from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr.eval.metrics import distinct_correct, distinct_n, pass_at_k, pass_at_k_curve


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_the_binomial_definition(nck):
    n, c, k = nck
    exact = 1.0 - comb(n - c, k) / comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_edge_cases():
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 1) == 1.0
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1)
    assert pass_at_k(10, 3, 8) == 1.0  # n - c = 7 < 8: every 8-subset contains a correct sample
    assert pass_at_k(256, 1, 256) == 1.0
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_large_n_is_stable():
    # C(256, 128) overflows float; the product form does not.
    assert 0.0 < pass_at_k(256, 2, 128) < 1.0
    assert pass_at_k(256, 2, 128) == pytest.approx(1 - (128 * 127) / (256 * 255))


def test_curve_is_monotone_mean_over_problems():
    curve = pass_at_k_curve([0, 1, 4, 8], n=8)
    assert list(curve) == list(range(1, 9))
    assert curve[1] == pytest.approx((0 + 1 / 8 + 4 / 8 + 1) / 4)
    assert all(curve[k] <= curve[k + 1] + 1e-12 for k in range(1, 8))
    assert curve[8] == pytest.approx(3 / 4)


def test_distinct_n_and_distinct_correct():
    assert distinct_n(["a b c", "a b d"], 1) == pytest.approx(4 / 6)
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)
    assert distinct_n(["a"], 2) == 0.0
    assert distinct_correct(["x = 1", "x  = 1", "y = 1", "z"], [True, True, True, False]) == 2
