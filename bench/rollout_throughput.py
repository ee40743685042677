"""Rollout throughput (vLLM vs transformers generate) and weight-sync time on the tiny model.

    .venv/bin/python bench/rollout_throughput.py                 # engines + in-process/disk sync
    .venv/bin/python bench/rollout_throughput.py --ray-workers 2 # + RolloutGroup broadcast

Same prompts (chat-formatted arithmetic questions), same max_tokens, EOS ignored so both engines
generate exactly prompts x n x max_tokens tokens. Each engine gets one warm-up call; the number
reported is the median of --repeats timed calls. Prints a Markdown table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--ray-workers", type=int, default=0, help="also time a RolloutGroup broadcast")
    args = parser.parse_args()

    import torch

    from rlvr.models import build_tiny_model, count_parameters
    from rlvr.models.arithmetic_corpus import arithmetic_corpus
    from rlvr.rollout import SamplingParams
    from rlvr.rollout.engines import HFEngine, VLLMEngine

    tmp = tempfile.TemporaryDirectory(prefix="rlvr-bench-")
    model_dir = build_tiny_model(tmp.name, seed=0, hidden_size=args.hidden_size, num_layers=args.num_layers)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    questions = [line.split("\n")[0] for line in arithmetic_corpus(args.prompts, seed=1)]
    prompts = [
        tok.apply_chat_template(
            [{"role": "user", "content": q[:200]}], add_generation_prompt=True, tokenize=True
        )["input_ids"]
        for q in questions
    ]
    params = SamplingParams(n=args.n, temperature=1.0, max_tokens=args.max_tokens, ignore_eos=True)
    tokens = len(prompts) * args.n * args.max_tokens
    state = {k: v.clone() for k, v in HFEngine(str(model_dir)).model.state_dict().items()}
    results: dict = {
        "params": count_parameters(model_dir),
        "prompts": len(prompts),
        "n": args.n,
        "max_tokens": args.max_tokens,
        "torch_threads": torch.get_num_threads(),
    }

    hf = HFEngine(str(model_dir), batch_size=len(prompts) * args.n)
    hf.generate(prompts, params)
    results["hf_seconds"] = median_seconds(lambda: hf.generate(prompts, params), args.repeats)
    results["hf_sync_seconds"] = median_seconds(lambda: hf.update_weights(state), args.repeats)
    hf.close()

    start = time.perf_counter()
    vllm = VLLMEngine(str(model_dir), seed=0, max_model_len=512)
    results["vllm_startup_seconds"] = time.perf_counter() - start
    vllm.generate(prompts, params)
    results["vllm_seconds"] = median_seconds(lambda: vllm.generate(prompts, params), args.repeats)
    results["vllm_sync_in_process_seconds"] = median_seconds(lambda: vllm.update_weights(state), args.repeats)
    vllm.close()
    disk = VLLMEngine(str(model_dir), seed=0, max_model_len=512, weight_sync="disk")
    results["vllm_sync_disk_seconds"] = median_seconds(lambda: disk.update_weights(state), args.repeats)
    disk.close()

    if args.ray_workers:
        import ray

        from rlvr.rollout import RolloutGroup

        ray.init(address="local", num_cpus=args.ray_workers, include_dashboard=False, log_to_driver=False)
        group = RolloutGroup(args.ray_workers, "vllm", str(model_dir), {"max_model_len": 512})
        group.generate(prompts, params)
        results["group_seconds"] = median_seconds(lambda: group.generate(prompts, params), args.repeats)
        timings = [group.update_weights(state) for _ in range(args.repeats)]
        results["group_sync_seconds"] = statistics.median(t["total_seconds"] for t in timings)
        results["group_sync_put_seconds"] = statistics.median(t["put_seconds"] for t in timings)
        group.close()
        ray.shutdown()

    for name in ("hf", "vllm", "group"):
        if f"{name}_seconds" in results:
            results[f"{name}_tokens_per_second"] = tokens / results[f"{name}_seconds"]
    print(
        f"\ntiny Llama {results['params'] / 1e6:.2f}M params, {len(prompts)} prompts x n={args.n} x {args.max_tokens} tokens"
    )
    print("| measurement | value |\n| --- | --- |")
    for key, value in results.items():
        print(f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
