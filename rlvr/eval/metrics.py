"""Pure metrics of sampled responses.

Unbiased Pass@k (Chen et al. 2021): with n samples of which c are correct,
    pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1..n} (1 - k/i),   1.0 when n - c < k,
computed as the product (no huge binomials, no cancellation).
"""

from __future__ import annotations

from collections.abc import Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one problem with `c` correct out of `n` samples (the product form above)."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def pass_at_k_curve(
    correct_counts: Sequence[int], n: int, ks: Sequence[int] | None = None
) -> dict[int, float]:
    """Mean over problems of pass@k, for k in `ks` (default 1..n). `correct_counts[j]` = c of problem j."""
    if not correct_counts:
        raise ValueError("no problems to evaluate")
    ks = list(ks) if ks is not None else list(range(1, n + 1))
    return {k: sum(pass_at_k(n, c, k) for c in correct_counts) / len(correct_counts) for k in ks}


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams of whitespace tokens in `texts` (1.0: no n-gram repeats)."""
    total, seen = 0, set()
    for t in texts:
        words = t.split()
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def distinct_correct(texts: Sequence[str], correct: Sequence[bool]) -> int:
    """How many different correct responses (whitespace-normalized) a problem got: its solution diversity."""
    return len({" ".join(t.split()) for t, ok in zip(texts, correct, strict=True) if ok})
