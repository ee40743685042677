"""What a step's DPH-RL bank rows cost the learner in each `bank.order`: fwd+bwd of the rows one
step rehearses, drawn by the trainer's own BankSampler from a real bank, packed as the learner packs
them (`learner.pack_sequences`, attention per sequence where the cost model picks it).

`chunks` (the DPH-RL authors' order, the default) takes consecutive stored samples, so a step's rows
come from a few prompts and each prompt is computed once; `shuffled` takes rows one by one, so
nearly every row brings its own prompt. Both orders' steps run alternately in one process; prints
the median seconds, the tokens the packed layout computes, and the prompts per step.

    .venv/bin/python -m bench.bank_rows                   # the embedded default's bank (make train)
    .venv/bin/python -m bench.bank_rows +experiment=smollm2_sql --steps 4

Overrides are `rlvr train`'s; the bank must exist (`make train` or `rlvr sample-reference` samples it).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="rlvr train overrides (default: the embedded default job)")
    p.add_argument("--steps", type=int, default=10, help="steps' bank rows timed per order")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from transformers import AutoModelForCausalLM

    from rlvr.algorithms import build_algorithm
    from rlvr.bank import BankSampler, ReferenceBank
    from rlvr.bank.naming import bank_path
    from rlvr.config.load import compose_config
    from rlvr.learner.logprobs import LogProbModel
    from rlvr.trainer.components import ensure_model, load_tokenizer

    cfg = compose_config(args.overrides)
    path = bank_path(cfg)
    if not ReferenceBank.exists(path):
        raise SystemExit(
            f"no bank at {path}: `make train` (or `rlvr sample-reference` with these overrides) samples it"
        )
    bank = ReferenceBank(path, pef_threshold=cfg.bank.pef_threshold)
    algorithm = build_algorithm(cfg.algorithm, cfg.divergence)
    if not algorithm.needs_bank:
        raise SystemExit(f"algorithm={cfg.algorithm.name} rehearses no bank")
    model_path = ensure_model(cfg.model)
    pad_id = load_tokenizer(model_path).pad_token_id
    rows = cfg.algorithm.bank_batch_size or max(
        1, round(cfg.algorithm.bank_ratio * cfg.prompts_per_step * cfg.rollout.sampling.n)
    )
    samplers = {
        order: BankSampler(
            bank,
            bank.pef_prompt_ids,
            batch_size=rows,
            pad_id=pad_id,
            seed=cfg.seed,
            rehearse=cfg.bank.rehearse,
            order=order,
        )
        for order in ("chunks", "shuffled")
    }
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    lp = LogProbModel(
        model, cfg.learner.logprob_chunk_size, cfg.learner.logprob_keep_logits_mib << 20, pack=True
    )
    mbs = cfg.learner.micro_batch_size

    def step(sampler: BankSampler) -> tuple[float, int, int]:
        """One step's bank rows in micro-batches of micro_batch_size, as bank_weighting=paper runs them."""
        batch = sampler.next_batch()
        seconds, tokens = 0.0, 0
        starts = (batch.loss_mask > 0).int().argmax(dim=1).tolist()  # where a row's prompt ends
        prompts = len({batch.input_ids[i, :s].numpy().tobytes() for i, s in enumerate(starts)})
        for start in range(0, len(batch.input_ids), mbs):
            micro = batch.select(slice(start, start + mbs)).trim()
            packing = lp.layout(micro.input_ids, micro.attention_mask, micro.loss_mask)
            tokens += int(packing.input_ids.numel()) if packing is not None else int(micro.input_ids.numel())
            model.zero_grad(set_to_none=True)
            t0 = time.perf_counter()
            out = lp(micro.input_ids, micro.attention_mask, micro.loss_mask, pack=True)
            (-(out["logprobs"] * micro.loss_mask).sum() / micro.loss_mask.sum()).backward()
            seconds += time.perf_counter() - t0
        return seconds, tokens, prompts

    step(samplers["chunks"])  # warm-up (allocator, oneDNN)
    got: dict[str, list[tuple[float, int, int]]] = {k: [] for k in samplers}
    for _ in range(args.steps):
        for order, sampler in samplers.items():
            got[order].append(step(sampler))
    print(
        f"{cfg.model.name}, bank {path.name}: {len(samplers['chunks'].samples)} rehearsal samples of "
        f"{len(bank.pef_prompt_ids)} D_pef prompts; {rows} bank rows per step, micro-batches of {mbs}; "
        f"median of {args.steps} steps"
    )
    med = {}
    for order, xs in got.items():
        med[order] = statistics.median(x[0] for x in xs)
        print(
            f"  bank.order={order:8s}: fwd+bwd {med[order]:.3f} s per step, "
            f"{statistics.median(x[1] for x in xs):.0f} token positions computed, "
            f"{statistics.median(x[2] for x in xs):.0f} prompts per step"
        )
    print(f"  chunks / shuffled: {med['chunks'] / med['shuffled']:.2f}x")


if __name__ == "__main__":
    main()
