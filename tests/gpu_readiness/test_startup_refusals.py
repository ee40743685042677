"""What a GPU run refuses at start-up, and where the reference model is placed; all on CPU."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from rlvr.config import compose_config
from rlvr.learner.options import LearnerOptions
from rlvr.plan.shapes import KNOWN_CONFIGS
from rlvr.trainer.reference import reference_device


def _options(**learner):
    return LearnerOptions.from_mapping(
        {**dataclasses.asdict(compose_config(["model=tiny-random"]).learner), **learner}
    )


def test_learner_ranks_sharing_a_gpu_are_refused():
    with pytest.raises(ValueError, match=r"learner.num_gpus_per_rank=0.5 with learner.world_size=2: .*NCCL"):
        _options(world_size=2, num_gpus_per_rank=0.5)
    # One rank may share its device (e.g. with a rollout worker); whole GPUs and CPU ranks are fine.
    assert _options(world_size=1, num_gpus_per_rank=0.5).num_gpus_per_rank == 0.5
    assert _options(world_size=2, num_gpus_per_rank=1).num_gpus_per_rank == 1
    assert _options(world_size=2, num_gpus_per_rank=0).num_gpus_per_rank == 0


def test_gradient_checkpointing_is_settable_from_a_recipe():
    cfg = compose_config(["model=tiny-random", "learner.gradient_checkpointing=true"])
    assert LearnerOptions.from_mapping(dataclasses.asdict(cfg.learner)).gradient_checkpointing is True
    assert _options().gradient_checkpointing is False


@pytest.fixture
def seven_b_folder(tmp_path):
    """A folder holding only a 7B model's config.json: sizing reads no weights."""
    (tmp_path / "config.json").write_text(json.dumps(KNOWN_CONFIGS["Qwen/Qwen2.5-Math-7B"]))
    return tmp_path


def test_disk_weight_sync_refuses_a_7b_model_unless_allowed(seven_b_folder):
    from rlvr.rollout.engines.vllm_engine import VLLMEngine, check_disk_sync_size

    # Refused in the engine's constructor, before vLLM loads anything.
    with pytest.raises(
        ValueError, match=r"weight_sync=disk would write 14.2 GiB .*allow_large_disk_sync=true"
    ):
        VLLMEngine(str(seven_b_folder), dtype="bfloat16", in_process=False, weight_sync="disk")
    check_disk_sync_size(str(seven_b_folder), "bfloat16", max_gib=16)  # under a raised limit: no error
    with pytest.raises(ValueError, match="disk_sync_max_gib=2.0"):
        check_disk_sync_size(str(seven_b_folder), "bfloat16", max_gib=2.0)


def test_disk_sync_size_of_another_architecture_comes_from_its_weight_files(tmp_path):
    from rlvr.rollout.engines.vllm_engine import check_disk_sync_size

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 64}))
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 3 * 2**20)
    check_disk_sync_size(str(tmp_path), "float32", max_gib=0.01)
    with pytest.raises(ValueError, match=r"would write 0.0 GiB .*disk_sync_max_gib=0.001"):
        check_disk_sync_size(str(tmp_path), "float32", max_gib=0.001)


@pytest.mark.parametrize(
    ("gpu_ids", "cuda", "expected"),
    [([], False, "cpu"), ([], True, "cpu"), ([3], True, "cuda:0"), (["GPU-7f2a"], True, "cuda:0")],
)
def test_reference_runs_on_the_gpu_ray_assigned(gpu_ids, cuda, expected):
    # Ray narrows CUDA_VISIBLE_DEVICES to the assigned GPUs, so the first is cuda:0 whatever its id.
    assert reference_device(gpu_ids, cuda) == torch.device(expected)


