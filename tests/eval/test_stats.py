"""Bootstrap intervals over problems: against brute force, closed-form coverage, and the edge cases."""

import itertools
import math

import numpy as np
import pytest

from rlvr.eval.metrics import pass_at_k
from rlvr.eval.stats import (
    bootstrap_ci,
    bootstrap_means,
    paired_difference_ci,
    pass_at_k_matrix,
    resample_indices,
)


def test_pass_at_k_matrix_equals_the_scalar_definition():
    for n in (1, 2, 7, 32):
        counts = np.arange(n + 1)
        m = pass_at_k_matrix(counts, n)
        assert m.shape == (n + 1, n)
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert m[c, k - 1] == pytest.approx(pass_at_k(n, c, k), abs=1e-12)
    with pytest.raises(ValueError, match="0..n=4"):
        pass_at_k_matrix([5], 4)


def test_replicate_means_match_a_loop_over_the_same_resamples():
    rng = np.random.default_rng(3)
    values = rng.random((7, 3))
    fast = bootstrap_means(values, resamples=50, seed=11)
    idx = resample_indices(7, 50, seed=11)
    slow = np.array([[np.mean([values[j, m] for j in row]) for m in range(3)] for row in idx])
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_replicates_follow_the_exact_bootstrap_distribution():
    # Three problems: the 27 equally likely resamples give the exact bootstrap law of the mean.
    values = np.array([0.0, 1.0, 5.0])
    exact = [np.mean(values[list(r)]) for r in itertools.product(range(3), repeat=3)]
    means = bootstrap_means(values, resamples=40_000, seed=0)
    for v in sorted(set(np.round(exact, 9))):
        p_exact = np.mean(np.isclose(exact, v))
        p_mc = np.mean(np.isclose(means, v))
        assert p_mc == pytest.approx(p_exact, abs=0.01), v


def test_interval_of_a_constant_is_that_point():
    lo, hi = bootstrap_ci(np.full((40, 2), 0.375))
    np.testing.assert_array_equal(lo, [0.375, 0.375])
    np.testing.assert_array_equal(hi, [0.375, 0.375])


def test_same_seed_same_interval_other_seed_other_interval():
    values = np.random.default_rng(0).random(30)
    assert bootstrap_ci(values, seed=5) == bootstrap_ci(values, seed=5)
    assert bootstrap_ci(values, seed=5) != bootstrap_ci(values, seed=6)


def test_interval_contains_the_mean_and_narrows_with_more_problems():
    rng = np.random.default_rng(1)
    small, large = rng.random(25), rng.random(2500)
    lo, hi = bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = bootstrap_ci(large)
    # Width shrinks like 1/sqrt(P): 100x the problems, about a tenth of the width.
    assert 0.05 < (hi2 - lo2) / (hi - lo) < 0.2


def _beta_pass_at_k(a: float, b: float, k: int) -> float:
    """E[1 - (1 - p)^k] for p ~ Beta(a, b) = 1 - B(a, b + k) / B(a, b)."""
    log_ratio = math.lgamma(b + k) + math.lgamma(a + b) - math.lgamma(b) - math.lgamma(a + b + k)
    return 1.0 - math.exp(log_ratio)


def test_coverage_of_pass_at_k_on_a_synthetic_population_is_near_95_percent():
    # Problems with difficulty p ~ Beta(0.5, 1.5), n = 16 samples each; the unbiased estimator's
    # population value is the closed form above. 400 simulated evaluations of 100 problems.
    rng = np.random.default_rng(2026)
    n, ks, a, b = 16, np.array([1, 4, 16]), 0.5, 1.5
    truth = np.array([_beta_pass_at_k(a, b, int(k)) for k in ks])
    trials, covered = 400, np.zeros(len(ks))
    for t in range(trials):
        counts = rng.binomial(n, rng.beta(a, b, size=100))
        values = pass_at_k_matrix(counts, n)[:, ks - 1]
        lo, hi = bootstrap_ci(values, resamples=1000, seed=t)
        covered += (lo <= truth) & (truth <= hi)
    coverage = covered / trials
    # Binomial noise of 400 trials is about 0.011; the percentile bootstrap runs slightly narrow.
    assert np.all(coverage > 0.90) and np.all(coverage < 0.985), coverage


def test_paired_difference_cancels_shared_problem_difficulty():
    rng = np.random.default_rng(4)
    difficulty = rng.random(200)  # problems vary a lot; both models share that variation
    a = difficulty + 0.02 + rng.normal(0, 0.01, 200)
    b = difficulty
    diff, lo, hi = paired_difference_ci(a, b)
    assert diff == pytest.approx(np.mean(a - b))
    assert lo > 0  # the paired interval finds the small improvement...
    ulo_a, uhi_a = bootstrap_ci(a)
    assert (hi - lo) < 0.2 * (uhi_a - ulo_a)  # ...an interval on either model alone is far wider
    d, lo, hi = paired_difference_ci(b + 0.1, b)
    assert d == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)
    with pytest.raises(ValueError, match="same problems"):
        paired_difference_ci(a[:10], b[:11])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="at least one problem"):
        bootstrap_ci(np.array([]))
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci(np.ones(3), level=95)
