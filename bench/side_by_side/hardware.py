"""Hardware limits the ratios are measured against: fp32 matmul GFLOP/s and a memcpy of a model's
weight bytes; plus the dense FLOPs of bench/learner_logprobs.py's forward + backward.

    .venv/bin/python -m bench.side_by_side.hardware MODEL_DIR [MODEL_DIR ...]   # one JSON line
"""

from __future__ import annotations

import argparse
import json
import time


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Peak fp32 GEMM throughput with torch's default threads: 2 n^3 FLOPs per n x n product, best
    of `repeats` (a limit: on a shared machine the best call is the one least disturbed)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)  # warm-up (thread pool, packing buffers)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / min(times) / 1e9


def memcpy_seconds(model_dir: str, repeats: int = 50) -> tuple[int, float]:
    """(weight bytes, best-of-`repeats` seconds) to copy every tensor of the model's safetensors into
    preallocated tensors of the same shape: the floor under any in-memory weight sync."""
    from pathlib import Path

    from safetensors.torch import load_file

    state = {}
    for f in sorted(Path(model_dir).glob("*.safetensors")):
        state |= load_file(str(f))
    if not state:
        raise FileNotFoundError(f"{model_dir}: no *.safetensors weights")
    dst = {k: v.clone() for k, v in state.items()}
    nbytes = sum(v.numel() * v.element_size() for v in state.values())
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        for k, v in state.items():
            dst[k].copy_(v)
        times.append(time.perf_counter() - t0)
    return nbytes, min(times[1:])


def learner_flops(
    *,
    vocab: int,
    hidden: int,
    layers: int,
    batch: int,
    seq: int,
    prompt: int,
    intermediate: int | None = None,
) -> float:
    """Useful dense FLOPs of one forward + backward of bench/learner_logprobs.py's chunked case.

    Per token and layer the body's matmuls are 4 h^2 (q, k, v, o) + 3 h I (gate, up, down)
    multiply-adds, attention 2 s h (scores and values over the full s x s square that SDPA computes);
    the LM head (h x vocab) runs only on the loss-mask positions. Backward = 2 x forward; the
    embedding lookup is no matmul; recomputation by checkpointing is not useful work.
    """
    inter = 4 * hidden if intermediate is None else intermediate
    tokens = batch * seq
    loss_tokens = batch * (seq - prompt)
    body = 2 * layers * tokens * (4 * hidden * hidden + 3 * hidden * inter + 2 * seq * hidden)
    head = 2 * loss_tokens * hidden * vocab
    return 3.0 * (body + head)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", help="model folders whose weight bytes are copied")
    p.add_argument("--matmul-size", type=int, default=2048)
    args = p.parse_args()
    import torch

    out = {"torch_threads": torch.get_num_threads(), "matmul_gflops": matmul_gflops(args.matmul_size)}
    out["memcpy"] = {}
    for m in args.models:
        nbytes, seconds = memcpy_seconds(m)
        out["memcpy"][m] = {"bytes": nbytes, "seconds": seconds}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