def test_reference_with_a_gpu_but_no_cuda_build_is_an_error():
    with pytest.raises(RuntimeError, match=r"assigned GPU\(s\) \[0\].*torch.cuda.is_available\(\) is False"):
        reference_device([0], False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_nccl_weight_sync_on_cpu_is_refused_naming_the_key(seven_b_folder):
    from rlvr.rollout.engines.vllm_engine import VLLMEngine
    from rlvr.rollout.engines.vllm_nccl import NcclWeightSender

    with pytest.raises(ValueError, match=r"rollout.engine_options.weight_sync=nccl needs GPUs"):
        VLLMEngine(str(seven_b_folder), weight_sync="nccl")
    with pytest.raises(RuntimeError, match=r"rollout.engine_options.weight_sync=nccl needs a CUDA device"):
        NcclWeightSender(
            torch.nn.Linear(2, 2), rank=0, zero3=False, client=None, master_address="127.0.0.1", master_port=1
        )


def _sync_config(*overrides):
    return compose_config(["model=tiny-random", *overrides])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_trainer_refuses_nccl_sync_before_starting_anything():
    from rlvr.trainer.components import check_weight_sync

    def check(*overrides):
        cfg = _sync_config(*overrides)
        check_weight_sync(cfg.rollout, cfg.learner, cfg.cluster)

    gpus = ("rollout.num_gpus_per_worker=1", "learner.num_gpus_per_rank=1")
    nccl = "rollout.engine_options.weight_sync=nccl"
    # A local cluster on this CPU machine: no CUDA.
    with pytest.raises(ValueError, match=r"^rollout.engine_options.weight_sync=nccl needs CUDA, .*no CUDA"):
        check(nccl, *gpus)
    # Whatever the machine: NCCL needs a whole GPU per group member, and the vllm engine.
    with pytest.raises(
        ValueError,
        match=r"weight_sync=nccl needs a whole GPU .*rollout.num_gpus_per_worker=0.5, "
        r"learner.num_gpus_per_rank=1\)",
    ):
        check(nccl, "rollout.num_gpus_per_worker=0.5", "learner.num_gpus_per_rank=1", "cluster.address=auto")
    with pytest.raises(ValueError, match=r"weight_sync=nccl needs a whole GPU .*num_gpus_per_rank=0\)"):
        check(nccl, "rollout.num_gpus_per_worker=1", "cluster.address=auto")
    with pytest.raises(ValueError, match=r"weight_sync=nccl needs rollout.engine=vllm \(got 'hf'\)"):
        check(nccl, "rollout.engine=hf", *gpus)
    # A remote cluster with whole GPUs: its actors check their own devices.
    check(nccl, *gpus, "cluster.address=auto")
    with pytest.raises(
        ValueError, match=r"weight_sync='nccI'; choose one of auto, in_process, disk, nccl, shared_memory$"
    ):
        check("rollout.engine_options.weight_sync=nccI")
    for ok in ("in_process", "disk", "auto"):
        check(f"rollout.engine_options.weight_sync={ok}")
    check()


def test_trainer_refuses_a_cpu_linear_layout_it_cannot_run_before_starting_anything():
    from rlvr.trainer.components import check_weight_sync

    def check(*overrides):
        cfg = _sync_config(*overrides)
        check_weight_sync(cfg.rollout, cfg.learner, cfg.cluster)

    with pytest.raises(
        ValueError, match=r"^rollout.engine_options.cpu_linear='flat'; choose one of packed, plain$"
    ):
        check("+rollout.engine_options.cpu_linear=flat")
    with pytest.raises(
        ValueError, match=r"cpu_linear=plain .* needs weight_sync=in_process or shared_memory \(got 'disk'\)"
    ):
        check("+rollout.engine_options.cpu_linear=plain", "rollout.engine_options.weight_sync=disk")
    for ok in ("packed", "plain"):
        check(f"+rollout.engine_options.cpu_linear={ok}")
        check(f"+rollout.engine_options.cpu_linear={ok}", "rollout.engine_options.weight_sync=in_process")


def test_trainer_refuses_shared_memory_weights_it_cannot_run_before_starting_anything():
    from rlvr.trainer.components import check_weight_sync

    def check(*overrides):
        cfg = _sync_config("rollout.engine_options.weight_sync=shared_memory", *overrides)
        check_weight_sync(cfg.rollout, cfg.learner, cfg.cluster)

    with pytest.raises(
        ValueError,
        match=r"weight_sync=shared_memory .* needs rollout.engine_options.cpu_linear=plain \(got 'packed'\)",
    ):
        check()
    plain = "+rollout.engine_options.cpu_linear=plain"
    with pytest.raises(ValueError, match=r"weight_sync=shared_memory needs rollout.engine=vllm \(got 'hf'\)"):
        check(plain, "rollout.engine=hf")
    with pytest.raises(ValueError, match=r"weight_sync=shared_memory is for CPU runs"):
        check(plain, "rollout.num_gpus_per_worker=1")
    with pytest.raises(ValueError, match=r"weight_sync=shared_memory is for CPU runs"):
        check(plain, "learner.num_gpus_per_rank=1")
    check(plain)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_rlvr_train_refuses_nccl_sync_in_one_line(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlvr.cli",
            "train",
            "model=tiny-random",
            "rollout.engine_options.weight_sync=nccl",
            "rollout.num_gpus_per_worker=1",
            "learner.num_gpus_per_rank=1",
            f"hydra.run.dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    lines = [line for line in out.stderr.strip().splitlines() if "weight_sync" in line]
    assert len(lines) == 1 and "rollout.engine_options.weight_sync=nccl needs CUDA" in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_auto_weight_sync_with_plain_layers_shares_memory_where_dev_shm_has_room(monkeypatch):
    from pathlib import Path

    import rlvr.rollout.shared_weights as shared_weights
    from rlvr.trainer.components import resolve_weight_sync

    model = str(Path(shared_weights.__file__).parents[1] / "models" / "weights" / "tiny-arith-v2")
    nbytes = 2_230_784  # its 557,696 fp32 parameters

    def resolve(free: int, *overrides) -> tuple[str, str]:
        monkeypatch.setattr(shared_weights, "free_bytes", lambda directory: free)
        cfg = _sync_config(*overrides)
        chosen = resolve_weight_sync(cfg.rollout, cfg.learner, cfg.cluster, model, "float32")
        return chosen, cfg.rollout.engine_options.get("weight_sync", "auto")

    plain = "+rollout.engine_options.cpu_linear=plain"
    # two slots and a quarter to spare: 2.5 x the weights
    assert resolve(int(2.5 * nbytes), plain) == ("shared_memory", "shared_memory")
    assert resolve(int(2.5 * nbytes) - 1, plain) == ("in_process", "in_process")
    # everywhere else auto stays the engine's own choice, and an explicit choice stays
    assert resolve(1 << 40) == ("auto", "auto")  # packed layers
    assert resolve(1 << 40, plain, "rollout.engine_options.weight_sync=in_process") == (
        "in_process",
        "in_process",
    )
    assert resolve(1 << 40, plain, "cluster.address=auto") == ("auto", "auto")
    assert resolve(1 << 40, plain, "rollout.num_gpus_per_worker=1") == ("auto", "auto")
    assert resolve(1 << 40, plain, "learner.num_gpus_per_rank=1") == ("auto", "auto")
    assert resolve(1 << 40, plain, "rollout.engine=hf") == ("auto", "auto")
