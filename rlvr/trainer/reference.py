"""The reference worker: log pi_0 of rollouts, for divergences over the policy's own samples.

Only reverse-KL and RAPO runs create it; DPH-RL reads pi_0's log-probs from the bank instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rlvr.batch import TokenBatch


def reference_device(gpu_ids: Sequence[object], cuda_available: bool) -> torch.device:
    """Where the reference model runs: the GPU Ray gave this actor, else the CPU.

    Ray sets CUDA_VISIBLE_DEVICES to the actor's assigned GPUs, so the first one is "cuda:0"
    whatever its physical id. A GPU assigned but not usable (a CPU-only torch build) is an
    error, not a silent fallback: a 7B reference on CPU would take minutes per batch.
    """
    if not gpu_ids:
        return torch.device("cpu")
    if not cuda_available:
        raise RuntimeError(
            f"Ray assigned GPU(s) {list(gpu_ids)} to the reference worker but torch.cuda.is_available() "
            "is False (a CPU-only torch build?); install the `gpu` extra or set learner.num_gpus_per_rank=0"
        )
    return torch.device("cuda", 0)


def _ray_gpu_ids() -> list[object]:
    try:
        import ray

        return list(ray.get_gpu_ids()) if ray.is_initialized() else []
    except ImportError:
        return []


class ReferenceWorker:
    def __init__(
        self,
        model_path: str,
        *,
        dtype: str = "float32",
        chunk_tokens: int = 1024,
        temperature: float = 1.0,
        device: str | None = None,
        num_threads: int = 0,
        pack_sequences: bool = True,
    ) -> None:
        from transformers import AutoModelForCausalLM

        from rlvr.learner.logprobs import LogProbModel, check_packing

        self.device = (
            torch.device(device) if device else reference_device(_ray_gpu_ids(), torch.cuda.is_available())
        )
        if num_threads > 0:  # its phase runs alone, between generation and learning
            torch.set_num_threads(num_threads)
        torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
        lm = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype).to(self.device)
        lm.eval().requires_grad_(False)
        self.model = LogProbModel(lm, chunk_tokens=chunk_tokens, pack=pack_sequences)
        if pack_sequences:
            check_packing(self.model)
        # Scored at the sampling temperature, like the learner's log pi, so the log-ratio compares
        # the same two distributions.
        self.temperature = temperature

    @torch.no_grad()
    def compute_logprobs(self, batch: TokenBatch, micro_batch_size: int = 16) -> torch.Tensor:
        """log pi_0 [B, L] on loss-mask positions, 0 elsewhere (float32, CPU)."""
        B, L = batch.input_ids.shape
        out = torch.zeros((B, L), dtype=torch.float32)
        for start in range(0, B, micro_batch_size):
            mb = batch.select(slice(start, start + micro_batch_size)).trim().to(self.device)
            res = self.model(mb.input_ids, mb.attention_mask, mb.loss_mask > 0, temperature=self.temperature)
            out[start : start + len(mb), : mb.input_ids.shape[1]] = res["logprobs"].float().cpu()
        return out
