"""The identical work both sides run: one definition, turned into rlvr overrides and TRL's inputs.

tiny-arith-v2 (the embedded default), 32 prompts x 8 samples, 64 new tokens, T=1.0, lr 2e-4, fp32,
one optimizer step per 256 completions, rlvr's math verifier as the reward. The prompts of step k
are the ones rlvr's trainer draws at step k (its seeded prompt cycle), tokenized by rlvr's own code;
TRL gets the same rows in the same order with shuffling off, so its step k sees the same prompts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Work:
    steps: int = 12
    first_timed_step: int = 3  # timings are the median of steps first_timed_step..steps
    prompts_per_step: int = 32
    n: int = 8  # samples per prompt (the GRPO group)
    max_tokens: int = 64
    temperature: float = 1.0
    lr: float = 2e-4
    micro_batch_size: int = 32  # 8 micro-batches of 32 completions, one optimizer step
    seed: int = 0

    @property
    def completions_per_step(self) -> int:
        return self.prompts_per_step * self.n


# The rlvr_grpo_engines piece: one vLLM engine per core (at least 2, at most 4), each on 1 thread. On
# a small model an engine's own Python (scheduling, sampling, per-layer dispatch) leaves its cores
# half idle; several engines fill them. rlvr's default stays one engine with every core's threads.
ENGINES = max(
    2, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)
)

FULL = Work()
QUICK = Work(steps=4)


def rlvr_overrides(work: Work, algorithm: str = "grpo") -> list[str]:
    """`rlvr train` overrides for the work; algorithm: a recipes/algorithm name (grpo, dph, grpo_kl).

    No Pass@k evaluation (TRL runs none), one optimizer step per rollout batch."""
    return [
        "model=tiny",
        f"algorithm={algorithm}",
        f"seed={work.seed}",
        f"steps={work.steps}",
        f"prompts_per_step={work.prompts_per_step}",
        f"rollout.sampling.n={work.n}",
        f"rollout.sampling.max_tokens={work.max_tokens}",
        f"rollout.sampling.temperature={work.temperature}",
        "rollout.sampling.top_p=1.0",
        "rollout.sampling.top_k=-1",
        f"learner.lr={work.lr}",
        "learner.dtype=float32",
        "model.dtype=float32",
        "learner.mini_batches_per_step=1",
        "learner.ppo_epochs=1",
        f"learner.micro_batch_size={work.micro_batch_size}",
        "learner.lr_schedule=constant",
        "learner.warmup_steps=0",
        "eval.n=0",
        "logger.progress=false",
        "logger.samples=0",
    ]


def step_prompts(work: Work, algorithm: str = "grpo"):
    """The prompts rlvr's trainer draws, step by step: a list of `steps` lists of (Prompt, token ids).

    Built with the trainer's own pieces (config composition, load_split, SeededCycle), so a change
    there changes both sides of the benchmark. Needs no bank: only valid for algorithms that train on
    every prompt (GRPO, GRPO+KL); DPH trains on D_exp."""
    from rlvr.config.load import compose_config
    from rlvr.data import load_split
    from rlvr.data.cycle import SeededCycle
    from rlvr.trainer import components

    cfg = compose_config(rlvr_overrides(work, algorithm))
    path = components.ensure_model(cfg.model)
    tokenizer = components.load_tokenizer(path)
    prompts, ids = load_split(cfg.data, cfg.model, tokenizer)
    cycle = SeededCycle(len(prompts), seed=f"prompts/{cfg.seed}")
    steps = []
    for _ in range(work.steps):
        picked = cycle.take(cfg.prompts_per_step)
        steps.append([(prompts[i], ids[i]) for i in picked])
    return steps, path, cfg


def trl_rows(steps) -> list[dict]:
    """TRL dataset rows in rlvr's draw order: a conversational prompt (TRL applies the same chat
    template) and the verifier's reference answer, passed to the reward function as a column."""
    return [
        {"prompt": [{"role": "user", "content": p.text}], "answer": p.answer}
        for step in steps
        for p, _ in step
    ]


def trl_prompt_ids(tokenizer, rows: list[dict]) -> list[list[int]]:
    """The token ids TRL's GRPOTrainer generates from, by TRL's own tokenization
    (`GRPOTrainer._tokenize_prompts`, text-only path) on a stand-in for the trainer's attributes."""
    from types import SimpleNamespace

    from trl import GRPOTrainer

    fake_self = SimpleNamespace(
        processing_class=tokenizer,
        _is_vlm=False,
        environment_factories=None,
        tools=None,
        chat_template=None,
        chat_template_kwargs={},
    )
    ids, _, _ = GRPOTrainer._tokenize_prompts(fake_self, [r["prompt"] for r in rows])
    return [list(map(int, x)) for x in ids]
