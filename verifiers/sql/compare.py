"""Comparing result sets: bag semantics, ordered only when the gold query's first statement orders;
numbers with a tolerance that never merges two distinct integers.

Cell rules (`cells_match`):
  - two INTEGERs (Python ints) are equal only when identical: counts, ids and epoch seconds never
    merge, however large (1,512,345,675 != 1,512,345,678).
  - two numbers that both hold integral values (an int, or a float like 3.0 below 2**53, where every
    integer is exact) compare exactly too: `SUM(price)` 3.0 equals `COUNT(*)` 3, but 1700000000.0
    and 1700000001 stay apart.
  - any other pair of numbers matches when |a - b| <= max(rel_tol * max(|a|, |b|), abs_tol)
    (defaults 1e-11 and 1e-9): summation-order noise (about n * 1e-16 relative) and 0.1 + 0.2 pass,
    cents stay apart up to about 1e9 (1,512,345,678.87 vs .90 is 2e-11 relative), and an integer
    never matches a value half a unit away (math.isclose's 1e-9 would merge 1234567890 and .5).
  - NaN matches NaN; NULL matches NULL only; text and blobs compare exactly; text '1' is not 1.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

REL_TOL = 1e-11
ABS_TOL = 1e-9
_EXACT_FLOAT = 2.0**53  # below this, every integer is a float exactly; above it floats are rounded


def first_statement(sql: str):
    """sqlglot's tree of the first statement of `sql`, or None. A trailing `; -- note` parses as a
    Block of statements whose own args hold no ORDER BY, so the block must be opened."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    try:
        trees = sqlglot.parse(sql, read="sqlite")
    except SqlglotError:
        return None
    return next((t for t in trees if t is not None and t.key != "semicolon"), None)


@lru_cache(maxsize=4096)
def gold_is_ordered(gold_sql: str) -> bool:
    """True when the outermost select of the first statement has ORDER BY (sqlglot's parse tree: an
    ORDER BY in a subquery or CTE does not order the result). Unparseable gold falls back to unordered."""
    tree = first_statement(gold_sql)
    return tree is not None and tree.args.get("order") is not None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _integral(v: int | float) -> bool:
    return isinstance(v, int) or (v.is_integer() and abs(v) < _EXACT_FLOAT)


def cells_match(a: Any, b: Any, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> bool:
    if _is_number(a) and _is_number(b):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        if _integral(a) and _integral(b):
            return a == b  # Python compares int and float exactly
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= max(rel_tol * max(abs(a), abs(b)), abs_tol)
    if _is_number(a) or _is_number(b):
        return False
    return type(a) is type(b) and a == b


def rows_match(g: tuple, p: tuple, rel_tol: float, abs_tol: float) -> bool:
    return len(g) == len(p) and all(cells_match(a, b, rel_tol, abs_tol) for a, b in zip(g, p, strict=True))


def _shape(row: tuple) -> tuple:
    """The row with every number replaced by a marker: rows that could match have equal shapes."""
    return tuple(
        ("num",) if _is_number(v) and not (isinstance(v, float) and math.isnan(v)) else (type(v).__name__, v)
        for v in row
    )


def _numbers(row: tuple) -> tuple:
    return tuple(v for v in row if _is_number(v) and not (isinstance(v, float) and math.isnan(v)))


def _canonical(row: tuple) -> tuple:
    # Exact-equality key: 2 and 2.0 hash alike already; NaN != NaN, so give it a stand-in.
    return tuple(("nan",) if isinstance(v, float) and math.isnan(v) else v for v in row)


def same_result(
    gold: Sequence[tuple],
    pred: Sequence[tuple],
    *,
    ordered: bool,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    ties: Sequence[int] | None = None,
) -> bool:
    """Rows compare as tuples (column order matters); as lists when `ordered`, else as multisets.
    `ties` (ordered only): lengths of the gold's runs of rows tied on its ORDER BY keys
    (`verifiers.sql.ties`); inside a run the rows compare as a multiset."""
    if len(gold) != len(pred):
        return False
    if ordered and ties is not None and sum(ties) == len(gold):
        start = 0
        for run in ties:
            g, p = gold[start : start + run], pred[start : start + run]
            if not (
                rows_match(g[0], p[0], rel_tol, abs_tol)
                if run == 1
                else same_result(g, p, ordered=False, rel_tol=rel_tol, abs_tol=abs_tol)
            ):
                return False
            start += run
        return True
    if ordered:
        return all(rows_match(g, p, rel_tol, abs_tol) for g, p in zip(gold, pred, strict=True))
    if Counter(map(_canonical, gold)) == Counter(map(_canonical, pred)):
        return True  # exact equality; integral values excepted, numbers then only differ within tolerance
    # Rows that differ only in their numbers pair up after sorting by (shape, numbers); a tolerance
    # can only hide a difference between numbers, never between a text, NULL or NaN cell.
    if Counter(map(_shape, gold)) != Counter(map(_shape, pred)):
        return False
    key = lambda r: (repr(_shape(r)), _numbers(r))  # noqa: E731  (repr: shapes mix types, repr orders them)
    return all(
        rows_match(g, p, rel_tol, abs_tol)
        for g, p in zip(sorted(gold, key=key), sorted(pred, key=key), strict=True)
    )
