"""TRL's GRPOTrainer on the identical work (work.py): HF generate, beta=0, rlvr's math verifier as
the reward. Prints one JSON line: per-step seconds, start-up, and whether TRL tokenized the prompts
to exactly rlvr's token ids (checked on the trainer itself before training; a mismatch exits 1).

    .venv/bin/python -m bench.side_by_side.trl_grpo --steps 12 [--launch-time EPOCH_SECONDS]

Mapping of the work onto GRPOConfig: per_device_train_batch_size=32 x gradient_accumulation_steps=8
= 256 completions (32 prompts x num_generations 8) per optimizer step, one generation per step
(steps_per_generation = accumulation steps, num_iterations 1), loss_type "bnpo" (token mean, as
rlvr's token-mean), clip 0.2, grad clip 1.0, constant lr 2e-4, fp32 on CPU, dataset in rlvr's draw
order with shuffle_dataset=False.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore", message="TRL currently supports vLLM")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--launch-time", type=float, default=None, help="epoch seconds the job was launched")
    args = p.parse_args()
    launch = args.launch_time or time.time()

    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from bench.side_by_side.work import Work, step_prompts, trl_rows
    from rlvr.trainer import components
    from verifiers import get_verifier

    work = Work(steps=args.steps)
    steps, model_path, _ = step_prompts(work)
    rows = trl_rows(steps)
    tokenizer = components.load_tokenizer(model_path)
    verifier = get_verifier("math")

    def math_reward(prompts, completions, answer, **_):
        texts = [c[-1]["content"] if isinstance(c, list) else c for c in completions]
        return [float(r.score) for r in verifier.verify_batch(texts, answer, [{}] * len(texts))]

    class StepClock(TrainerCallback):
        def __init__(self):
            self.first_begin_wall, self.begin, self.end = None, [], []

        def on_step_begin(self, args, state, control, **kwargs):
            if self.first_begin_wall is None:
                self.first_begin_wall = time.time()
            self.begin.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            self.end.append(time.perf_counter())

    out_dir = tempfile.mkdtemp(prefix="rlvr-bench-trl-")
    config = GRPOConfig(
        output_dir=out_dir,
        per_device_train_batch_size=work.micro_batch_size,
        gradient_accumulation_steps=work.completions_per_step // work.micro_batch_size,
        num_generations=work.n,
        max_completion_length=work.max_tokens,
        temperature=work.temperature,
        top_p=1.0,
        top_k=0,
        learning_rate=work.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=1.0,
        beta=0.0,
        num_iterations=1,
        epsilon=0.2,
        loss_type="bnpo",
        shuffle_dataset=False,
        max_steps=work.steps,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        fp16=False,
        seed=work.seed,
        dataloader_num_workers=0,
        log_completions=False,
        disable_tqdm=True,
    )
    clock = StepClock()
    trainer = GRPOTrainer(
        model=model_path,
        reward_funcs=math_reward,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[clock],
    )
    trl_ids, _, _ = trainer._tokenize_prompts([r["prompt"] for r in rows])
    rlvr_ids = [ids for step in steps for _, ids in step]
    identical = [list(map(int, x)) for x in trl_ids] == rlvr_ids
    if not identical:
        print("TRL's prompt token ids differ from rlvr's: the work is not identical", file=sys.stderr)
        sys.exit(1)

    trainer.train()
    shutil.rmtree(out_dir, ignore_errors=True)
    step_seconds = [clock.end[0] - clock.begin[0]] + [
        b - a for a, b in zip(clock.end, clock.end[1:], strict=False)
    ]
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    print(
        json.dumps(
            {
                "prompt_ids_identical": identical,
                "step_seconds": step_seconds,
                "startup_seconds": clock.first_begin_wall - launch,
                "reward_mean": rewards,
                "torch_threads": __import__("torch").get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
