"""Finding the final answer in a math response: pure string scanning, linear time, no parsing of math.

Strategies (tried in the order the `extract` option lists them):
  boxed       the last \\boxed{...} or \\fbox{...} (nested braces); several *different* boxed answers
              are reported so the verifier can refuse them
  answer_is   the text after the last "the answer is" / "final answer:" up to the end of its sentence
  last_number the last number in the response (lenient; small models rarely box, see DESIGN.md 7)
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

STRATEGIES = ("boxed", "answer_is", "last_number")

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_ANSWER_IS = re.compile(r"(?:final answer|the answer|answer)\s*(?:is|:|=)\s*:?\s*", re.IGNORECASE)
# A number: optional sign, digits with thousands separators, decimals, an optional /denominator.
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)?")


@dataclass(frozen=True)
class Extraction:
    """An extracted answer. `strategy` names how it was found; `distinct_boxes` counts different boxed answers."""

    answer: str
    strategy: str
    distinct_boxes: int = 0


def boxed_contents(text: str) -> list[str]:
    """Contents of every \\boxed{...}/\\fbox{...} in order; braces nest; an unclosed box is skipped.
    `\\boxed 5` (no braces) yields the next token."""
    out: list[str] = []
    i = 0
    n = len(text)
    while True:
        starts = [(text.find(cmd, i), cmd) for cmd in _BOX_COMMANDS]
        starts = [(pos, cmd) for pos, cmd in starts if pos >= 0]
        if not starts:
            return out
        pos, cmd = min(starts)
        j = pos + len(cmd)
        while j < n and text[j] == " ":
            j += 1
        if j < n and text[j] == "{":
            depth, k = 0, j
            while k < n:
                c = text[k]
                if c == "\\":  # skip escaped characters such as \{ and \}
                    k += 2
                    continue
                if c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            if k >= n:  # unbalanced: nothing after this can close it either
                return out
            out.append(text[j + 1 : k].strip())
            i = k + 1
        elif j > pos + len(cmd) and j < n:  # "\boxed 5"
            m = re.match(r"[^\s$]+", text[j:])
            if m:
                out.append(m.group(0))
            i = j
        else:
            i = j
    return out


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The last match, scanning once (finditer is linear for these patterns; no reverse search)."""
    matches = deque(pattern.finditer(text), maxlen=1)
    return matches[0] if matches else None


def _answer_is(text: str) -> str | None:
    last = _last_match(_ANSWER_IS, text)
    if last is None:
        return None
    rest = text[last.end() :].split("\n", 1)[0].strip()
    if rest.startswith("$"):  # "the answer is $x$ ...": the math between the dollars
        inner = rest.lstrip("$").split("$", 1)[0].strip()
        return inner or None
    # End at a sentence stop: ". " or a final "." (but not a decimal point, which has a digit after it).
    m = re.search(r"\.(?:\s|$)", rest)
    if m:
        rest = rest[: m.start()]
    rest = rest.strip().strip("$").strip()
    return rest or None


def _last_number(text: str) -> str | None:
    last = _last_match(_NUMBER, text)
    return last.group(0).replace(",", "") if last else None


def extract_answer(text: str, strategies: tuple[str, ...]) -> Extraction | None:
    """The answer by the first strategy that finds one, or None."""
    for strategy in strategies:
        if strategy == "boxed":
            boxes = [b for b in boxed_contents(text) if b]
            if boxes:
                distinct = len({" ".join(b.split()) for b in boxes})
                return Extraction(boxes[-1], "boxed", distinct)
        elif strategy == "answer_is":
            found = _answer_is(text)
            if found:
                return Extraction(found, "answer_is")
        elif strategy == "last_number":
            found = _last_number(text)
            if found:
                return Extraction(found, "last_number")
        else:
            raise ValueError(f"unknown extraction strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    return None
