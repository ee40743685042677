"""Learning-rate schedule: linear warmup, then constant or cosine decay.

A picklable callable (not a lambda) so that `LambdaLR.state_dict()` stores it in checkpoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class WarmupSchedule:
    """LR multiplier for optimizer step `step` (0-based: the factor used by the step'th update).

    Warmup ramps (step + 1) / warmup_steps so the first update already moves the weights (HF's
    step / warmup_steps spends a whole step at lr 0). Cosine decays from 1 at the end of warmup
    to `min_ratio` at `total_steps` and stays there.
    """

    warmup_steps: int = 0
    kind: str = "constant"
    total_steps: int | None = None
    min_ratio: float = 0.0

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.kind == "constant":
            return 1.0
        decay_steps = max(1, (self.total_steps or 0) - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
