"""Learner ranks in spawned processes (gloo), for the ZeRO-3 gather test: one function per process.

Each process is one rank of a real DeepSpeed group; the parent only starts them and reads their
files. Kept out of the test module so that spawn can import it by name in the children.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

VOCAB = 96


def save_tiny_llama(out_dir: Path, *, tie: bool) -> Path:
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=tie,
        pad_token_id=0,
    )
    LlamaForCausalLM(config).save_pretrained(out_dir)
    return out_dir


def batch(n: int = 8):
    from rlvr.batch import pack_sequences

    g = torch.Generator().manual_seed(3)
    prompts = [torch.randint(3, VOCAB, (3 + i % 3,), generator=g).tolist() for i in range(n)]
    responses = [torch.randint(3, VOCAB, (4 + i % 4,), generator=g).tolist() for i in range(n)]
    return pack_sequences(prompts, responses, pad_id=0)


class ResponseNLL:
    needs_entropy = False

    def __call__(self, outputs, batches):
        lp, mask = outputs["rollout"].logprobs, batches["rollout"].loss_mask
        loss = -(lp * mask).sum() / mask.sum().clamp(min=1)
        return loss, {}


def train_and_gather(
    rank: int, world_size: int, port: int, model_path: str, zero_stage: int, out: str
) -> None:
    """Train one step on this rank's shard, then stream the weights through vLLM's trainer engine
    the way `NcclWeightSender.send` does: rank 0 as the sender (every tensor checked against the
    declared metadata by vLLM's `_checked_iter`), other ranks through vLLM's non-sender
    `send_weights` (they only join the gathers). Rank 0 saves what it would have broadcast."""
    os.environ.setdefault(
        "TORCH_EXTENSIONS_DIR", str(Path(__file__).resolve().parents[2] / ".venv" / "torch_extensions")
    )
    from vllm.distributed.weight_transfer.nccl_engine import NCCLTrainerWeightTransferEngine

    from rlvr.learner import Learner, LearnerOptions
    from rlvr.learner.distributed import Rendezvous
    from rlvr.learner.microbatch import shard_rows
    from rlvr.rollout.engines.vllm_nccl import GatheredWeightSource

    # DeepSpeed keeps parameters under 1e5 elements whole on every rank ("persistent"): all of a
    # tiny model's. Threshold 0 partitions every one, as a 7B model's big matrices are.
    overrides = {"zero_optimization": {"stage3_param_persistence_threshold": 0}} if zero_stage == 3 else {}
    learner = Learner(
        model_path,
        LearnerOptions(zero_stage=zero_stage, lr=1e-3, deepspeed_overrides=overrides),
        rendezvous=Rendezvous(rank, world_size, "127.0.0.1", port),
    )
    rows = batch()
    learner.train_step(
        {"rollout": rows.select(shard_rows(len(rows), world_size, rank))}, ResponseNLL(), micro_batch_size=2
    )
    source = GatheredWeightSource(learner.hf_model, zero3=learner.zero3, keep=rank == 0)
    engine = NCCLTrainerWeightTransferEngine(client=None, source=source, is_sender=rank == 0)
    local_shapes = {n: tuple(p.shape) for n, p in learner.hf_model.named_parameters()}
    if rank == 0:
        meta = source.metadata()
        sent = {name: t.detach().cpu().clone() for name, t in engine._checked_iter(source, meta)}
        torch.save(
            {"meta": {m.name: tuple(m.shape) for m in meta}, "sent": sent, "local_shapes": local_shapes}, out
        )
    else:
        engine.send_weights()
    # Leave together and close the process group before the interpreter exits: a rank that exits
    # while gloo still serves the other once died with "terminate called without an active
    # exception" (SIGABRT) in a full local suite.
    import torch.distributed as dist

    dist.barrier()
    dist.destroy_process_group()
