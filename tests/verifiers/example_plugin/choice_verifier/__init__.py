"""Example verifier: multiple-choice answers ("Answer: (B)") compared with the reference letter."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from verifiers import Judgement, Reason, Verifier, VerifierOptions

_ANSWER = re.compile(r"answer\s*(?:is|:)?\s*\(?([A-Za-z])\)?(?![A-Za-z])", re.IGNORECASE)


@dataclass
class ChoiceOptions(VerifierOptions):
    """letters: the valid choices; an answer outside them is unparseable."""

    letters: str = "ABCD"


class ChoiceVerifier(Verifier):
    name: ClassVar[str] = "choice"
    Options: ClassVar[type] = ChoiceOptions

    def judge(self, response: str, reference: str, metadata: Mapping[str, Any]) -> Judgement:
        matches = _ANSWER.findall(response)
        if not matches:
            return Judgement(Reason.UNPARSEABLE, "no 'Answer: X' found")
        letter = matches[-1].upper()
        if letter not in self.options.letters:
            return Judgement(Reason.UNPARSEABLE, f"{letter} is not one of {self.options.letters}")
        ok = letter == reference.strip().upper()
        return Judgement(Reason.OK if ok else Reason.WRONG, f"answered {letter}", formatted=True)
