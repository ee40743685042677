"""Pre-train the embedded default model `tiny-arith` on the bundled arithmetic task.

A deterministic script: seeded data, seeded init, one CPU thread and torch's deterministic
algorithms, so two runs on one machine give bit-identical weights. (Other CPUs may round
differently, which is why the result ships in the repo, `rlvr.models.shipped`, and
`python -m rlvr.models.regenerate` rebuilds it.) Supervised fine-tuning of the tiny Llama from
`rlvr.models.tiny` on chat-formatted problems of the bundled task's distribution, each paired with
one of *several valid solution paths* (direct sum, digit-wise decomposition, reordered operands,
different step orders for word problems). Problems are drawn from their own RNG stream, and every
question of the bundled task's splits (RL training, validation and test) is excluded: RL must
improve what the model can do, not sharpen answers it memorized.

Training stops early on purpose: the model has learned the format and the solution styles but
still makes arithmetic slips, so its Pass@1 is well below its Pass@k — the regime where RL with
verifiable rewards (and the choice of divergence) makes a visible difference in minutes on a CPU.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import torch

from rlvr.tasks.arith import INSTRUCTION, SIZES, _problem, generate

log = logging.getLogger(__name__)

# Which level each pre-training problem is drawn at (uniformly from this tuple).
LEVEL_MIX = (1, 1, 2, 3)

# The shipped model's recipe (`pretrain_stages`): each stage is pretrain_tiny_arith's keyword
# arguments, starting from the previous stage's weights. Stage 1 learns the format and level-1
# sums; stage 2, on fresh problems (another seed) with more level 2, sharpens them, so that some
# RL prompts are solved 8 times out of 8 (a D_pef for the rehearsal term) while most are not.
STAGES: tuple[dict, ...] = (
    {"steps": 1800, "levels": (1, 1, 1, 2, 3)},
    {"steps": 800, "lr": 1.5e-3, "seed": 1, "levels": (1, 1, 1, 2, 2, 3)},
)


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
    nums = [int(x) for x in re.findall(r"\d+", question)]
    if level == 3:  # "{name} has {k} boxes with {a} ... finds {b} more and loses {c}"
        return nums[:4]
    return nums[:3] if level == 2 else nums[:2]


def task_questions() -> set[str]:
    """Every question of the bundled arith task's splits (the RL prompts and the held-out ones)."""
    return {row["question"] for split in SIZES for row in generate(split)}


def sft_examples(num: int, seed: int = 0, levels: tuple[int, ...] = LEVEL_MIX) -> list[tuple[str, str]]:
    """(user message, assistant response) pairs; never a question of a bundled arith split."""
    banned = task_questions()
    rng = random.Random(f"pretrain/{seed}")
    out = []
    while len(out) < num:
        level = rng.choice(levels)
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


def _sft_loss(model, rows: list[tuple[list[int], list[int]]], pad_id: int) -> torch.Tensor:
    """Token-mean negative log-likelihood of the responses given their prompts (right-padded).

    Written out here rather than borrowed from the learner, so that learner changes cannot move
    the shipped weights' regeneration.
    """
    length = max(len(p) + len(r) for p, r in rows)
    ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), length), dtype=torch.long)
    targets = torch.full((len(rows), length), -100, dtype=torch.long)  # -100: ignored by the loss
    for i, (p, r) in enumerate(rows):
        seq = p + r
        ids[i, : len(seq)] = torch.tensor(seq)
        attention[i, : len(seq)] = 1
        targets[i, len(p) : len(seq)] = torch.tensor(r)
    logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets[:, 1:].reshape(-1), ignore_index=-100
    )


@contextlib.contextmanager
def deterministic_torch() -> Iterator[None]:
    """One thread and deterministic kernels (a float sum's order depends on the thread count)."""
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(threads)


def pretrain_tiny_arith(
    out: str | Path,
    *,
    steps: int = 1500,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    num_examples: int = 20000,
    levels: tuple[int, ...] = LEVEL_MIX,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_heads: int = 2,
    log_every: int = 100,
    init: str | Path | None = None,
) -> Path:
    """Build the tiny Llama in `out` and pre-train it; returns `out`. Same arguments, same bytes.

    `init`: a folder made by an earlier call; its weights and tokenizer are the start (a new
    optimizer and LR schedule, so a second stage can change the mix), and the model-size
    arguments are ignored."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr.models.tiny import build_tiny_model

    if steps < 1 or batch_size < 1 or num_examples < 1:
        raise ValueError(
            f"steps, batch_size and num_examples must be >= 1 (got {steps}, {batch_size}, {num_examples})"
        )
    settings = {
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "num_examples": num_examples,
        "levels": list(levels),
        "hidden_size": hidden_size,
        "num_layers": num_layers,
        "num_heads": num_heads,
    }
    out = Path(out)
    with deterministic_torch():
        if init is None:
            build_tiny_model(
                out, seed=seed, hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads
            )
        else:
            shutil.copytree(init, out, dirs_exist_ok=True)
        tokenizer = AutoTokenizer.from_pretrained(out)
        model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
        data = [_encode(tokenizer, u, r) for u, r in sft_examples(num_examples, seed, levels)]
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
            loss = _sft_loss(model, rows, tokenizer.pad_token_id)
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
    # Provenance: how these weights were made (build_tiny_model wrote the builder's part).
    (out / "rlvr_tiny.json").write_text(
        json.dumps({"builder": "rlvr.models.pretrain.pretrain_tiny_arith", **settings}, indent=2) + "\n"
    )
    return out


def pretrain_stages(out: str | Path, stages: tuple[dict, ...] = STAGES, **overrides) -> Path:
    """Run `stages` one after the other into `out` (`overrides` apply to every stage, e.g. a
    short `steps` for a test); `out/rlvr_tiny.json` records them all."""
    import tempfile

    if not stages:
        raise ValueError("no stages to run")
    out = Path(out)
    runs = [{**stage, **overrides} for stage in stages]
    with tempfile.TemporaryDirectory() as tmp:
        previous = None
        for i, kwargs in enumerate(runs):
            target = out if i == len(runs) - 1 else Path(tmp) / f"stage{i}"
            log.info("pre-training stage %d/%d: %s", i + 1, len(runs), kwargs)
            pretrain_tiny_arith(target, init=previous, **kwargs)
            previous = target
    write_provenance(out, runs)
    return out


def write_provenance(out: Path, runs: list[dict]) -> None:
    """`out/rlvr_tiny.json`: the stages that made the weights (what regenerate must re-run)."""
    stages_json = [{k: list(v) if isinstance(v, tuple) else v for k, v in r.items()} for r in runs]
    (Path(out) / "rlvr_tiny.json").write_text(
        json.dumps({"builder": "rlvr.models.pretrain.pretrain_stages", "stages": stages_json}, indent=2)
        + "\n"
    )
