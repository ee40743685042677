"""Padded vs packed rows (learner.pack_sequences): fwd+bwd time of one micro-batch of a real model.

Rows are --batch / --group prompts of --prompt tokens, each with --group responses (GRPO's samples
per prompt) of lengths drawn uniformly from [--min-response, --max-response] (seeded),
right-padded as the learner gets them. Three layouts run alternately --repeats times in one
process: padded rows; packed rows with SDPA over each packed row's 4-D mask (`rows`, before
attention per sequence); packed rows attending per sequence (`sequences`, packing.Segments, what
the learner does for SDPA models where the cost model picks it; `--gather-cost 0` forces it
wherever it computes fewer pairs). Prints the median seconds of each, their ratios, the padding
share of the padded layout, and the largest log-prob difference from the padded layout.

    .venv/bin/python -m bench.packing --model tiny --batch 32 --prompt 45 --max-response 48
    .venv/bin/python -m bench.packing --model smollm2-135m --batch 8 --prompt 120 --max-response 256
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rlvr.batch import pack_sequences
from rlvr.learner.logprobs import LogProbModel
from rlvr.learner.packing import ATTENTION


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny", help="a recipes/model/*.yaml name")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--group", type=int, default=8, help="responses per prompt")
    p.add_argument("--prompt", type=int, default=45)
    p.add_argument("--min-response", type=int, default=1)
    p.add_argument("--max-response", type=int, default=48)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--gather-cost",
        type=float,
        default=None,
        help="packing.GATHER_COST for the `sequences` layout (0: attend per sequence whenever it computes fewer pairs)",
    )
    args = p.parse_args()

    from transformers import AutoModelForCausalLM

    torch.set_num_threads(args.threads)
    from rlvr.config.load import compose_config
    from rlvr.trainer.components import ensure_model

    path = ensure_model(compose_config([f"model={args.model}"]).model)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    g = torch.Generator().manual_seed(args.seed)
    vocab = model.config.vocab_size
    prompts, responses = [], []
    for i in range(args.batch):
        if i % args.group == 0:
            prompt = torch.randint(3, vocab, (args.prompt,), generator=g).tolist()
        r = int(torch.randint(args.min_response, args.max_response + 1, (1,), generator=g))
        prompts.append(prompt)
        responses.append(torch.randint(3, vocab, (r,), generator=g).tolist())
    batch = pack_sequences(prompts, responses, pad_id=0)

    lp = LogProbModel(model, keep_logits_bytes=512 << 20, pack=True)  # routes SDPA through ATTENTION
    layouts = {"padded": (False, ATTENTION), "rows": (True, "sdpa"), "sequences": (True, ATTENTION)}

    def step(layout: str) -> tuple[float, torch.Tensor]:
        pack, attention = layouts[layout]
        model.config._attn_implementation = attention  # "sdpa": packed rows get no Segments
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        out = lp(
            batch.input_ids, batch.attention_mask, batch.loss_mask, pack=pack, gather_cost=args.gather_cost
        )
        (-(out["logprobs"] * batch.loss_mask).sum() / batch.loss_mask.sum()).backward()
        return time.perf_counter() - t0, out["logprobs"].detach()

    times: dict[str, list[float]] = {k: [] for k in layouts}
    logps = {}
    step("padded")  # warm-up (allocator, oneDNN)
    for _ in range(args.repeats):
        for layout in layouts:
            dt, logps[layout] = step(layout)
            times[layout].append(dt)
    model.config._attn_implementation = ATTENTION
    packing = lp.layout(batch.input_ids, batch.attention_mask, batch.loss_mask, args.gather_cost)
    shape = tuple(packing.input_ids.shape) if packing is not None else "not packed"
    real = int(batch.attention_mask.sum())
    padded = batch.input_ids.numel()
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"{args.model}, {args.batch} rows ({args.group} per prompt), prompt {args.prompt}, responses "
        f"{args.min_response}-{args.max_response}: {real} real tokens of {padded} padded "
        f"({1 - real / padded:.0%} padding); "
        f"padded {tuple(batch.input_ids.shape)}, packed {shape}"
        + (
            f", attention per sequence in {len(packing.segments.buckets)} groups"
            if packing and packing.segments
            else ""
        )
    )
    print(
        f"fwd+bwd padded {med['padded']:.3f} s, packed (mask over rows) {med['rows']:.3f} s, "
        f"packed (per sequence) {med['sequences']:.3f} s; rows/padded {med['rows'] / med['padded']:.2f}x, "
        f"sequences/padded {med['sequences'] / med['padded']:.2f}x, sequences/rows {med['sequences'] / med['rows']:.2f}x"
    )
    for layout in ("rows", "sequences"):
        diff = float((logps[layout] - logps["padded"]).abs().max())
        print(f"largest log-prob difference, {layout} vs padded: {diff:.2e}")


if __name__ == "__main__":
    main()
