"""Cheap bounds checked before an answer reaches the LaTeX parser and sympy.

Parsing and comparing cost grows steeply with nesting, not with length: a `\\frac` nested 20 deep
(about 200 characters) kept math-verify's `verify` busy past 15 s on this project's machine, while
10 deep took about 1 s and 5 deep under 1 s. Real final answers nest little (`\\left(\\frac{\\sqrt{3}}{2},
\\frac{1}{2}\\right)` is 3 deep), so answers nested deeper than `MAX_NESTING` are refused unread as
`unparseable`, in linear time, instead of costing a worker its whole timeout.
"""

from __future__ import annotations

import re

# Deepest nesting of (), [] and {} together that an answer may have; see the module docstring.
MAX_NESTING = 8
# References are trusted but can still be built badly (or sent by anyone who reaches the service);
# they get more room (a 12-deep \frac costs a few seconds) and a failure is the verifier's `error`.
MAX_REFERENCE_NESTING = 12

_BRACKET = re.compile(r"[(){}\[\]]")


def nesting_depth(text: str) -> int:
    """Deepest nesting of brackets of any kind. Escaped `\\{`/`\\}` (set braces) count as brackets too:
    to sympy a set nests like a group. Unbalanced closers are ignored (they only make parsing fail)."""
    depth = deepest = 0
    for m in _BRACKET.finditer(text):  # visits brackets only, not every character
        if m.group() in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif depth:
            depth -= 1
    return deepest


def too_complex(answer: str, *, max_chars: int, max_nesting: int = MAX_NESTING) -> str | None:
    """Why `answer` must not be parsed (a short reason), or None when it is within the bounds."""
    if len(answer) > max_chars:
        return f"answer has {len(answer)} characters; max_answer_chars is {max_chars}"
    depth = nesting_depth(answer)
    if depth > max_nesting:
        return f"answer nests brackets {depth} deep; the limit is {max_nesting}"
    return None
