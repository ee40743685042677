"""Number formats, rewritten the same way on both sides before the LaTeX parser sees them.

Rules (README's verifier section states them too):
- Thousands separators: a group of 1-3 digits followed by groups of exactly 3 digits, separated by
  `,`, `{,}`, a space, `\\,`, `\\ ` or `~` (one kind per number), is one number: `10,455`,
  `1 000`, `1\\,000\\,000`, `1{,}234.5`. Left alone, the parser reads `1 000` as 1*000 = 0.
- Any other comma separates list items: `1,22` is the set {1, 22}, not 1.22 (MATH-style answers
  list solutions with commas; a decimal comma is not recognised).
"""

from __future__ import annotations

import re

# One separator kind per number (the backreference), so "1,000 000" is not one number. Not preceded
# by a digit, a decimal point or a word character (x_1,000 stays), not followed by another digit.
_GROUPED = re.compile(r"(?<![\w.])(\d{1,3})(,|\{,\}|\\,|\\ | |~)(\d{3})((?:\2\d{3})*)(?!\d)")


def _join(m: re.Match[str]) -> str:
    return m.group(1) + m.group(3) + m.group(4).replace(m.group(2), "")


def normalize_numbers(text: str) -> str:
    """Join thousands-separated digits (`10,455` -> `10455`); other commas are left as list separators."""
    return _GROUPED.sub(_join, text)
