"""RUN/samples.jsonl: what the model answered, a bounded sample of each step and evaluation.

Metrics say how often the model was right; a user debugging a reward or a prompt format needs to
read the answers. Each training step and each evaluation files `per_call` responses (one per
prompt, the first prompts of the call), each truncated to `max_chars`, as one JSON line:

    {"step": 3, "kind": "train", "prompt_id": "arith-train-17", "prompt": "...", "response": "...",
     "reference": "42", "reward": 1.0, "correct": true, "reason": "ok", "detail": "42"}

The file stops growing at `max_bytes` (one warning in the log): a sample, never a transcript.
`rlvr report` shows the last few of each run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

SAMPLES_FILE = "samples.jsonl"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


class SampleLog:
    def __init__(
        self,
        run_dir: str | Path,
        *,
        per_call: int = 4,
        max_chars: int = 2000,
        max_bytes: int = 20 << 20,
        resume_step: int | None = None,
    ) -> None:
        self.path = Path(run_dir) / SAMPLES_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.per_call, self.max_chars, self.max_bytes = per_call, max_chars, max_bytes
        # A resumed run drops what the interrupted one wrote after its checkpoint; a new run starts empty.
        if resume_step is not None and self.path.exists():
            kept = [r for r in read_samples(self.path) if r["step"] <= resume_step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
        elif resume_step is None:
            self.path.unlink(missing_ok=True)
        self._full = False

    def record(self, step: int, kind: str, rows: Iterable[dict]) -> None:
        """File up to `per_call` rows: one per prompt (first seen first), texts truncated."""
        if self.per_call <= 0 or self._full:
            return
        seen, lines = set(), []
        for row in rows:
            if row["prompt_id"] in seen:
                continue
            seen.add(row["prompt_id"])
            clean = {"step": step, "kind": kind, **row}
            for key in ("prompt", "response", "reference", "detail"):
                if key in clean:
                    clean[key] = _cut(str(clean[key]), self.max_chars)
            lines.append(json.dumps(clean, ensure_ascii=False) + "\n")
            if len(lines) == self.per_call:
                break
        size = self.path.stat().st_size if self.path.exists() else 0
        data = "".join(lines)
        if size + len(data.encode()) > self.max_bytes:
            self._full = True
            log.warning(
                "%s reached %d bytes: no more samples are kept for this run", self.path, self.max_bytes
            )
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(data)


def sample_row(prompt, response: str, result) -> dict:
    """One line of samples.jsonl from a Prompt, a response and its VerifyResult."""
    return {
        "prompt_id": prompt.id,
        "prompt": prompt.text,
        "response": response,
        "reference": prompt.answer,
        "reward": float(result.score),
        "correct": bool(result.correct),
        "reason": str(getattr(result.reason, "value", result.reason)),
        "detail": result.detail,
    }


def read_samples(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
