"""Ties in an ordered gold: rows whose ORDER BY keys are equal may come in any order.

"List the users by best score, highest first" with two users tied at 10 has two right answers; the
gold's own order among them is whatever SQLite's sorter left. To tell which rows are tied, the gold's
first statement is re-run with its ORDER BY keys appended as output columns (sqlglot rewrite), and a
prediction must then match the gold row by row, except that inside each run of tied rows it matches
as a bag. When the rewrite is not safe (DISTINCT, set operations, `*` projections) or its result does
not hold the gold's rows, the comparison stays strictly row by row.

Known limit: when LIMIT cuts through a run of tied rows, the gold's choice of which of them to keep
still decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

KEY_PREFIX = "__rlvr_order_key_"


@lru_cache(maxsize=4096)
def with_order_keys(gold_sql: str) -> tuple[str, int] | None:
    """(the gold's first statement with its k ORDER BY keys appended as output columns, k), or None."""
    from sqlglot import exp

    from verifiers.sql.compare import first_statement

    tree = first_statement(gold_sql)
    if not isinstance(tree, exp.Select) or tree.args.get("distinct") or tree.args.get("order") is None:
        return None
    projections = tree.expressions
    if any(p.is_star for p in projections):
        return None  # the width of the gold's own columns is unknown before running it
    aliases = {p.alias: p.unalias() for p in projections if p.alias}
    keys = []
    for ordered in tree.args["order"].expressions:
        key = ordered.this
        if isinstance(key, exp.Literal) and key.is_int:  # ORDER BY 2: the second output column
            index = int(key.this) - 1
            if not 0 <= index < len(projections):
                return None
            key = projections[index].unalias()
        elif isinstance(key, exp.Column) and not key.table and key.name in aliases:  # an output alias
            key = aliases[key.name]
        keys.append(key.copy())
    rewritten = tree.copy()
    for i, key in enumerate(keys):
        rewritten = rewritten.select(exp.alias_(key, f"{KEY_PREFIX}{i}"), copy=False)
    return rewritten.sql(dialect="sqlite"), len(keys)


def tie_runs(keys: Sequence[tuple]) -> tuple[int, ...]:
    """Lengths of the runs of consecutive equal key tuples (they sum to len(keys))."""
    runs: list[int] = []
    for i, key in enumerate(keys):
        if i and key == keys[i - 1]:
            runs[-1] += 1
        else:
            runs.append(1)
    return tuple(runs)
