"""Finding the final answer in a math response: string scanning in linear time, no parsing of math.

Strategies, tried in the order the `extract` option lists them (the first that finds something wins):
  boxed        every \\boxed{...} / \\fbox{...} (nested braces). Several *different* boxes are kept
               together as parts; the verifier compares their set with the gold answer, so
               `\\boxed{1}, \\boxed{2}` can equal gold `{1, 2}` while `\\boxed{1} or \\boxed{5}` never equals `5`
  answer_is    after the last cue ("the answer is", "final answer:", "answer to ... is", "####"), up to
               the end of that sentence: the last math in it (`Final Answer: The largest $n$ is 34.`
               gives 34), or the math right after the cue when it is a display block
  last_math    the last math in the response: a LaTeX environment or a bare math run (see spans.py)
  last_number  the last math in the response, only when it is a plain number. A number inside a LaTeX
               expression is never taken: `\\frac{1+\\sqrt{5}}{2}` is not its denominator 2
In answer_is and last_math, candidates joined only by ",", "and" or "or" are taken together as
parts (math-verify's semantics: "x = 1 or x = 5" is the set of both, never one of them).

Presets: `default` = boxed,answer_is,last_math (math-verify's default semantics: boxed first, then
answer cues, then the last LaTeX or expression; chosen for correctness), `strict` = boxed (the
format is part of the reward).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from verifiers.math.spans import Span, is_plain_number, math_spans

STRATEGIES = ("boxed", "answer_is", "last_math", "last_number")
PRESETS = {"default": ("boxed", "answer_is", "last_math"), "strict": ("boxed",)}

_BOX_COMMANDS = ("\\boxed", "\\fbox")
# The cue: "answer" then, within a few words on the same sentence, "is"/"are"/":"/"="; or GSM8K's ####.
_CUE = re.compile(r"\banswers?\b[^\n.$]{0,40}?(?:\bis\b|\bare\b|:|=)|####", re.IGNORECASE)
# Where the answer's sentence ends: a line end, a full stop, or a comma before a new clause
# ("is 250 meters, since each lap is 50 meters"), but not a list ("is 3, 4, and 5").
_CLAUSE_END = re.compile(r"\n|\.(?=\s|$)|,\s*(?!and\b|or\b)[A-Za-z]{2,}", re.IGNORECASE)
# What may sit between two candidates that belong together: "1, 2 and 3", "3 or 4".
_JOINER = re.compile(r"\s*(?:,|;|&)?\s*(?:and|or)?\s*", re.IGNORECASE)
_COMMAND = re.compile(r"\\[A-Za-z]+")
_INEQUALITY = re.compile(r"[<>≤≥≠]|\\(?:le|ge|leq|geq|ne|neq|lt|gt)(?![A-Za-z])")


@dataclass(frozen=True)
class Extraction:
    """An extracted answer: one part, or several that are compared as a set. `strategy` names how."""

    parts: tuple[str, ...]
    strategy: str

    @property
    def answer(self) -> str:
        return ", ".join(self.parts)


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


def _distinct(items: list[str]) -> tuple[str, ...]:
    """Items in order, without repeats that differ only in whitespace."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(" ".join(item.split()), item)
    return tuple(seen.values())


def _last_eq_side(answer: str) -> str:
    """`12 - 5 = 7` -> `7`; `x = 12 - 5 = 7` -> `7`. The left side is work, the right side the result.
    An equation naming a variable (`x = 5`, `y = 2x + 3`) is kept: math-verify compares equations."""
    if "," in answer or "=" not in answer or _INEQUALITY.search(answer):
        return answer
    sides = answer.split("=")
    left_is_arithmetic = not re.search(r"[A-Za-z]", _COMMAND.sub("", sides[0]))
    if len(sides) > 2 or left_is_arithmetic:
        last = sides[-1].strip()
        return last or answer
    return answer


def _lhs(answer: str) -> str | None:
    return " ".join(answer.split("=")[0].split()) if "=" in answer else None


def _tail(spans: list[Span], text: str) -> tuple[str, ...]:
    """The last candidate, with the ones before it that are joined to it by ",", "and", "or" and
    alike in shape: "x = 1 or x = 5", "2 and 3", but not "6w = 18 and w = 3" (work, then the result)."""
    group = [spans[-1]]
    for prev in reversed(spans[:-1]):
        if not _JOINER.fullmatch(text[prev.end : group[-1].start]) or _lhs(prev.text) != _lhs(group[-1].text):
            break
        group.append(prev)
    return _distinct([_last_eq_side(s.text) for s in reversed(group)])


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The last match, scanning once (finditer is linear for these patterns; no reverse search)."""
    matches = deque(pattern.finditer(text), maxlen=1)
    return matches[0] if matches else None


def _answer_is(text: str, spans: list[Span]) -> tuple[str, ...] | None:
    cue = _last_match(_CUE, text)
    if cue is None:
        return None
    after = [s for s in spans if s.start >= cue.end()]
    if not after:
        return None
    # "The answer is:\n\[ ... \]": the block right after the cue is the answer, across lines.
    sentence_from = cue.end()
    if not text[cue.end() : after[0].start].strip(" \t\n*:"):
        sentence_from = after[0].end
    stop = _CLAUSE_END.search(text, sentence_from)
    end = stop.start() if stop else len(text)
    inside = [s for s in after if s.start < end]
    return _tail(inside, text) if inside else None


def extract_answer(text: str, strategies: tuple[str, ...]) -> Extraction | None:
    """The answer by the first strategy that finds one, or None."""
    spans: list[Span] | None = None  # computed once, only if a strategy needs them
    for strategy in strategies:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown extraction strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
        if strategy == "boxed":
            boxes = [b for b in boxed_contents(text) if b]
            if boxes:
                return Extraction(_distinct(boxes), "boxed")
            continue
        if spans is None:
            spans = math_spans(text)
        if not spans:
            continue
        if strategy == "answer_is":
            found = _answer_is(text, spans)
            if found:
                return Extraction(found, "answer_is")
        elif strategy == "last_math":
            return Extraction(_tail(spans, text), "last_math")
        elif strategy == "last_number":
            # "12 - 5 = 7" and "x = 7" end in a plain number; "x = \\frac{1+\\sqrt{5}}{2}" does not.
            last = spans[-1].text.rsplit("=", 1)[-1].strip()
            if is_plain_number(last):
                return Extraction((last,), "last_number")
    return None
