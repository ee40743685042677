"""One learner rank: a Hugging Face causal LM trained by a DeepSpeed engine.

The learner knows nothing about algorithms. A step gets named token batches and a loss function
from the trainer; the learner computes per-token log-probs (chunked, see logprobs.py), calls the
loss, and runs backward and the optimizer. Run one per process: directly for world size 1, or
one per Ray actor through `LearnerGroup` (group.py).

Gradient scale with accumulation. A step of n micro-batches (per rank) backpropagates
`loss_fn(micro) / n` for each micro-batch, and DeepSpeed averages gradients over the R ranks, so
the update uses

    g = 1/(n R) * sum over all micro-batches of all ranks of grad loss_fn(micro-batch).

With equal-size micro-batches this is the gradient of the loss over the whole global batch when
loss_fn is a per-sequence mean; a token-mean loss gets the mean of per-micro-batch token-means
(exact when micro-batches hold equal token counts). One rank with n micro-batches and R ranks with
n/R each give the same update (tested). DeepSpeed's own accumulation counter is off
(`managed_gradient_accumulation: false`): `engine.step()` is the boundary, so n may change from
step to step.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as dist

from rlvr.batch import TokenBatch
from rlvr.learner.distributed import Rendezvous, init_process_group, rng_state, seed_everything, set_rng_state
from rlvr.learner.logprobs import LogProbModel, LogProbOutput, check_packing
from rlvr.learner.microbatch import plan_micro_batches, plan_separate_micro_batches, stack_sources
from rlvr.learner.options import LearnerOptions, deepspeed_config
from rlvr.learner.schedule import WarmupSchedule
from rlvr.learner.weights import full_shape, gather_full_state_dict, save_hf_folder
from rlvr.rollout.shared_weights import SharedLayout, SharedSlots, create_slot_files, remove_slot_files
from rlvr.rollout.stored_weights import StoredWeights, put_weights


class LossFn(Protocol):
    """What the trainer passes to `train_step` (picklable: it crosses into Ray actors).

    Called once per micro-batch with each source's log-probs and the source's micro-batch (rows
    and columns aligned, [B_s, L_s]). Returns a scalar loss, treated as the mean over the
    micro-batch, and float metrics that the learner averages over micro-batches (and ranks).
    Set a class attribute `needs_entropy = True` to get `LogProbOutput.entropy`, and
    `separate_sources = True` for micro-batches holding one source each (DPH-RL's weighting).
    """

    def __call__(
        self, outputs: dict[str, LogProbOutput], batches: dict[str, TokenBatch]
    ) -> tuple[torch.Tensor, Mapping[str, float | torch.Tensor]]: ...


class Learner:
    """One data-parallel rank. Every rank of a group must call the same methods in the same order
    with shards of equal size (ZeRO collectives run inside forward, backward and step)."""

    def __init__(
        self,
        model_path: str | Path,
        options: LearnerOptions | None = None,
        *,
        rendezvous: Rendezvous | None = None,
    ) -> None:
        import deepspeed
        from transformers import AutoModelForCausalLM

        self.options = options = options or LearnerOptions()
        self.model_path = Path(model_path)
        if options.num_threads > 0:
            torch.set_num_threads(options.num_threads)
        self.rank, self.world_size = init_process_group(rendezvous, options.dist_backend)
        seed_everything(options.seed + self.rank)
        self.zero3 = options.zero_stage == 3

        hf = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=options.torch_dtype)
        if options.gradient_checkpointing:
            hf.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        # train() for HF gradient checkpointing, dropout off: log-probs must match the sampler's
        # (which never drops out), or importance ratios are noise.
        _disable_dropout(hf)
        hf.train()
        self.hf_model = hf
        pad = getattr(hf.config, "pad_token_id", None)
        self.pad_id = int(pad) if pad is not None else 0  # pad columns are masked; any valid id works

        decay, no_decay = [], []
        for p in hf.parameters():
            if p.requires_grad:
                # Norm weights and biases (1-D) are not decayed, as is standard for transformers.
                (decay if p.dim() >= 2 else no_decay).append(p)
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": options.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=options.lr,
            betas=options.betas,
            eps=options.adam_eps,
        )
        schedule = WarmupSchedule(
            options.warmup_steps, options.lr_schedule, options.total_steps, options.min_lr_ratio
        )
        self.ds_config = deepspeed_config(options, self.world_size)
        # Stage 0 in fp32 hands the torch optimizer to DeepSpeed unwrapped, and DeepSpeed clips
        # without keeping the norm: clip in a step pre-hook instead (grads are already all-reduced
        # there) and keep the pre-clip norm for metrics.
        self._own_clip = options.zero_stage == 0 and options.dtype == "float32"
        if self._own_clip:
            self.ds_config["gradient_clipping"] = 0.0
            optimizer.register_step_pre_hook(self._clip_pre_hook)
        self._grad_norm: float | None = None
        self.engine, _, _, self.lr_scheduler = deepspeed.initialize(
            model=LogProbModel(
                hf, options.logprob_chunk_size, options.logprob_keep_logits_mib << 20, options.pack_sequences
            ),
            optimizer=optimizer,
            # A callable: DeepSpeed builds the scheduler on the optimizer it actually steps.
            lr_scheduler=partial(torch.optim.lr_scheduler.LambdaLR, lr_lambda=schedule),
            config=self.ds_config,
        )
        self.device = self.engine.device
        if options.pack_sequences:  # every rank runs the same two tiny forwards (ZeRO-3 gathers)
            check_packing(self.engine.module, self.engine)
        self._weight_sender = None  # NcclWeightSender, once open_weight_sync ran
        self._shared_slots: SharedSlots | None = None  # rank 0, weight_sync=shared_memory

    # ------------------------------------------------------------------ training

    def train_step(
        self,
        batches: dict[str, TokenBatch],
        loss_fn: LossFn | Callable,
        *,
        micro_batch_size: int | None = None,
    ) -> dict[str, float]:
        """One optimizer step over `batches` (this rank's shard of every source).

        Every source is split into the same number of micro-batches, n = ceil(largest source /
        micro_batch_size), each backpropagating loss / n. A loss_fn with `separate_sources = True`
        gets micro-batches of one source each instead, weighted by their share of the step's rows
        (plan_separate_micro_batches). Returns loss_fn's metrics averaged over micro-batches, plus "loss",
        "grad_norm" (before clipping), "lr" (used by this update), "tokens" (non-padding tokens
        processed), "tokens_per_s", "time_s", "micro_batches" and "step" (optimizer steps so far).
        """
        t0 = time.perf_counter()
        mbs = micro_batch_size or self.options.micro_batch_size
        if getattr(loss_fn, "separate_sources", False):
            weighted = plan_separate_micro_batches(batches, mbs)
        else:
            plans = plan_micro_batches(batches, mbs)
            weighted = [(micro, 1.0 / len(plans)) for micro in plans]
        n = len(weighted)
        with_entropy = bool(getattr(loss_fn, "needs_entropy", False))
        sums: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        loss_sum, tokens = 0.0, 0
        for micro, weight in weighted:
            micro = {name: b.to(self.device) for name, b in micro.items()}
            outputs = self._forward(micro, with_entropy=with_entropy)
            loss, metrics = loss_fn(outputs, micro)
            if not (isinstance(loss, torch.Tensor) and loss.dim() == 0):
                raise TypeError(
                    f"loss_fn must return (scalar tensor, metrics), got {type(loss).__name__} as the loss"
                )
            self.engine.backward(loss * weight, scale_wrt_gas=False)
            loss_sum += weight * float(loss.detach())
            # With separate sources a metric comes from the micro-batches of its source only.
            for k, v in metrics.items():
                sums[k] += float(v.detach() if isinstance(v, torch.Tensor) else v)
                counts[k] += 1
            tokens += sum(int(b.attention_mask.sum()) for b in micro.values())
        lr = float(self.engine.get_lr()[0])
        self._grad_norm = None
        self.engine.step()
        elapsed = time.perf_counter() - t0
        grad_norm = self._grad_norm if self._own_clip else self.engine.get_global_grad_norm()
        out = {k: v / counts[k] for k, v in sums.items()}
        out.update(
            loss=loss_sum,
            grad_norm=float(grad_norm) if grad_norm is not None else math.nan,
            lr=lr,
            tokens=float(tokens),
            tokens_per_s=tokens / elapsed,
            time_s=elapsed,
            micro_batches=float(n),
            step=float(self.global_step),
        )
        return out

    def _forward(self, micro: dict[str, TokenBatch], *, with_entropy: bool) -> dict[str, LogProbOutput]:
        """All sources of a micro-step in one engine forward (see microbatch.py for why)."""
        stacked = stack_sources(micro, self.pad_id)
        out = self.engine(
            stacked.input_ids,
            stacked.attention_mask,
            stacked.select,
            temperature=self.options.temperature,
            with_entropy=with_entropy,
        )
        logps = stacked.unstack(out["logprobs"])
        ents = stacked.unstack(out["entropy"]) if with_entropy else {}
        return {name: LogProbOutput(logprobs=logps[name], entropy=ents.get(name)) for name in micro}

    def _clip_pre_hook(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        max_norm = self.options.grad_clip if self.options.grad_clip > 0 else math.inf
        self._grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))

    @property
    def global_step(self) -> int:
        """Optimizer steps taken (restored by load_checkpoint)."""
        return int(self.engine.global_steps)

    # ------------------------------------------------------------------ scoring

    @torch.no_grad()
    def compute_logprobs(
        self,
        batch: TokenBatch,
        micro_batch_size: int | None = None,
        *,
        temperature: float | None = None,
        all_tokens: bool = False,
    ) -> torch.Tensor:
        """Log-probs [B, L] (float32, CPU) of the current weights on loss-mask positions (or every
        non-padding position with `all_tokens`), 0 elsewhere; e.g. pi_0 log-probs for the bank."""
        mbs = micro_batch_size or self.options.micro_batch_size
        temperature = self.options.temperature if temperature is None else temperature
        B, L = batch.input_ids.shape
        out = torch.zeros((B, L), dtype=torch.float32)
        for start in range(0, B, mbs):
            micro = batch.select(slice(start, start + mbs)).trim().to(self.device)
            select = micro.attention_mask if all_tokens else micro.loss_mask
            res = self.engine(micro.input_ids, micro.attention_mask, select, temperature=temperature)
            out[start : start + len(micro), : micro.input_ids.shape[1]] = res["logprobs"].float().cpu()
        return out

    # ------------------------------------------------------------------ weights out

    def state_dict_for_sync(self) -> dict[str, torch.Tensor]:
        """Full weights in HF naming (as `LlamaForCausalLM.state_dict()`), in the training dtype,
        on CPU, on rank 0; other ranks return {}. Every rank must call it (ZeRO-3 gathers)."""
        return gather_full_state_dict(self.hf_model, zero3=self.zero3, keep=self.rank == 0)

    def weights_for_sync(self) -> StoredWeights | None:
        """The weights put in Ray's object store by rank 0 (one copy), as a handle the driver
        passes on to the rollout workers; other ranks return None. Every rank must call it (ZeRO-3
        gathers). Needs a Ray connection (the learner runs as an actor)."""
        state = gather_full_state_dict(self.hf_model, zero3=self.zero3, keep=self.rank == 0, copy=False)
        return put_weights(state) if self.rank == 0 else None

    def torch_threads(self) -> int:
        """The threads this rank computes on (learner.num_threads, or Ray's OMP_NUM_THREADS)."""
        return torch.get_num_threads()

    def export_hf(self, out_dir: str | Path) -> Path:
        """A Hugging Face folder (weights, config, tokenizer files of the source) loadable by
        `AutoModelForCausalLM.from_pretrained` and vLLM. Every rank must call it; rank 0 writes."""
        state = self.state_dict_for_sync()
        if self.rank == 0:
            save_hf_folder(self.hf_model, state, out_dir, self.model_path)
        self._barrier()
        return Path(out_dir)

    # ------------------------------------------------------------------ NCCL weight sync (GPU)

    def open_weight_sync(
        self, workers: list[Any], master_address: str, master_port: int, ranks_per_worker: int = 1
    ) -> None:
        """Build this rank's `NcclWeightSender` (rlvr.rollout.engines.vllm_nccl). Every rank must
        call it concurrently with the same address: rank 0 rendezvous with the rollout
        `workers` (actor handles, needed on rank 0 only) while the others return at once."""
        from rlvr.rollout.engines.vllm_nccl import NcclWeightSender, RolloutWorkersSyncClient

        if self._weight_sender is not None:
            raise RuntimeError("open_weight_sync was called twice; close_weight_sync first")
        client = RolloutWorkersSyncClient(workers, ranks_per_worker) if self.rank == 0 else None
        self._weight_sender = NcclWeightSender(
            self.hf_model,
            rank=self.rank,
            zero3=self.zero3,
            client=client,
            master_address=master_address,
            master_port=master_port,
        )

    def send_weights(self, version: int | None = None) -> float:
        """Broadcast the current weights to the rollout workers (every rank must call it: ZeRO-3
        gathers each parameter); returns this rank's seconds."""
        if self._weight_sender is None:
            raise RuntimeError("send_weights before open_weight_sync")
        return self._weight_sender.send(version)

    def close_weight_sync(self) -> None:
        if self._weight_sender is not None:
            self._weight_sender.close()
            self._weight_sender = None

    # weight_sync=shared_memory (rlvr.rollout.shared_weights): rank 0 writes, the workers compute
    def shared_weight_specs(self) -> list[tuple[str, tuple[int, ...]]]:
        """(HF name, full shape) of every tensor a sync sends, in the order it sends them."""
        specs = [(n, full_shape(p)) for n, p in self.hf_model.named_parameters(remove_duplicate=False)]
        persistent = set(self.hf_model.state_dict(keep_vars=True))
        specs += [(n, tuple(b.shape)) for n, b in self.hf_model.named_buffers() if n in persistent]
        return specs

    def create_shared_weights(self, layout: SharedLayout) -> SharedLayout | None:
        """Rank 0: create the two slot files of `layout` and map them; returns the layout with
        their paths (other ranks: None). `close_shared_weights` removes them."""
        if self.rank != 0:
            return None
        layout = create_slot_files(layout)
        try:
            self._shared_slots = SharedSlots(layout)
        except Exception:
            remove_slot_files(layout)
            raise
        return layout

    def write_shared_weights(self, slot: int) -> float:
        """Copy the current weights into `slot` of the shared slots (rank 0; every rank must call
        it: ZeRO-3 gathers); returns this rank's seconds."""
        t0 = time.perf_counter()
        keep = self.rank == 0
        if keep and self._shared_slots is None:
            raise RuntimeError("write_shared_weights before create_shared_weights")
        state = gather_full_state_dict(self.hf_model, zero3=self.zero3, keep=keep, copy=False)
        if keep:
            self._shared_slots.write(slot, state)
        return time.perf_counter() - t0

    def close_shared_weights(self) -> None:
        """Remove the slot files (workers keep their mappings until they exit)."""
        if self._shared_slots is not None:
            remove_slot_files(self._shared_slots.layout)
            self._shared_slots = None

    # ------------------------------------------------------------------ checkpoints

    def save_checkpoint(self, ckpt_dir: str | Path, client_state: dict[str, Any] | None = None) -> str:
        """DeepSpeed checkpoint (weights, optimizer, LR schedule, step) under `ckpt_dir/step<N>`,
        plus each rank's RNG state. Multi-node runs need `ckpt_dir` on a shared file system.
        Returns the tag."""
        tag = f"step{self.global_step}"
        self.engine.save_checkpoint(
            str(ckpt_dir), tag=tag, client_state={"rlvr_client_state": client_state or {}}
        )
        torch.save(rng_state(), Path(ckpt_dir) / tag / f"rng_state_rank{self.rank}.pt")
        self._barrier()
        return tag

    def load_checkpoint(self, ckpt_dir: str | Path, tag: str | None = None) -> dict[str, Any]:
        """Restore the latest (or `tag`) checkpoint of `ckpt_dir`; returns the saved client_state."""
        ckpt_dir = Path(ckpt_dir)
        if tag is None:
            latest = ckpt_dir / "latest"
            if not latest.is_file():
                raise FileNotFoundError(
                    f"no checkpoint in {ckpt_dir} (no 'latest' file); was save_checkpoint called there?"
                )
            tag = latest.read_text().strip()
        load_path, client = self.engine.load_checkpoint(str(ckpt_dir), tag=tag)
        if load_path is None:
            raise FileNotFoundError(f"DeepSpeed found no checkpoint {tag!r} in {ckpt_dir}")
        rng_file = ckpt_dir / tag / f"rng_state_rank{self.rank}.pt"
        if rng_file.is_file():
            set_rng_state(torch.load(rng_file, weights_only=False))
        return dict((client or {}).get("rlvr_client_state", {}))

    def _barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()


def _disable_dropout(model: torch.nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        for attr in ("attention_dropout", "dropout"):
            if isinstance(getattr(m, attr, None), float):
                setattr(m, attr, 0.0)
