"""The reference worker: log pi_0 of rollouts, for divergences over the policy's own samples.

Only reverse-KL and RAPO runs create it; DPH-RL reads pi_0's log-probs from the bank instead.
"""

from __future__ import annotations

import torch

from rlvr.batch import TokenBatch


class ReferenceWorker:
    def __init__(
        self, model_path: str, *, dtype: str = "float32", chunk_tokens: int = 1024, temperature: float = 1.0
    ) -> None:
        from transformers import AutoModelForCausalLM

        from rlvr.learner.logprobs import LogProbModel

        torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
        lm = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype)
        lm.eval().requires_grad_(False)
        self.model = LogProbModel(lm, chunk_tokens=chunk_tokens)
        # Scored at the sampling temperature, like the learner's log pi, so the log-ratio compares
        # the same two distributions.
        self.temperature = temperature

    @torch.no_grad()
    def compute_logprobs(self, batch: TokenBatch, micro_batch_size: int = 16) -> torch.Tensor:
        out = [
            self.model(mb.input_ids, mb.attention_mask, mb.loss_mask > 0, temperature=self.temperature)[
                "logprobs"
            ]
            for mb in batch.split(micro_batch_size)
        ]
        return torch.cat(out, dim=0).float()
