"""Rollout engine on transformers' `generate`: slow, simple, the reference that vLLM is checked
against. Good for debugging and tiny models; use "vllm" for real runs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rlvr.rollout.engines.base import LOGPROBS_MODES, LogprobsMode, NamedTensors, as_pairs, check_prompts
from rlvr.rollout.types import Generation, SamplingParams


class HFEngine:
    """`AutoModelForCausalLM` + `generate`, batched with left padding.

    model_path:    a Hugging Face checkpoint folder (loaded offline).
    dtype:         "float32" (default: exact comparisons with vLLM), "bfloat16", "float16".
    device:        "cpu", "cuda", ...; None picks cuda when available.
    seed:          seeds this engine's own RNG stream (the global torch RNG is left untouched).
    batch_size:    sequences (prompts x n) per `generate` call.
    logprobs_mode: "raw" or "processed", see rlvr.rollout.engines.base.
    """

    warm_imports = ("transformers.models.auto.modeling_auto",)  # for a warm actor (rlvr.cluster.warm)

    name = "hf"

    def __init__(
        self,
        model_path: str,
        *,
        dtype: str = "float32",
        device: str | None = None,
        seed: int = 0,
        batch_size: int = 64,
        logprobs_mode: LogprobsMode = "raw",
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if logprobs_mode not in LOGPROBS_MODES:
            raise ValueError(f"logprobs_mode={logprobs_mode!r}; choose one of {LOGPROBS_MODES}")
        self.logprobs_mode: LogprobsMode = logprobs_mode
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=getattr(torch, dtype))
        self.model.to(self.device).eval()
        self.batch_size = batch_size
        self.eos_id = self.tokenizer.eos_token_id
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_id
        # generate() samples from the global torch RNG; keep this engine's stream in its own state
        # and swap it in per call, so other torch users neither disturb nor see it.
        self._rng_state = torch.Generator().manual_seed(seed).get_state()

    @torch.no_grad()
    def generate(self, prompt_token_ids: list[list[int]], params: SamplingParams) -> list[Generation]:
        check_prompts(prompt_token_ids)
        rows = [(i, j) for i in range(len(prompt_token_ids)) for j in range(params.n)]
        out: list[Generation] = []
        with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
            torch.manual_seed(params.seed) if params.seed is not None else torch.set_rng_state(
                self._rng_state
            )
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                out += self._generate_chunk([prompt_token_ids[i] for i, _ in chunk], chunk, params)
            if params.seed is None:
                self._rng_state = torch.get_rng_state()
        return out

    def _generate_chunk(self, prompts: list[list[int]], rows: list[tuple[int, int]], params: SamplingParams):
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros_like(input_ids)
        for r, p in enumerate(prompts):  # left padding: every row's last prompt token is at column width-1
            input_ids[r, width - len(p) :] = torch.tensor(p)
            attention_mask[r, width - len(p) :] = 1
        stop_ids = set(params.stop_token_ids) | (set() if params.ignore_eos else {self.eos_id})
        sampling = (
            {}
            if params.greedy
            else {
                "temperature": params.temperature,
                "top_p": params.top_p,
                "top_k": params.top_k or 0,
            }
        )
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        if not stop_ids:  # the "never stop" id below makes transformers warn on every call
            hf_logging.set_verbosity_error()
        try:
            result = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                do_sample=not params.greedy,
                max_new_tokens=params.max_tokens,
                # An id no model emits stands for "never stop" (None falls back to the model's EOS).
                eos_token_id=sorted(stop_ids) or [-1],
                pad_token_id=self.pad_id,
                return_dict_in_generate=True,
                output_logits=True,
                output_scores=True,
                **sampling,
            )
        finally:
            hf_logging.set_verbosity(verbosity)
        new_tokens = result.sequences[:, width:].cpu()
        # logits: raw model outputs; scores: after temperature/top-k/top-p (what was sampled from).
        steps = result.scores if self.logprobs_mode == "processed" and not params.greedy else result.logits
        logprobs = torch.stack([F.log_softmax(s.float(), dim=-1) for s in steps], dim=1).cpu()
        chosen = logprobs.gather(-1, new_tokens[:, : logprobs.shape[1], None])[..., 0]

        gens = []
        for r, ((i, j), prompt) in enumerate(zip(rows, prompts, strict=True)):
            tokens = new_tokens[r].tolist()
            end = next((t + 1 for t, tok in enumerate(tokens) if tok in stop_ids), len(tokens))
            tokens = tokens[:end]
            gens.append(
                Generation(
                    prompt_index=i,
                    sample_index=j,
                    prompt_token_ids=list(prompt),
                    token_ids=tokens,
                    text=self.tokenizer.decode(tokens, skip_special_tokens=True),
                    logprobs=chosen[r, :end].tolist() if params.logprobs else [],
                    finish_reason="stop" if tokens and tokens[-1] in stop_ids else "length",
                )
            )
        return gens

    @torch.no_grad()
    def score(self, token_ids: list[list[int]]) -> list[list[float]]:
        check_prompts(token_ids)
        out: list[list[float]] = []
        for start in range(0, len(token_ids), self.batch_size):
            chunk = token_ids[start : start + self.batch_size]
            width = max(len(s) for s in chunk)
            ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for r, s in enumerate(chunk):  # right padding: positions (and so RoPE) start at 0
                ids[r, : len(s)] = torch.tensor(s)
                mask[r, : len(s)] = 1
            logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
            logp = F.log_softmax(logits.float(), dim=-1)[:, :-1].gather(-1, ids[:, 1:, None].to(self.device))[
                ..., 0
            ]
            out += [logp[r, : len(s) - 1].tolist() for r, s in enumerate(chunk)]
        return out

    @torch.no_grad()
    def update_weights(self, named_tensors: NamedTensors) -> None:
        state = self.model.state_dict()
        for name, tensor in as_pairs(named_tensors):
            if name not in state:
                raise KeyError(
                    f"{name!r} is not a weight of this model; expected Hugging Face names like {next(iter(state))!r}"
                )
            state[name].copy_(tensor.to(state[name].device, state[name].dtype))

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
