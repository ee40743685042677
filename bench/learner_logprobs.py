"""Peak memory and time of per-token log-probs: naive full-vocabulary log_softmax vs chunked.

Each (method, grad) case runs in a fresh subprocess so that its peak RSS is its own. Peak extra
RSS = process peak RSS minus RSS after the model and batch were built. Prints a Markdown table.

    .venv/bin/python bench/learner_logprobs.py                      # vocab 49152, hidden 256, 2 layers, 16x180
    .venv/bin/python bench/learner_logprobs.py --batch 64 --chunk 512
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import psutil
import torch

from rlvr.learner.options import LearnerOptions


def _build(args):
    from transformers import LlamaConfig, LlamaForCausalLM

    from rlvr.batch import TokenBatch

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=args.vocab,
        hidden_size=args.hidden,
        intermediate_size=4 * args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=max(1024, args.seq),
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    ids = torch.randint(0, args.vocab, (args.batch, args.seq))
    attn = torch.ones_like(ids)
    loss_mask = torch.zeros(args.batch, args.seq)
    loss_mask[:, args.prompt :] = 1.0  # response tokens
    return model, TokenBatch(ids, attn, loss_mask)


def _run_case(args) -> dict:
    from rlvr.learner.logprobs import naive_token_logprobs, token_logprobs

    torch.set_num_threads(args.threads)
    model, batch = _build(args)

    def once():
        model.zero_grad(set_to_none=True)
        with torch.set_grad_enabled(args.grad):
            if args.method == "naive":
                out = naive_token_logprobs(model, batch, with_entropy=args.entropy)
            else:
                out = token_logprobs(
                    model,
                    batch,
                    with_entropy=args.entropy,
                    chunk_tokens=args.chunk,
                    keep_logits_bytes=args.keep_logits_mib << 20,
                )
            if args.grad:
                loss = -(out.logprobs * batch.loss_mask).sum() / batch.loss_mask.sum()
                if args.entropy:
                    loss = loss - 0.01 * (out.entropy * batch.loss_mask).sum() / batch.loss_mask.sum()
                loss.backward()
        return out

    base_rss = psutil.Process().memory_info().rss
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {
        "base_mb": base_rss / 2**20,
        "peak_mb": peak / 2**20,
        "extra_mb": (peak - base_rss) / 2**20,
        "time_s": statistics.median(times),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vocab", type=int, default=49152)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=180)
    p.add_argument("--prompt", type=int, default=30, help="prompt tokens per row (outside the loss mask)")
    p.add_argument("--chunk", type=int, default=1024)
    p.add_argument(
        "--keep-logits-mib",
        type=int,
        default=LearnerOptions.logprob_keep_logits_mib,
        help="chunked: keep logits up to this size for backward instead of recomputing (the learner's default)",
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--entropy", action="store_true", help="also compute (and backprop) entropy")
    p.add_argument("--case", help=argparse.SUPPRESS)  # internal: method:grad
    args = p.parse_args()

    if args.case:
        args.method, grad = args.case.split(":")
        args.grad = grad == "grad"
        print(json.dumps(_run_case(args)))
        return

    fwd_tokens = args.batch * args.seq
    print(
        f"vocab {args.vocab}, hidden {args.hidden}, {args.layers} layers, {args.batch}x{args.seq} tokens "
        f"({args.batch * (args.seq - args.prompt)} in the loss mask), chunk {args.chunk}, "
        f"logits kept up to {args.keep_logits_mib} MiB, entropy {args.entropy}, "
        f"{args.threads} threads, median of {args.repeats}; one fp32 logits copy = "
        f"{fwd_tokens * args.vocab * 4 / 2**20:.0f} MiB\n"
    )
    print("| method | pass | time (s) | peak RSS (MiB) | peak extra RSS over model+batch (MiB) |")
    print("| --- | --- | --- | --- | --- |")
    passthrough = [a for a in sys.argv[1:]]
    for grad in ("nograd", "grad"):
        for method in ("naive", "chunked"):
            out = subprocess.run(
                [sys.executable, __file__, *passthrough, "--case", f"{method}:{grad}"],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            label = "forward + backward" if grad == "grad" else "forward (no grad)"
            print(
                f"| {method} | {label} | {r['time_s']:.2f} | {r['peak_mb']:.0f} | {r['extra_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
