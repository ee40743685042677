"""Finding the predicted query in a response (string scanning only).

Strategies (tried in the order the `extract` option lists them):
  sql_fence  the last ```sql ... ``` block (counts as `formatted`)
  fence      the last ``` ... ``` block of any language
  raw        the whole response, when it starts with SELECT or WITH (models that answer bare SQL)
"""

from __future__ import annotations

import re
from collections import deque

STRATEGIES = ("sql_fence", "fence", "raw")

_SQL_FENCE = re.compile(r"```[ \t]*(?:sql|sqlite)[ \t]*\n(.*?)```", re.IGNORECASE | re.DOTALL)
_ANY_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_RAW_START = re.compile(r"\s*(?:select|with)\b", re.IGNORECASE)


def _last(pattern: re.Pattern[str], text: str) -> str | None:
    matches = deque(pattern.finditer(text), maxlen=1)
    if not matches:
        return None
    return matches[0].group(1).strip() or None


def extract_sql(text: str, strategies: tuple[str, ...]) -> tuple[str, str] | None:
    """(query, strategy) from the first strategy that finds one, or None."""
    for strategy in strategies:
        if strategy == "sql_fence":
            found = _last(_SQL_FENCE, text)
        elif strategy == "fence":
            found = _last(_ANY_FENCE, text)
        elif strategy == "raw":
            found = text.strip() if _RAW_START.match(text) else None
        else:
            raise ValueError(f"unknown extraction strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
        if found:
            return found, strategy
    return None
