"""One-GPU smoke test for a first GPU run (about 10 minutes). NOT RUN YET: no GPU has been lent.

Checks what one device can, each in its own process (a crash or hang fails that row only):
  versions      torch/CUDA/driver/vllm/deepspeed/ray, and a CUDA device is present
  seeded        seeded vLLM generation twice: identical tokens
  logprobs      vLLM's prompt log-probs equal the HF model's (what the learner computes)
  sync_inproc   weight_sync=in_process: new weights change greedy output, old weights restore it
  sync_disk     the same through weight_sync=disk
  learner_z2    DeepSpeed world size 1 picks NCCL; ZeRO-2 bf16 trains a step, exports, checkpoints
  learner_z3    the same at ZeRO-3
  train         `rlvr train` 2 steps, rollout worker and learner sharing the GPU (0.4 each)
Prints a table and exits 1 if any row failed. On a machine without CUDA it refuses at once.

    python bench/gpu_smoke.py                      # tiny-random (prepared locally, no download)
    python bench/gpu_smoke.py --model /models/Qwen2.5-Math-7B --only seeded,logprobs
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TORCH_EXTENSIONS_DIR", os.path.join(sys.prefix, "torch_extensions"))

CHECKS = ["versions", "seeded", "logprobs", "sync_inproc", "sync_disk", "learner_z2", "learner_z3", "train"]
PROMPTS = [[1, 17, 42, 99, 7], [1, 5, 6, 7, 8, 9, 10], [1, 300, 12]]


def _engine(model: str, **kw):
    from rlvr.rollout.engines.vllm_engine import VLLMEngine

    return VLLMEngine(model, dtype="float32", seed=0, max_model_len=512, gpu_memory_utilization=0.3, **kw)


def check_versions(model: str, work: Path) -> str:
    import deepspeed
    import ray
    import torch
    import vllm

    driver = subprocess.run(
        ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
    ).stdout.strip()
    return (
        f"{torch.cuda.get_device_name(0)}, driver {driver}, torch {torch.__version__} (CUDA {torch.version.cuda}), "
        f"vllm {vllm.__version__}, deepspeed {deepspeed.__version__}, ray {ray.__version__}"
    )


def check_seeded(model: str, work: Path) -> str:
    from rlvr.rollout.types import SamplingParams

    engine = _engine(model)
    params = SamplingParams(n=4, temperature=1.0, max_tokens=32, seed=1234)
    a = [g.token_ids for g in engine.generate(PROMPTS, params)]
    b = [g.token_ids for g in engine.generate(PROMPTS, params)]
    assert a == b, "seeded generation differs between two calls"
    return f"{sum(map(len, a))} tokens identical"


def check_logprobs(model: str, work: Path) -> str:
    import torch
    from transformers import AutoModelForCausalLM

    from rlvr.batch import pack_sequences
    from rlvr.learner import naive_token_logprobs
    from rlvr.rollout.types import SamplingParams

    engine = _engine(model)
    gens = engine.generate(PROMPTS, SamplingParams(n=1, temperature=1.0, max_tokens=24, seed=7))
    engine.close()
    torch.backends.cuda.matmul.allow_tf32 = False  # compare fp32 with fp32
    hf = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32).cuda().eval()
    batch = pack_sequences([g.prompt_token_ids for g in gens], [g.token_ids for g in gens], pad_id=0).to(
        "cuda"
    )
    with torch.no_grad():
        lp = naive_token_logprobs(hf, batch).logprobs.cpu()
    worst = 0.0
    for i, g in enumerate(gens):
        cols = batch.loss_mask[i].cpu().nonzero().flatten()
        worst = max(worst, (lp[i, cols] - torch.tensor(g.logprobs)).abs().max().item())
    assert worst < 2e-3, f"vLLM sampler log-probs differ from HF's by {worst:.2e}"
    return f"max |vLLM - HF| = {worst:.1e} over {sum(len(g.token_ids) for g in gens)} tokens"


def _sync(model: str, how: str) -> str:
    import torch
    from safetensors.torch import load_file

    from rlvr.rollout.types import SamplingParams

    engine = _engine(model, weight_sync=how)
    greedy = SamplingParams(n=1, temperature=0.0, max_tokens=24)
    before = [g.token_ids for g in engine.generate(PROMPTS, greedy)]
    files = sorted(Path(model).glob("*.safetensors"))
    state = {k: v for f in files for k, v in load_file(str(f)).items()}
    gen = torch.Generator().manual_seed(1)
    engine.update_weights({k: v + 0.05 * torch.randn(v.shape, generator=gen) for k, v in state.items()})
    changed = [g.token_ids for g in engine.generate(PROMPTS, greedy)]
    engine.update_weights(state)
    restored = [g.token_ids for g in engine.generate(PROMPTS, greedy)]
    assert changed != before, f"weight_sync={how}: new weights did not change the output"
    assert restored == before, f"weight_sync={how}: reloading the original weights did not restore the output"
    return "changed, then restored"


def check_sync_inproc(model: str, work: Path) -> str:
    return _sync(model, "in_process")


def check_sync_disk(model: str, work: Path) -> str:
    return _sync(model, "disk")


def _learner(model: str, work: Path, stage: int) -> str:
    import torch
    import torch.distributed as dist

    from rlvr.batch import pack_sequences
    from rlvr.learner import Learner, LearnerOptions

    class NLL:
        def __call__(self, outputs, batches):
            lp, m = outputs["rollout"].logprobs, batches["rollout"].loss_mask
            return -(lp * m).sum() / m.sum(), {}

    learner = Learner(model, LearnerOptions(zero_stage=stage, dtype="bfloat16", lr=1e-4))
    assert dist.get_backend() == "nccl", f"DeepSpeed picked {dist.get_backend()}, not nccl"
    batch = pack_sequences([p for p in PROMPTS] * 2, [[11, 12, 13, 14]] * 6, pad_id=0)
    before = learner.state_dict_for_sync()
    metrics = learner.train_step({"rollout": batch}, NLL(), micro_batch_size=3)
    after = learner.state_dict_for_sync()
    assert torch.isfinite(torch.tensor(metrics["loss"])) and metrics["grad_norm"] > 0, metrics
    assert any(not torch.equal(before[k], after[k]) for k in after), "a step changed no weight"
    out = learner.export_hf(work / f"export_z{stage}")
    assert (out / "config.json").exists()
    tag = learner.save_checkpoint(work / f"ckpt_z{stage}", {"x": 1})
    assert learner.load_checkpoint(work / f"ckpt_z{stage}") == {"x": 1}
    peak = torch.cuda.max_memory_allocated() / 2**30
    return f"nccl, loss {metrics['loss']:.3f}, exported, checkpoint {tag}; peak {peak:.2f} GiB"


def check_learner_z2(model: str, work: Path) -> str:
    return _learner(model, work, 2)


def check_learner_z3(model: str, work: Path) -> str:
    return _learner(model, work, 3)


def check_train(model: str, work: Path) -> str:
    cmd = [
        str(Path(sys.executable).parent / "rlvr"),
        "train",
        f"model.path={model}",
        "model.prepare=null",
        "model.name=smoke",
        "algorithm=grpo",
        "divergence=none",
        "steps=2",
        "prompts_per_step=4",
        "rollout.sampling.n=4",
        "rollout.sampling.max_tokens=32",
        "eval.n=0",
        "logger.progress=false",
        "cluster.num_gpus=1",
        "rollout.num_gpus_per_worker=0.4",
        "learner.num_gpus_per_rank=0.4",
        "++rollout.engine_options.gpu_memory_utilization=0.3",
        f"hydra.run.dir={work / 'train'}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=500)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (work / "train" / "final" / "config.json").exists(), "no exported final model"
    return "2 steps, final model exported"


def _run_one(name: str, model: str, work: str) -> None:
    """Child process: run one check, print its JSON result as the last line."""
    try:
        detail, ok = globals()[f"check_{name}"](model, Path(work)), True
    except BaseException as e:  # noqa: BLE001 - every failure becomes a table row
        detail, ok = f"{type(e).__name__}: {e}"[:400], False
    print(json.dumps({"ok": ok, "detail": detail}), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-random", help="a model folder, or a `rlvr model prepare` name")
    ap.add_argument("--only", help=f"comma-separated subset of {','.join(CHECKS)}")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per check")
    ap.add_argument("--_check", help=argparse.SUPPRESS)
    ap.add_argument("--_work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._check:
        _run_one(args._check, args.model, args._work)
        return 0
    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_smoke: no CUDA device (torch.cuda.is_available() is False); run it on a GPU machine",
            file=sys.stderr,
        )
        return 2
    model = args.model
    if not Path(model).is_dir():
        from rlvr.models.prepare import prepare_model

        model = str(prepare_model(model, Path(tempfile.mkdtemp(prefix="gpu-smoke-model-")) / model))
    checks = args.only.split(",") if args.only else CHECKS
    unknown = sorted(set(checks) - set(CHECKS))
    if unknown:
        ap.error(f"unknown check(s) {unknown}; choose from {CHECKS}")
    rows, work = [], Path(tempfile.mkdtemp(prefix="gpu-smoke-"))
    for name in checks:
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--model", model, "--_check", name, "--_work", str(work)],
                capture_output=True,
                text=True,
                timeout=args.timeout,
            )
            last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            result = (
                json.loads(last)
                if last.startswith("{")
                else {"ok": False, "detail": f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
            )
        except subprocess.TimeoutExpired:
            result = {"ok": False, "detail": f"timed out after {args.timeout}s"}
        rows.append((name, result["ok"], time.perf_counter() - t0, result["detail"]))
        print(
            f"{name:<12} {'PASS' if result['ok'] else 'FAIL'} {rows[-1][2]:6.1f}s  {result['detail']}",
            flush=True,
        )
    print("\n| check | result | seconds | detail |\n|---|---|---|---|")
    for name, ok, secs, detail in rows:
        print(f"| {name} | {'PASS' if ok else 'FAIL'} | {secs:.0f} | {detail} |")
    return 0 if all(ok for _, ok, _, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
