"""Weights in Ray's object store, put once by whoever holds them and read without a copy.

Ray reads NumPy arrays out of its shared-memory object store without copying them, but unpickles
torch tensors into fresh memory: a 135M-parameter state dict cost ~0.6 s to `ray.get` as tensors on
the 2-core machine, against ~0 as arrays. So the weights travel as arrays (a dtype NumPy lacks,
bfloat16, as same-width integers with its torch dtype beside it), and the learner puts them itself:
the driver forwards a handle and never holds the bytes.

Each tensor is viewed, not cloned, before `ray.put` copies it into shared memory: that put is the
one copy the sync makes before the engine's own load. A tied parameter (lm_head = embed_tokens)
is one array under both names, which pickle stores once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from rlvr.rollout.engines.base import NamedTensors, as_pairs

# dtypes NumPy cannot hold, viewed as an integer of the same width for the trip
_VIEW_AS = {torch.bfloat16: torch.int16}


@dataclass(frozen=True)
class StoredWeights:
    """A handle to HF-named weights in the object store: cheap to pass to many actors.

    ref:    ObjectRef of {name: np.ndarray} (the caller keeps the handle alive while workers load);
    dtypes: {name: torch dtype name} for the tensors viewed as integers on the way;
    nbytes: the weights' size, for logging against a memcpy.
    """

    ref: Any
    dtypes: dict[str, str] = field(default_factory=dict)
    nbytes: int = 0

    def pairs(self) -> list[tuple[str, torch.Tensor]]:
        """(name, tensor) over the shared-memory arrays: read-only views, valid while they are referenced."""
        import ray

        arrays: Mapping[str, Any] = ray.get(self.ref)
        out = []
        with warnings.catch_warnings():
            # The arrays live in read-only shared memory; the engines only read them (copy_ into
            # their own parameters), so the tensors need not be writable.
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            for name, a in arrays.items():
                t = torch.from_numpy(a)
                if name in self.dtypes:
                    t = t.view(getattr(torch, self.dtypes[name]))
                out.append((name, t))
        return out


def put_weights(named_tensors: NamedTensors) -> StoredWeights:
    """Put HF-named CPU tensors in the object store (one copy, into shared memory)."""
    import ray

    arrays: dict[str, Any] = {}
    dtypes: dict[str, str] = {}
    by_storage: dict[tuple, Any] = {}  # tied weights: one array, stored once
    nbytes = 0
    for name, t in as_pairs(named_tensors):
        t = t.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        if t.dtype in _VIEW_AS:
            dtypes[name] = str(t.dtype).removeprefix("torch.")
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), t.shape)
        if key not in by_storage:
            source = t.contiguous()
            by_storage[key] = source.view(_VIEW_AS.get(t.dtype, t.dtype)).numpy()
            nbytes += t.numel() * t.element_size()
        arrays[name] = by_storage[key]
    return StoredWeights(ray.put(arrays), dtypes, nbytes)


def weight_pairs(weights: NamedTensors | StoredWeights) -> list[tuple[str, torch.Tensor]]:
    """(name, tensor) of either form: what a rollout worker hands its engine."""
    return weights.pairs() if isinstance(weights, StoredWeights) else as_pairs(weights)
