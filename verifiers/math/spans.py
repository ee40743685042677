"""Where the math is in a response: LaTeX environments and bare math runs, found by linear scanning.

A *span* is one candidate answer with its position:
  env     the inside of `$...$`, `$$...$$`, `\\(...\\)` or `\\[...\\]` (inline `$` stops at a line end, as in
          math-verify; a `$` never closed on its line is a currency sign, as in "$15.50")
  run     bare math outside environments: a maximal stretch of numbers, single letters, operators,
          spaces and LaTeX commands *with their brace groups swallowed whole*. Prose words (two or more
          letters), newlines and other characters end a run.
Swallowing brace groups is what keeps a number inside a LaTeX expression from ever being a candidate
of its own: in `x = \\frac{1+\\sqrt{5}}{2}` the run is the whole expression, never its `2`.

Nothing here parses math; all of it is regexes and index arithmetic, O(len(text)).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A plain number: sign, digits (thousands groups allowed, see numbers.py), decimals, a plain
# denominator ("3/4" written as text), percent.
PLAIN_NUMBER = re.compile(
    r"[-+−]?(?:\d{1,3}(?:(?:,|\{,\}|\\,|\\ | )\d{3})+|\d+)?(?:\.\d+)?(?:\s*/\s*\d+)?(?:\s*\\?%)?"
)

# Tokens of bare text. Runs of digits, single letters, operators and spaces are one token, and so are
# runs of prose words: the loop below takes a few tokens per sentence, not one per character.
_TOKEN = re.compile(
    r"(?P<cmd>\\[A-Za-z]+|\\[^A-Za-z\n])"  # LaTeX command or escaped character (\{ \% \, ...)
    r"|(?P<word>[A-Za-z]{2,}(?:[ \t]+[A-Za-z]{2,})*)"  # prose: ends a run
    # math: no ':' or ';' ("Step 1: 12 - 5 = 7"), and no '.' that ends a sentence ("is 7. I hope")
    r"|(?P<math>(?:\d+(?:\.\d+)?|[A-Za-z](?![A-Za-z])|\.(?!\s|$)|[-+*/^_=<>()\[\]{}|!,%'×÷−·≤≥≠ \t])+)"
    r"|(?P<stop>[\s\S])"  # anything else: newline, $, prose punctuation, other scripts
)
_DIGIT = re.compile(r"\d")
_UNIT_LETTER = re.compile(r"(?<=\d)[ \t]+[A-Za-z]$")
_BRACE_OR_ESCAPE = re.compile(r"\\.|[{}]", re.DOTALL)
_ENV_OPEN = re.compile(r"\\[(\[]|\\.|\$\$|\$", re.DOTALL)  # an escape (\$, \\) is skipped whole
_INLINE_REST = re.compile(r"(?:\\[^\n]|[^$\\\n])+\$")  # the rest of an inline $...$, on its line
# Trailing characters that end a sentence rather than the math ("so x = 5.", "is 12, and").
_TRAIL = " \t.,;:*"  # and markdown bold: "**12**"
_LEAD = " \t,;:=)]!.*"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str
    kind: str  # "env" or "run"

    @property
    def is_number(self) -> bool:
        return is_plain_number(self.text)


def is_plain_number(text: str) -> bool:
    """`-12`, `10,455`, `1 000`, `3.5`, `3/4`, `28\\%`: yes. `x = 5`, `2^3`, `\\frac{1}{2}`: no."""
    return PLAIN_NUMBER.fullmatch(text.strip()) is not None and any(c.isdigit() for c in text)


def _brace_partners(text: str) -> dict[int, int]:
    """Index of each unescaped `{` -> index of its matching `}` (one pass with a stack)."""
    partners: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_OR_ESCAPE.finditer(text):
        c = m.group()
        if c == "{":
            stack.append(m.start())
        elif c == "}" and stack:
            partners[stack.pop()] = m.start()
    return partners


def _envs(text: str) -> list[tuple[int, int, int, int]]:
    """(outer_start, outer_end, inner_start, inner_end) of each LaTeX environment, in order."""
    out = []
    i = 0
    unclosed: set[str] = set()  # closers known to be absent from here on: stop looking (keeps it linear)
    while (m := _ENV_OPEN.search(text, i)) is not None:
        opener, i = m.group(), m.end()
        closer = {"\\(": "\\)", "\\[": "\\]", "$$": "$$"}.get(opener)
        if closer:
            j = -1 if closer in unclosed else text.find(closer, i)
            if j < 0:
                unclosed.add(closer)
            else:
                out.append((m.start(), j + len(closer), i, j))
                i = j + len(closer)
        elif opener == "$":
            inline = _INLINE_REST.match(text, i)
            if inline:
                out.append((m.start(), inline.end(), i, inline.end() - 1))
                i = inline.end()
    return out


def _runs(text: str, lo: int, hi: int, partners: dict[int, int], out: list[Span]) -> None:
    """Bare math runs in text[lo:hi] (a stretch outside environments)."""
    start = None  # where the current run began
    has_math = False  # a digit or a LaTeX command: single letters and operators alone are not math
    pos = lo
    while pos < hi:
        m = _TOKEN.match(text, pos, hi)
        kind = m.lastgroup
        end = m.end()
        if kind == "cmd":
            # Swallow the brace groups that follow a command, however deep: `\text{ cm}`, `\frac{..}{..}`.
            k = end
            while k < hi and text[k] == "{" and partners.get(k, hi) < hi:
                k = partners[k] + 1
            end = k
        if kind in ("cmd", "math"):
            if start is None:
                start = pos
            has_math = has_math or kind == "cmd" or _DIGIT.search(text, pos, end) is not None
        else:
            if start is not None and has_math:
                _add_run(text, start, pos, out)
            start, has_math = None, False
        pos = end
    if start is not None and has_math:
        _add_run(text, start, hi, out)


def _add_run(text: str, start: int, end: int, out: list[Span]) -> None:
    while end > start and text[end - 1] in _TRAIL:
        end -= 1
    while start < end and text[start] in _LEAD:
        start += 1
    body = text[start:end]
    # An unmatched closing bracket at the end belongs to the prose around it: "(which is 5)".
    while body and body[-1] in ")]" and body.count(body[-1]) > body.count("(" if body[-1] == ")" else "["):
        body = body[:-1].rstrip(_TRAIL)
    # A lone letter after a number and a space is a unit, not a factor: "250 m", "5 g" (a product
    # is written "2x").
    unit = _UNIT_LETTER.search(body)
    if unit:
        body = body[: unit.start()]
    if body and any(c.isdigit() or c == "\\" for c in body):
        out.append(Span(start, start + len(body), body, "run"))


def math_spans(text: str) -> list[Span]:
    """Every candidate answer in `text`, in order of position."""
    partners = _brace_partners(text)
    out: list[Span] = []
    prev = 0
    for o_start, o_end, i_start, i_end in _envs(text):
        _runs(text, prev, o_start, partners, out)
        inner = text[i_start:i_end].strip()
        if inner:
            out.append(Span(o_start, o_end, inner, "env"))
        prev = o_end
    _runs(text, prev, len(text), partners, out)
    return out
