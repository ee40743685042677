"""Bootstrap confidence intervals over problems: pure numpy functions, no I/O.

What varies between two evaluations of the same model is which problems were drawn and which
samples came out; the percentile bootstrap resamples *problems* with replacement (each problem
keeps all its samples), recomputes the mean over problems of a per-problem value (pass@k,
distinct correct answers, greedy correctness), and reports the 2.5% and 97.5% quantiles of those
B replicate means. A paired comparison of two models on the same problems bootstraps the
per-problem *difference*, so the problem-to-problem variation the two share cancels.

Replicate means are one matrix product: resampling P problems B times is a (B, P) matrix of
counts (how often each problem was drawn), and the replicate means are counts @ values / P.
"""

from __future__ import annotations

import numpy as np

DEFAULT_RESAMPLES = 2000
DEFAULT_LEVEL = 0.95


def resample_indices(num_problems: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, num_problems) problem indices drawn uniformly with replacement; row b is resample b."""
    if num_problems < 1:
        raise ValueError("bootstrap needs at least one problem")
    if resamples < 1:
        raise ValueError(f"bootstrap resamples={resamples}: need at least 1")
    return np.random.default_rng(seed).integers(0, num_problems, size=(resamples, num_problems))


def bootstrap_means(values: np.ndarray, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Replicate means over problems.

    values: (P,) or (P, M) per-problem values (M metrics, e.g. pass@k for k = 1..n).
    Returns (resamples,) or (resamples, M): row b = mean of `values` over the problems of resample b
    (the resamples of `resample_indices(P, resamples, seed)`).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim not in (1, 2):
        raise ValueError(f"values must be (problems,) or (problems, metrics), got shape {values.shape}")
    p = values.shape[0]
    idx = resample_indices(p, resamples, seed)
    # counts[b, j] = how many times problem j is in resample b (bincount of row-offset indices).
    offsets = idx + (np.arange(resamples) * p)[:, None]
    counts = np.bincount(offsets.ravel(), minlength=resamples * p).reshape(resamples, p)
    return counts @ values / p


def bootstrap_ci(
    values: np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean over problems: (low, high), each shaped like values[0].

    values: (P,) or (P, M) per-problem values. A constant column gives low == high == the constant.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level={level}: choose 0 < level < 1 (e.g. 0.95)")
    means = bootstrap_means(values, resamples=resamples, seed=seed)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail], axis=0)
    # Quantile interpolation can land a hair outside a constant's value; the interval of a
    # constant must be that point exactly, and an interval never leaves the replicates' range.
    return np.clip(low, means.min(axis=0), means.max(axis=0)), np.clip(
        high, means.min(axis=0), means.max(axis=0)
    )


def paired_difference_ci(
    a: np.ndarray,
    b: np.ndarray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean difference a - b over problems and its paired bootstrap interval: (diff, low, high).

    a, b: (P,) or (P, M) per-problem values of two models on the same problems, row j = problem j
    in both (pair by problem id before calling).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(
            f"paired values must have one shape (same problems, same metrics): {a.shape} vs {b.shape}"
        )
    d = a - b
    low, high = bootstrap_ci(d, resamples=resamples, level=level, seed=seed)
    return d.mean(axis=0), low, high


def pass_at_k_matrix(counts: np.ndarray, n: int) -> np.ndarray:
    """Per-problem unbiased pass@k for k = 1..n: (P, n), column k-1 = pass@k.

    With c correct of n, pass@k = 1 - prod_{i=n-c+1..n} (1 - k/i) (rlvr.eval.metrics.pass_at_k).
    The product over the top c values of i is a cumulative product from i = n downward; once it
    includes i = k (n - c < k) a factor is 0, so the 1.0 case needs no special branch.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if n < 1:
        raise ValueError(f"n={n}: need at least one sample per problem")
    if counts.size and (counts.min() < 0 or counts.max() > n):
        raise ValueError(f"correct counts must lie in 0..n={n}, got {counts.min()}..{counts.max()}")
    k = np.arange(1, n + 1, dtype=np.float64)[None, :]  # (1, n)
    i = np.arange(n, 0, -1, dtype=np.float64)[:, None]  # (n, 1): n, n-1, ..., 1
    prods = np.cumprod(1.0 - k / i, axis=0)  # row c-1: prod over the top c values of i
    table = 1.0 - np.vstack([np.ones((1, n)), prods])  # (n+1, n): row c = pass@k of c correct
    return table[counts]
