"""`rlvr plan`'s learner estimate against a measured peak on CPU (one rank, ZeRO-0).

Measures resident memory (RSS, sampled every 2 ms from /proc) above the process's baseline after
imports: the peak over a second train step (the first allocates the optimizer states), with and
without gradient checkpointing, and prints it beside `learner_memory()` for the same shape.
CPU torch has no allocator statistics, so RSS is the measure; glibc's free lists are trimmed
before each reading so that freed memory is not counted twice.

    .venv/bin/python bench/plan_memory.py --model tiny-random --rows 8 --seq 512
    .venv/bin/python bench/plan_memory.py --model smollm2-135m --rows 2 --seq 512
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import sys
import threading
import time

# DeepSpeed's compiled ops are cached per venv, as the Makefile does; set before it is imported.
os.environ.setdefault("TORCH_EXTENSIONS_DIR", os.path.join(sys.prefix, "torch_extensions"))

import torch  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
MiB = 1024**2


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def trim() -> None:
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


class PeakRSS:
    def __enter__(self):
        self.peak, self._stop = rss(), threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss())


def measure(model_path: str, rows: int, seq: int, checkpointing: bool, chunk: int) -> dict[str, float]:
    from rlvr.batch import pack_sequences
    from rlvr.learner import Learner, LearnerOptions
    from rlvr.plan.memory import learner_memory
    from rlvr.plan.shapes import ModelShape

    class NLL:
        def __call__(self, outputs, batches):
            lp, m = outputs["rollout"].logprobs, batches["rollout"].loss_mask
            return -(lp * m).sum() / m.sum(), {}

    shape = ModelShape.from_pretrained(model_path)
    g = torch.Generator().manual_seed(0)
    half = seq // 2
    batch = pack_sequences(
        [torch.randint(3, shape.vocab, (half,), generator=g).tolist() for _ in range(rows)],
        [torch.randint(3, shape.vocab, (seq - half,), generator=g).tolist() for _ in range(rows)],
        pad_id=0,
    )
    trim()
    base = rss()
    opts = LearnerOptions(
        micro_batch_size=rows, gradient_checkpointing=checkpointing, logprob_chunk_size=chunk
    )
    learner = Learner(model_path, opts)
    learner.train_step({"rollout": batch}, NLL())
    trim()
    before = rss()
    with PeakRSS() as p:
        learner.train_step({"rollout": batch}, NLL())
    est = learner_memory(
        shape,
        world_size=1,
        zero_stage=0,
        dtype="float32",
        micro_batch_rows=rows,
        seq_len=seq,
        gradient_checkpointing=checkpointing,
        logprob_chunk_size=chunk,
    )
    del learner
    trim()
    return {
        "params_M": shape.params() / 1e6,
        "est_total": est.total / MiB,
        "meas_total": (p.peak - base) / MiB,
        "est_step": (est.total - est.weights - est.optimizer) / MiB,  # what a step adds
        "meas_step": (p.peak - before) / MiB,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-random", help="a `rlvr model prepare` name or a model folder")
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--chunk", type=int, default=1024)
    args = ap.parse_args()
    torch.set_num_threads(2)
    path = args.model
    if not os.path.isdir(path):
        from rlvr.models.prepare import prepare_model

        cache = os.path.expanduser(os.environ.get("RLVR_CACHE", "~/.cache/rlvr"))
        path = str(prepare_model(args.model, os.path.join(cache, "models", args.model)))
    print(f"{args.model}: {args.rows} rows x {args.seq} tokens, ZeRO-0 fp32, one rank, MiB above baseline")
    print(
        "checkpointing | params (M) | est. total | measured peak | ratio | est. step | measured step | ratio"
    )
    for ckpt in (False, True):
        r = measure(path, args.rows, args.seq, ckpt, args.chunk)
        print(
            f"{'on' if ckpt else 'off':>13} | {r['params_M']:10.1f} | {r['est_total']:10.0f} | "
            f"{r['meas_total']:13.0f} | {r['est_total'] / r['meas_total']:5.2f} | {r['est_step']:9.0f} | "
            f"{r['meas_step']:13.0f} | {r['est_step'] / r['meas_step']:5.2f}"
        )


if __name__ == "__main__":
    main()
