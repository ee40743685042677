"""Weights the learner writes into shared memory and vLLM computes from, with no copy on its side.

`rollout.engine_options.weight_sync=shared_memory` (CPU, one node, `cpu_linear=plain`): two
files in /dev/shm ("slots"), each holding every parameter of the rollout model laid out as vLLM
holds it (q, k and v rows side by side in qkv_proj, ...). The workers compute from one slot. An
update is learner rank 0 copying its HF-named weights into the other slot (one copy, at memcpy
speed), then every worker pointing its parameters at that slot (no copy). The driver waits for
every worker to switch before the learner writes again, so the slot being written is never the
one a worker computes from, also when a worker is still generating a batch under
`rollout.max_staleness` (its switch queues behind that batch).

Where each HF tensor lands in vLLM's fused layout is read off vLLM's own loaders
(`record_layout`): the model's `load_weights` runs on placeholder tensors while every copy it makes
is recorded and skipped. When the sync opens, the learner's initial weights written through that
layout must equal, bit for bit, what vLLM loaded from the checkpoint (`SharedSlots.mismatches`),
or the run stops before its first step.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

SHM_DIR = "/dev/shm"
_PREFIX = "rlvr-weights-"
_ALIGN = 64  # bytes: every parameter starts on a cache line

Entries = dict[str, tuple[int, tuple[int, ...]]]  # name -> (offset in elements, shape)


@dataclass(frozen=True)
class SharedLayout:
    """Where the weights live in each slot (a flat tensor of `numel` elements of `dtype`).

    params:  vLLM parameter name -> (offset, shape): the worker's parameters are these views;
    sources: HF name -> (offset, shape): the contiguous range the learner copies that tensor to
             (tensors vLLM does not load, such as a tied lm_head, are absent);
    paths:   the two slot files (set by `create_slot_files`).
    """

    dtype: str
    numel: int
    params: Entries
    sources: Entries
    paths: tuple[str, ...] = ()

    @property
    def nbytes(self) -> int:
        return self.numel * torch.empty((), dtype=getattr(torch, self.dtype)).element_size()


def param_entries(model: nn.Module) -> tuple[str, int, Entries]:
    """(dtype, numel, params) of `model`'s parameters packed one after another, each aligned."""
    dtypes = {p.dtype for p in model.parameters()}
    if len(dtypes) != 1:
        raise ValueError(
            f"weight_sync=shared_memory needs one dtype for every rollout parameter, got {sorted(map(str, dtypes))}"
        )
    dtype = dtypes.pop()
    align = max(1, _ALIGN // torch.empty((), dtype=dtype).element_size())
    params: Entries = {}
    offset = 0
    for name, p in model.named_parameters():
        params[name] = (offset, tuple(p.shape))
        offset += -(-p.numel() // align) * align
    return str(dtype).removeprefix("torch."), offset, params


def record_layout(model: nn.Module, specs: Iterable[tuple[str, tuple[int, ...]]]) -> SharedLayout:
    """The slot layout of `model` (a vLLM model) for HF-named tensors of the given shapes.

    Runs `model.load_weights` on uninitialized placeholders of those shapes; every `copy_` from a
    placeholder into a parameter is recorded instead of performed, so the model is unchanged. A
    loader that transforms a tensor before copying it (a transpose, a shard, a quantization)
    cannot be followed by a plain copy on the learner's side and is refused, naming the tensor.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    dtype, numel, params = param_entries(model)
    torch_dtype = getattr(torch, dtype)
    named = dict(model.named_parameters())
    param_at = {p.untyped_storage().data_ptr(): name for name, p in named.items()}
    probes = [(name, torch.empty(tuple(shape), dtype=torch_dtype)) for name, shape in specs]
    probe_at = {t.untyped_storage().data_ptr(): (name, t) for name, t in probes}
    sources: Entries = {}
    reached: set[str] = set()
    refused: list[str] = []

    class _Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func is torch.ops.aten.copy_.default and args[1].untyped_storage().data_ptr() in probe_at:
                dst, src = args[0], args[1]
                hf_name, probe = probe_at[src.untyped_storage().data_ptr()]
                target = param_at.get(dst.untyped_storage().data_ptr())
                whole = src.storage_offset() == 0 and src.numel() == probe.numel() and src.is_contiguous()
                if target is None or not whole or not dst.is_contiguous() or dst.dtype != torch_dtype:
                    refused.append(hf_name)
                else:
                    start = params[target][0] + dst.storage_offset() - named[target].storage_offset()
                    sources[hf_name] = (start, tuple(probe.shape))
                    reached.add(target)
                return dst
            return func(*args, **(kwargs or {}))

    with _Recorder(), torch.no_grad():
        model.load_weights(iter(probes))
    if refused:
        raise ValueError(
            f"weight_sync=shared_memory cannot follow how vLLM loads {len(refused)} tensors (first: "
            f"{refused[:3]}: not a plain copy into one parameter); use weight_sync=in_process"
        )
    unreached = sorted(set(params) - reached)
    if unreached:
        raise ValueError(
            f"weight_sync=shared_memory: no learner tensor reaches {len(unreached)} of the rollout "
            f"model's parameters (first: {unreached[:3]}); the learner and the rollout model differ"
        )
    return SharedLayout(dtype, numel, params, sources)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_slot_files(directory: str = SHM_DIR) -> list[str]:
    """Slot files left by a run whose creating process is gone (killed before it could remove
    them): removed, so that crashed runs do not fill /dev/shm. Returns their paths."""
    removed = []
    for entry in os.scandir(directory):
        if not entry.name.startswith(_PREFIX):
            continue
        pid = entry.name.removeprefix(_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(entry.path)
                removed.append(entry.path)
            except FileNotFoundError:
                pass
    return removed


def free_bytes(directory: str = SHM_DIR) -> int:
    """Room left in `directory` (0 when it does not exist)."""
    if not os.path.isdir(directory):
        return 0
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def create_slot_files(layout: SharedLayout, directory: str = SHM_DIR) -> SharedLayout:
    """Create the two slot files (named by this process's id, removed by `remove_slot_files`)."""
    if not os.path.isdir(directory):
        raise ValueError(f"weight_sync=shared_memory needs {directory} (a tmpfs); this node has none")
    remove_stale_slot_files(directory)
    free = free_bytes(directory)
    if free < 2 * layout.nbytes:
        raise ValueError(
            f"weight_sync=shared_memory needs {2 * layout.nbytes / 2**20:.0f} MiB in {directory} (two "
            f"copies of the rollout weights); it has {free / 2**20:.0f} MiB free (in a container, raise "
            "--shm-size), or use weight_sync=in_process"
        )
    token = f"{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    paths = []
    for slot in range(2):
        path = os.path.join(directory, f"{token}-{slot}")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, layout.nbytes)
        finally:
            os.close(fd)
        paths.append(path)
    return SharedLayout(layout.dtype, layout.numel, layout.params, layout.sources, tuple(paths))


def remove_slot_files(layout: SharedLayout) -> None:
    """Unlink the slot files; processes that mapped them keep their mappings until they exit."""
    for path in layout.paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


class SharedSlots:
    """Both slots of a layout, mapped into this process (shared: a write is seen by every process)."""

    def __init__(self, layout: SharedLayout) -> None:
        if len(layout.paths) != 2:
            raise ValueError("SharedSlots needs a layout with its two slot files (create_slot_files)")
        missing = [p for p in layout.paths if not os.path.exists(p)]
        if missing:
            raise FileNotFoundError(
                f"weight_sync=shared_memory: {missing[0]} is not on this node ({socket.gethostname()}); "
                "every rollout worker must run on learner rank 0's node"
            )
        self.layout = layout
        dtype = getattr(torch, layout.dtype)
        flat = [torch.from_file(p, shared=True, size=layout.numel, dtype=dtype) for p in layout.paths]
        # per slot, made once: every sync writes through `sources` and switches to `params`
        self.params = [_views(f, layout.params) for f in flat]
        self.sources = [_views(f, layout.sources) for f in flat]

    def write(self, slot: int, named_tensors: dict[str, torch.Tensor]) -> int:
        """Copy HF-named tensors into `slot` (learner side, in torch's threads); returns the bytes
        written. Every tensor of the layout's `sources` must be there."""
        missing = sorted(set(self.layout.sources) - set(named_tensors))
        if missing:
            raise KeyError(f"weight_sync=shared_memory: the learner's weights lack {missing[:3]}")
        written = 0
        with torch.no_grad():
            for name, dst in self.sources[slot].items():
                src = named_tensors[name]
                dst.copy_(src.detach().reshape(dst.shape))
                written += dst.numel() * dst.element_size()
        return written

    def mismatches(self, a: int, b: int) -> list[str]:
        """Parameters whose values differ between slots a and b ('name: max |diff|')."""
        out = []
        va, vb = self.params[a], self.params[b]
        for name, x in va.items():
            if not torch.equal(x, vb[name]):
                out.append(f"{name}: max |diff| {float((x.double() - vb[name].double()).abs().max()):.3g}")
        return out


def _views(flat: torch.Tensor, entries: Entries) -> dict[str, torch.Tensor]:
    return {name: flat[off : off + _numel(shape)].view(shape) for name, (off, shape) in entries.items()}


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
