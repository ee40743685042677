"""Weight sync, learner rank -> vLLM rollout worker, against a memcpy of the same bytes.

    .venv/bin/python -m bench.weight_sync                   # SmolLM2-135M (the issue's measure)
    .venv/bin/python -m bench.weight_sync --model tiny      # any recipes/model/*.yaml

Starts what `rlvr train` starts (a Ray local cluster, one DeepSpeed learner rank, one vLLM rollout
worker, each an actor with one CPU and the torch threads the trainer's thread plan gives it: every
core, since generation and learning take turns) and times, side by side on the same actors:

  via_driver   the learner returns its state dict to the driver, which puts it in the object store
               for the worker (the path before rlvr.rollout.stored_weights);
  stored       the learner puts its weights in the object store itself and the driver passes the
               handle on (what `rlvr train` does, its `time/sync`);
  worker       of `stored`, the part inside the worker: its zero-copy read of the object store
               and the engine's own load (vLLM's layerwise reload and CPU repacking);

each the median of --repeats calls after one warm-up, against the best of 50 memcpy's of the
model's bytes. Then the worker is restarted with `rollout.engine_options.cpu_linear=plain` (torch's
F.linear on the weights as loaded, so an update is one copy into them) and times again:

  stored_plain, worker_plain   as stored and worker, with plain weights;
  learner_put                  of stored, the learner's side: rank 0 putting its weights in the
                               object store (the same for both layouts);
  generate, generate_plain     what the packed GEMMs buy: one seeded generation of fixed token ids
                               (--prompts x 8 samples x 64 tokens, EOS ignored, log-probs on), the
                               median of --repeats after a warm-up, with each layout.

Last, the worker is restarted with plain weights and `weight_sync=shared_memory` (the learner
writes into slot files in /dev/shm laid out as vLLM holds its weights, the worker computes from
them; rlvr.rollout.shared_weights), opened as `rlvr train` opens it (SharedMemorySync):

  shared          the whole sync (`time/sync` in `rlvr train`);
  worker_shared   of shared, the worker switching to the slot just written;
  learner_write   of shared, rank 0 copying its weights into the free slot;
  generate_shared the same generation, computing from the slot.

Prints a Markdown table and one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics

from bench.rollout_throughput import median_seconds

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def warm_median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up
    return median_seconds(fn, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a recipes/model/*.yaml name")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--prompts", type=int, default=8, help="prompts per timed generation (x 8 samples)")
    args = parser.parse_args()

    import ray

    from bench.side_by_side.hardware import memcpy_seconds
    from rlvr.config.load import compose_config
    from rlvr.learner import LearnerGroup, LearnerOptions
    from rlvr.rollout import RolloutGroup, SamplingParams
    from rlvr.trainer.components import ensure_model, thread_plan
    from rlvr.trainer.weight_sync import SharedMemorySync

    cfg = compose_config([f"model={args.model}"])
    model_dir = ensure_model(cfg.model)
    threads = thread_plan(cfg.rollout, cfg.learner, cfg.cluster)  # as rlvr train gives them
    nbytes, copy = memcpy_seconds(model_dir)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        learner = LearnerGroup(1, model_dir, LearnerOptions(zero_stage=0, num_threads=threads.learner))
        prompts = [[1 + (7 * i + j) % 500 for j in range(24)] for i in range(args.prompts)]
        params = SamplingParams(n=8, temperature=1.0, max_tokens=64, ignore_eos=True, logprobs=True, seed=0)

        def start(cpu_linear: str, weight_sync: str = "auto") -> RolloutGroup:
            options = {"seed": 0, "max_model_len": 512, "cpu_linear": cpu_linear, "weight_sync": weight_sync}
            return RolloutGroup(
                1, "vllm", model_dir, options, num_cpus_per_worker=1, num_threads_per_worker=threads.rollout
            )

        def worker_median(group: RolloutGroup) -> float:
            return statistics.median(t["worker_seconds"] for t in group.sync_history[-args.repeats :])

        rollout = start("packed")
        seconds = {
            "via_driver": warm_median_seconds(
                lambda: rollout.update_weights(learner.state_dict_for_sync()), args.repeats
            ),
            "stored": warm_median_seconds(
                lambda: rollout.update_weights(learner.weights_for_sync()), args.repeats
            ),
        }
        seconds["worker"] = worker_median(rollout)
        seconds["generate"] = warm_median_seconds(lambda: rollout.generate(prompts, params), args.repeats)
        rollout.close()  # its CPU goes to the next worker
        rollout = start("plain")
        seconds["stored_plain"] = warm_median_seconds(
            lambda: rollout.update_weights(learner.weights_for_sync()), args.repeats
        )
        seconds["worker_plain"] = worker_median(rollout)
        # the other copy of every sync: the learner rank putting its weights in the object store
        seconds["learner_put"] = warm_median_seconds(learner.weights_for_sync, args.repeats)
        seconds["generate_plain"] = warm_median_seconds(
            lambda: rollout.generate(prompts, params), args.repeats
        )
        rollout.close()
        rollout = start("plain", "shared_memory")
        sync = SharedMemorySync(rollout, learner)
        seconds["shared"] = warm_median_seconds(sync.send, args.repeats)
        seconds["worker_shared"] = worker_median(rollout)
        # into the slot no worker computes from, as each send does
        seconds["learner_write"] = warm_median_seconds(
            lambda: learner.write_shared_weights(1 - sync.slot), args.repeats
        )
        seconds["generate_shared"] = warm_median_seconds(
            lambda: rollout.generate(prompts, params), args.repeats
        )
        sync.close()
        rollout.close()
        learner.shutdown()
    finally:
        ray.shutdown()

    print(
        f"\n{args.model}: {nbytes / 1e6:.0f} MB of weights; memcpy {copy * 1e3:.1f} ms (best of 50); "
        f"torch threads: {threads.rollout} per worker, {threads.learner} per rank\n"
    )
    print("| path | seconds | / memcpy |")
    print("| --- | --- | --- |")
    for name, s in seconds.items():
        if not name.startswith("generate"):
            print(f"| {name} | {s:.3f} | {s / copy:.1f}x |")
    print("\n| generation | seconds | / packed |")
    print("| --- | --- | --- |")
    for name in ("generate", "generate_plain", "generate_shared"):
        print(f"| {name} | {seconds[name]:.3f} | {seconds[name] / seconds['generate']:.2f}x |")
    print(
        json.dumps(
            {
                "model": args.model,
                "bytes": nbytes,
                "memcpy_seconds": copy,
                "threads": threads.rollout,
                **seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
