"""The weights NCCL sync would send under ZeRO-3: full shapes, and the values a ZeRO-0 run has.

Runs the real pieces on CPU: DeepSpeed ZeRO-3 over gloo with 2 ranks in 2 processes, our
`GatheredWeightSource`, and vLLM's own trainer engine iterating it (sender checks + non-sender
gather). Only the NCCL broadcast itself needs a GPU.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest
import torch
from transformers import AutoConfig, LlamaForCausalLM
from zero3_ranks import save_tiny_llama, train_and_gather

from rlvr.learner.distributed import free_port


def _run_ranks(world_size: int, model_path, zero_stage: int, out) -> dict:
    ctx = mp.get_context("spawn")
    port = free_port()
    procs = [
        ctx.Process(
            target=train_and_gather, args=(r, world_size, port, str(model_path), zero_stage, str(out))
        )
        for r in range(world_size)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=900)
    codes = [p.exitcode for p in procs]
    for p in procs:
        if p.is_alive():
            p.kill()
    assert codes == [0] * world_size, f"rank exit codes {codes}"
    return torch.load(out, weights_only=False)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_zero3_two_ranks_send_full_tensors_equal_to_zero0(tmp_path, tie):
    model = save_tiny_llama(tmp_path / "model", tie=tie)
    zero3 = _run_ranks(2, model, 3, tmp_path / "zero3.pt")
    zero0 = _run_ranks(1, model, 0, tmp_path / "zero0.pt")

    full = {
        n: tuple(p.shape) for n, p in LlamaForCausalLM(AutoConfig.from_pretrained(model)).named_parameters()
    }
    # The partitions really are partial (what vLLM's ModuleSource would have declared and sent).
    assert any(zero3["local_shapes"][n] != full[n] for n in full)
    # Every parameter is declared and sent once, in HF names, with its full shape.
    assert zero3["meta"] == full and list(zero3["sent"]) == list(full)
    assert {n: tuple(t.shape) for n, t in zero3["sent"].items()} == full
    assert zero3["sent"].keys() == zero0["sent"].keys()
    initial = LlamaForCausalLM.from_pretrained(model).state_dict()
    for name, expected in zero0["sent"].items():
        err = (zero3["sent"][name] - expected).abs().max().item()
        assert torch.allclose(zero3["sent"][name], expected, atol=1e-6, rtol=1e-5), f"{name}: max error {err}"
    # ...and they are the trained weights, not the initial ones.
    assert max((zero3["sent"][n] - initial[n]).abs().max() for n in full) > 1e-4
