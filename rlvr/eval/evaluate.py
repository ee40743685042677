"""Evaluate a model on a data set: the whole Pass@k curve, greedy accuracy and diversity.

Runs one rollout engine in this process (vLLM by default) and the configured verifier; the same
code serves `rlvr eval` and the trainer's periodic evaluation (which passes its own engine).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rlvr.data import Prompt
from rlvr.eval.metrics import distinct_correct, distinct_n, pass_at_k_curve
from rlvr.rollout.types import SamplingParams


@dataclass
class EvalResult:
    """pass_at_k: {k: mean pass@k} for k = 1..n; greedy_accuracy: accuracy at temperature 0;
    per_problem: correct counts and distinct correct responses of each problem."""

    n: int
    num_problems: int
    pass_at_k: dict[int, float]
    greedy_accuracy: float | None
    mean_distinct_correct: float
    distinct_1: float
    distinct_2: float
    per_problem: list[dict] = field(default_factory=list)

    def metrics(self, prefix: str = "eval") -> dict[str, float]:
        m = {f"{prefix}/pass@{k}": v for k, v in self.pass_at_k.items() if k in _REPORTED or k == self.n}
        m |= {
            f"{prefix}/distinct_correct": self.mean_distinct_correct,
            f"{prefix}/distinct_1": self.distinct_1,
            f"{prefix}/distinct_2": self.distinct_2,
        }
        if self.greedy_accuracy is not None:
            m[f"{prefix}/greedy_accuracy"] = self.greedy_accuracy
        return m

    def to_dict(self) -> dict:
        return asdict(self)


_REPORTED = {1, 2, 4, 8, 16, 32, 64, 128, 256}


def evaluate(
    engine,
    verifier,
    prompts: list[Prompt],
    prompt_token_ids: list[list[int]],
    *,
    n: int,
    temperature: float = 1.0,
    max_tokens: int = 128,
    seed: int = 0,
    greedy: bool = True,
) -> EvalResult:
    """Sample n responses per problem, verify them, and summarize.

    engine:   a rollout engine or RolloutGroup (`.generate(prompt_token_ids, SamplingParams)`).
    verifier: anything with `.verify_batch(responses, references, metadata)`.
    """
    if not 1 <= n <= 256:
        raise ValueError(f"eval n={n}: choose 1 <= n <= 256")
    params = SamplingParams(n=n, temperature=temperature, max_tokens=max_tokens, seed=seed)
    gens = engine.generate(prompt_token_ids, params)
    results = verifier.verify_batch(
        [g.text for g in gens],
        [prompts[g.prompt_index].answer for g in gens],
        [prompts[g.prompt_index].metadata for g in gens],
    )
    by_problem: list[list[tuple[str, bool]]] = [[] for _ in prompts]
    for g, r in zip(gens, results, strict=True):
        by_problem[g.prompt_index].append((g.text, bool(r.correct)))
    counts = [sum(ok for _, ok in rows) for rows in by_problem]
    diverse = [distinct_correct([t for t, _ in rows], [ok for _, ok in rows]) for rows in by_problem]
    texts = [g.text for g in gens]

    greedy_accuracy = None
    if greedy:
        gg = engine.generate(prompt_token_ids, SamplingParams(n=1, temperature=0.0, max_tokens=max_tokens))
        gr = verifier.verify_batch(
            [g.text for g in gg],
            [prompts[g.prompt_index].answer for g in gg],
            [prompts[g.prompt_index].metadata for g in gg],
        )
        greedy_accuracy = sum(r.correct for r in gr) / len(gr)
    return EvalResult(
        n=n,
        num_problems=len(prompts),
        pass_at_k=pass_at_k_curve(counts, n),
        greedy_accuracy=greedy_accuracy,
        mean_distinct_correct=sum(diverse) / len(diverse),
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        per_problem=[
            {"id": p.id, "correct": c, "distinct_correct": d}
            for p, c, d in zip(prompts, counts, diverse, strict=True)
        ],
    )
