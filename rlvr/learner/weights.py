"""Full HF-named weights out of a (possibly ZeRO-3-sharded) model: for weight sync and export."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

# Files of a model folder that are not weights or config: tokenizer, chat template, generation
# config. Export copies them so transformers and vLLM load the exported folder on its own.
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".index.json")


def gather_full_state_dict(
    model: nn.Module, *, zero3: bool, keep: bool, copy: bool = True
) -> dict[str, torch.Tensor]:
    """HF-named full tensors (parameters and persistent buffers), cloned to CPU.

    copy=False returns the live tensors where they already are full CPU tensors (not under
    ZeRO-3, whose gathered storage is freed after each parameter): for a caller that copies them
    at once (`put_weights`) and would otherwise copy twice.

    Every rank must call this (under ZeRO-3 each parameter is all-gathered, a collective); only
    ranks with `keep` hold the result, others get {} so that N ranks do not hold N copies. Tied
    parameters (lm_head.weight = embed_tokens.weight) appear under both names as one tensor, as
    in `model.state_dict()`. Parameters are gathered one at a time, so peak extra memory is one
    parameter beyond the result.
    """
    out: dict[str, torch.Tensor] = {}
    seen: dict[int, torch.Tensor] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            if keep:
                out[name] = seen[id(p)]
            continue
        if zero3:
            import deepspeed

            with deepspeed.zero.GatheredParameters([p], modifier_rank=None):
                t = p.data.detach().cpu().clone() if keep else None
        else:
            t = _cpu(p, copy) if keep else None
        if keep:
            seen[id(p)] = out[name] = t
    if keep:
        persistent = set(model.state_dict(keep_vars=True))
        for name, b in model.named_buffers():
            if name in persistent:
                out[name] = _cpu(b, copy)
    return out


def _cpu(t: torch.Tensor, copy: bool) -> torch.Tensor:
    t = t.detach()
    if t.device.type != "cpu":
        return t.cpu()  # already a copy
    return t.clone() if copy else t


def full_shape(p: torch.Tensor) -> tuple[int, ...]:
    """A parameter's full shape: under ZeRO-3 `p.shape` is the local partition's (often (0,)),
    DeepSpeed keeps the real one in `ds_shape`."""
    return tuple(getattr(p, "ds_shape", p.shape))


def iter_full_parameters(
    model: nn.Module, *, zero3: bool, keep: bool
) -> Iterator[tuple[str, torch.Tensor | None]]:
    """(HF name, full parameter) one at a time, on the parameter's own device (a GPU for NCCL).

    For streaming weight sync: unlike `gather_full_state_dict` nothing is held beyond the tensor
    being consumed, so a 7B model never needs a second full copy. Under ZeRO-3 each step
    all-gathers one parameter, a collective: every rank must drive the iterator to the end in
    the same order. Ranks without `keep` get None instead of the tensor (they only take part in
    the gather). Tied parameters appear once, under their first name, as in `named_parameters()`
    (vLLM ties lm_head itself).
    """
    for name, p in model.named_parameters():
        if zero3:
            import deepspeed

            with deepspeed.zero.GatheredParameters([p], modifier_rank=None):
                # clone(): the gathered storage is freed when the context exits.
                t = p.data.detach().clone() if keep else None
        else:
            t = p.detach() if keep else None
        yield name, t


def save_hf_folder(
    model: nn.Module, state_dict: dict[str, torch.Tensor], out_dir: str | Path, source_dir: str | Path
) -> Path:
    """save_pretrained with explicit full weights, plus the source folder's tokenizer files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, state_dict=state_dict)
    for f in Path(source_dir).iterdir():
        if f.is_file() and not f.name.endswith(_WEIGHT_SUFFIXES) and not (out / f.name).exists():
            shutil.copy2(f, out / f.name)
    return out
