"""Evaluate a model on a data set: the whole Pass@k curve, greedy accuracy and diversity, each
with a 95% bootstrap interval over problems (rlvr/eval/stats.py).

Runs one rollout engine in this process (vLLM by default) and the configured verifier; the same
code serves `rlvr eval` and the trainer's periodic evaluation (which passes its own engine).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rlvr.data import Prompt
from rlvr.eval.metrics import distinct_correct, distinct_n, pass_at_k_curve
from rlvr.eval.problems import ProblemTable, intervals
from rlvr.rollout.types import SamplingParams
from rlvr.tracking.samples import sample_row


@dataclass
class EvalResult:
    """pass_at_k: {k: mean pass@k} for k = 1..n; greedy_accuracy: accuracy at temperature 0;
    per_problem: id, correct count, distinct correct responses (and greedy_correct) of each problem.

    The *_ci fields are [low, high] bootstrap intervals over problems (`bootstrap` says how many
    resamples, the level and the seed); they are empty/None in results made before intervals
    existed and in results built without per-problem rows."""

    n: int
    num_problems: int
    pass_at_k: dict[int, float]
    greedy_accuracy: float | None
    mean_distinct_correct: float
    distinct_1: float
    distinct_2: float
    per_problem: list[dict] = field(default_factory=list)
    pass_at_k_ci: dict[int, list[float]] = field(default_factory=dict)
    greedy_accuracy_ci: list[float] | None = None
    distinct_correct_ci: list[float] | None = None
    bootstrap: dict = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)  # a few responses (RUN/samples.jsonl rows)

    def with_intervals(self, **bootstrap) -> EvalResult:
        """Fill the *_ci fields from per_problem (keyword arguments go to problems.intervals)."""
        table = ProblemTable.from_eval(self.to_dict())
        if table is not None:
            for key, value in intervals(table, **bootstrap).items():
                setattr(self, key, value)
        return self

    def metrics(self, prefix: str = "eval") -> dict[str, float]:
        m = {f"{prefix}/pass@{k}": v for k, v in self.pass_at_k.items() if k in _REPORTED or k == self.n}
        for k, (low, high) in self.pass_at_k_ci.items():
            if k in _REPORTED or k == self.n:
                m |= {f"{prefix}/pass@{k}_ci_low": low, f"{prefix}/pass@{k}_ci_high": high}
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
    bootstrap_resamples: int = 2000,
    keep_samples: int = 0,
) -> EvalResult:
    """Sample n responses per problem, verify them, and summarize with bootstrap intervals
    (`bootstrap_resamples` resamples of the problems, seeded with 0 so one result always gets
    the same intervals).

    engine:   a rollout engine or RolloutGroup (`.generate(prompt_token_ids, SamplingParams)`).
    verifier: anything with `.verify_batch(responses, references, metadata)`.
    """
    if not 1 <= n <= 256:
        raise ValueError(f"eval n={n}: choose 1 <= n <= 256")
    # Pass@k needs the samples only: no per-token log-probs (the engine's extra work)
    params = SamplingParams(n=n, temperature=temperature, max_tokens=max_tokens, seed=seed, logprobs=False)
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
    first = {}  # the first response of each of the first keep_samples problems
    for i, g in enumerate(gens):
        if g.prompt_index < keep_samples:
            first.setdefault(g.prompt_index, i)
    kept = [
        sample_row(prompts[gens[i].prompt_index], gens[i].text, results[i]) for i in sorted(first.values())
    ]

    greedy_accuracy, greedy_by_problem = None, None
    if greedy:
        gg = engine.generate(
            prompt_token_ids, SamplingParams(n=1, temperature=0.0, max_tokens=max_tokens, logprobs=False)
        )
        gr = verifier.verify_batch(
            [g.text for g in gg],
            [prompts[g.prompt_index].answer for g in gg],
            [prompts[g.prompt_index].metadata for g in gg],
        )
        greedy_accuracy = sum(r.correct for r in gr) / len(gr)
        greedy_by_problem = [False] * len(prompts)
        for g, r in zip(gg, gr, strict=True):
            greedy_by_problem[g.prompt_index] = bool(r.correct)
    per_problem = [
        {"id": p.id, "correct": c, "distinct_correct": d}
        for p, c, d in zip(prompts, counts, diverse, strict=True)
    ]
    if greedy_by_problem is not None:
        for row, ok in zip(per_problem, greedy_by_problem, strict=True):
            row["greedy_correct"] = ok
    return EvalResult(
        n=n,
        num_problems=len(prompts),
        pass_at_k=pass_at_k_curve(counts, n),
        greedy_accuracy=greedy_accuracy,
        mean_distinct_correct=sum(diverse) / len(diverse),
        distinct_1=distinct_n(texts, 1),
        distinct_2=distinct_n(texts, 2),
        per_problem=per_problem,
        samples=kept,
    ).with_intervals(resamples=bootstrap_resamples)
