"""Comparing result sets: bag semantics, ordered only when the gold query's outermost statement orders."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=4096)
def gold_is_ordered(gold_sql: str) -> bool:
    """True when the outermost statement has ORDER BY (decided by sqlglot's parse tree: an ORDER BY in
    a subquery or CTE does not order the result). Unparseable gold falls back to unordered."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(gold_sql, read="sqlite")
    except SqlglotError:
        return False
    return tree is not None and tree.args.get("order") is not None


def _norm(value: Any, digits: int) -> Any:
    # Floats agree when equal to `digits` significant digits (0.1+0.2 vs 0.3; SUM order effects).
    # 2 == 2.0 in Python (and hash alike), so INTEGER vs REAL results of equal value compare equal.
    if isinstance(value, float):
        if math.isnan(value):
            return ("nan",)
        if math.isinf(value):
            return value
        return float(f"{value:.{digits}g}")
    return value


def normalize(rows: Sequence[tuple], digits: int) -> list[tuple]:
    return [tuple(_norm(v, digits) for v in row) for row in rows]


def same_result(gold: Sequence[tuple], pred: Sequence[tuple], *, ordered: bool, float_digits: int) -> bool:
    """Rows compare as tuples (column order matters); as lists when `ordered`, else as multisets."""
    g, p = normalize(gold, float_digits), normalize(pred, float_digits)
    if ordered:
        return g == p
    return len(g) == len(p) and Counter(g) == Counter(p)
