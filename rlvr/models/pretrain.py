"""Pre-train the embedded default model `tiny-arith` on the bundled arithmetic task.

A deterministic script (seeded data, seeded init, one thread count): supervised fine-tuning of
the tiny Llama from `rlvr.models.tiny` on chat-formatted problems of the bundled task's
distribution, each paired with one of *several valid solution paths* (direct sum, digit-wise
decomposition, reordered operands, different step orders for word problems). Problems are drawn
from their own RNG stream, and every question of the bundled test split is excluded.

Training stops early on purpose: the model has learned the format and the solution styles but
still makes arithmetic slips, so its Pass@1 is well below its Pass@k — the regime where RL with
verifiable rewards (and the choice of divergence) makes a visible difference in minutes on a CPU.
"""

from __future__ import annotations

import logging
import math
import random
import time
from pathlib import Path

import torch

from rlvr.tasks.arith import INSTRUCTION, _problem, generate

log = logging.getLogger(__name__)


def _digits_sum(a: int, b: int) -> str:
    ta, ua, tb, ub = a - a % 10, a % 10, b - b % 10, b % 10
    return f"{ta} + {tb} = {ta + tb}. {ua} + {ub} = {ua + ub}. {ta + tb} + {ua + ub} = {a + b}."


def solution_paths(question: str, answer: int, level: int, numbers: list[int]) -> list[str]:
    """Several correct worked solutions of one problem, each ending in \\boxed{answer}."""
    box = f"\\boxed{{{answer}}}"
    if level == 1:
        a, b = numbers
        return [
            f"{a} + {b} = {answer}. {box}",
            f"{_digits_sum(a, b)} {box}",
            f"{b} + {a} = {answer}. The answer is {box}.",
        ]
    if level == 2:
        a, b, c = numbers
        return [
            f"{a} + {b} = {a + b}. {a + b} - {c} = {answer}. {box}",
            f"{a} - {c} = {a - c}. {a - c} + {b} = {answer}. {box}",
            f"{b} - {c} = {b - c}. {a} + {b - c} = {answer}. The answer is {box}.",
        ]
    k, a, b, c = numbers
    return [
        f"{k} * {a} = {k * a}. {k * a} + {b} = {k * a + b}. {k * a + b} - {c} = {answer}. {box}",
        f"{a} * {k} = {k * a}. {k * a} - {c} = {k * a - c}. {k * a - c} + {b} = {answer}. {box}",
        f"{k * a} + {b} - {c} = {answer}. The answer is {box}.",
    ]


def _numbers(question: str, level: int) -> list[int]:
    import re

    nums = [int(x) for x in re.findall(r"\d+", question)]
    if level == 3:  # "{name} has {k} boxes with {a} ... finds {b} more and loses {c}"
        return nums[:4]
    return nums[:3] if level == 2 else nums[:2]


def sft_examples(num: int, seed: int = 0) -> list[tuple[str, str]]:
    """(user message, assistant response) pairs; never a question of the bundled test split."""
    banned = {row["question"] for row in generate("test")}
    rng = random.Random(f"pretrain/{seed}")
    out = []
    while len(out) < num:
        level = rng.choice((1, 1, 2, 3))
        question, answer = _problem(rng, level)
        if question in banned:
            continue
        paths = solution_paths(question, answer, level, _numbers(question, level))
        out.append((f"{question} {INSTRUCTION}", rng.choice(paths)))
    return out


def _encode(tokenizer, user: str, response: str) -> tuple[list[int], list[int]]:
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": user}], add_generation_prompt=True, tokenize=True
    )
    if not isinstance(prompt, list):
        prompt = list(prompt["input_ids"])
    resp = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return list(prompt), resp


def pretrain_tiny_arith(
    out: str | Path,
    *,
    steps: int = 1500,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    num_examples: int = 20000,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 2,
    log_every: int = 100,
) -> Path:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.batch import pack_sequences
    from rlvr.learner.logprobs import LogProbModel
    from rlvr.models.tiny import build_tiny_model

    out = Path(out)
    build_tiny_model(out, seed=seed, hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads)
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    scorer = LogProbModel(model)
    data = [_encode(tokenizer, u, r) for u, r in sft_examples(num_examples, seed)]
    torch.manual_seed(seed)
    rng = random.Random(f"pretrain-order/{seed}")
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps)))
    )
    model.train()
    start = time.perf_counter()
    for step in range(steps):
        rows = [data[rng.randrange(len(data))] for _ in range(batch_size)]
        batch = pack_sequences([p for p, _ in rows], [r for _, r in rows], tokenizer.pad_token_id)
        logp = scorer(batch.input_ids, batch.attention_mask, batch.loss_mask)["logprobs"]
        loss = -(logp * batch.loss_mask).sum() / batch.loss_mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps - 1:
            log.info(
                "pretrain step %d/%d loss %.4f (%.0fs)",
                step,
                steps,
                float(loss.detach()),
                time.perf_counter() - start,
            )
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
