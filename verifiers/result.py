"""What a verifier returns: a reason code, a result dataclass, and the reward shaping that scores it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any


class Reason(str, Enum):
    """Why a response got its score. Values are stable strings (they go into JSONL and HTTP).

    Shared by every verifier:
      ok            the answer is correct
      wrong         an answer was found and judged, and it is not correct (also: several different
                    \\boxed answers that are not together the reference's set, e.g. a hedge
                    "\\boxed{1} or \\boxed{5}" for 5)
      unparseable   no answer could be extracted from the response, or it could not be parsed
      timeout       judging took longer than the verifier's timeout (the worker was killed)
      error         the verifier could not judge: the worker died, the reference could not be parsed,
                    metadata was missing. Not the model's fault; look at `detail`.
    SQL only:
      syntax_error  SQLite could not parse the predicted query
      runtime_error the query parsed but failed when run (unknown table or column, type error ...)
      too_many_rows the query returned more rows than the verifier's `max_rows`
      forbidden     the sandbox refused it: writes, ATTACH, PRAGMA, extensions, several statements
    """

    OK = "ok"
    WRONG = "wrong"
    UNPARSEABLE = "unparseable"
    TIMEOUT = "timeout"
    ERROR = "error"
    SYNTAX_ERROR = "syntax_error"
    RUNTIME_ERROR = "runtime_error"
    TOO_MANY_ROWS = "too_many_rows"
    FORBIDDEN = "forbidden"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Judgement:
    """A verifier's verdict before scoring. `formatted`: the answer was in the strict format
    (math: inside \\boxed{}; SQL: inside a ```sql block), which earns `RewardShaping.format`."""

    reason: Reason
    detail: str = ""
    formatted: bool = False


@dataclass(frozen=True)
class VerifyResult:
    """One verified response.

    score:   the reward, from `RewardShaping` (plus the format bonus where earned).
    correct: True exactly when reason is `ok`.
    reason:  a `Reason`.
    detail:  a short human-readable explanation (at most ~200 characters), e.g. the extracted answer.
    """

    score: float
    correct: bool
    reason: Reason
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reason"] = self.reason.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VerifyResult:
        return cls(
            score=float(d["score"]),
            correct=bool(d["correct"]),
            reason=Reason(d["reason"]),
            detail=str(d.get("detail", "")),
        )


# Which shaping bucket each reason falls in. Model faults that produced *some* answer are "wrong";
# answers that could not even be read are "unparseable"; verifier-side failures are "failure".
_BUCKET = {
    Reason.OK: "correct",
    Reason.WRONG: "wrong",
    Reason.RUNTIME_ERROR: "wrong",
    Reason.TOO_MANY_ROWS: "wrong",
    Reason.FORBIDDEN: "wrong",
    Reason.UNPARSEABLE: "unparseable",
    Reason.SYNTAX_ERROR: "unparseable",
    Reason.TIMEOUT: "failure",
    Reason.ERROR: "failure",
}


@dataclass(frozen=True)
class RewardShaping:
    """Scores per outcome; configuration, not code (verifier options `score_correct`, ...).

    correct:     reason ok.
    wrong:       wrong, runtime_error, too_many_rows, forbidden.
    unparseable: unparseable, syntax_error.
    failure:     timeout, error (the verifier could not decide).
    format:      added on top when the answer was in the strict format (see `Judgement.formatted`).
    """

    correct: float = 1.0
    wrong: float = 0.0
    unparseable: float = 0.0
    failure: float = 0.0
    format: float = 0.0

    def score(self, judgement: Judgement) -> float:
        base = getattr(self, _BUCKET[judgement.reason])
        return base + (self.format if judgement.formatted else 0.0)

    def result(self, judgement: Judgement) -> VerifyResult:
        return VerifyResult(
            score=self.score(judgement),
            correct=judgement.reason is Reason.OK,
            reason=judgement.reason,
            detail=judgement.detail,
        )
