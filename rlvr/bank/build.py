"""`rlvr sample-reference`: sample the initial policy, verify, store, split prompts into D_pef/D_exp."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, replace

from rlvr.bank.naming import bank_path
from rlvr.bank.store import BankSample, BankWriter, ReferenceBank, model_fingerprint, split_prompts
from rlvr.config.schema import TrainConfig
from rlvr.data import load_split
from rlvr.data.prompts import prompts_fingerprint

log = logging.getLogger(__name__)
PROMPTS_PER_CALL = 64  # generation calls are chunked so progress shows and memory stays bounded


def sample_reference(cfg: TrainConfig) -> ReferenceBank:
    from rlvr.trainer import components
    from rlvr.trainer.progress import progress

    path = bank_path(cfg)
    model_path = components.ensure_model(cfg.model)
    tokenizer = components.load_tokenizer(model_path)
    prompts, prompt_ids = load_split(cfg.data, cfg.model, tokenizer)
    params = components.sampling_params(cfg.rollout.sampling, n=cfg.bank.samples_per_prompt, seed=cfg.seed)
    components.init_ray(cfg.cluster)
    verifier = components.make_verifier(cfg.verifier)
    # Only generation runs here: its workers get the cores (as in a synchronous run)
    threads = components.thread_plan(replace(cfg.rollout, max_staleness=0), cfg.learner, cfg.cluster)
    rollout = components.make_rollout(
        cfg.rollout, model_path, seed=cfg.seed, dtype=cfg.model.dtype, num_threads=threads.rollout
    )
    reference = None
    if cfg.bank.recompute_logprobs:
        from rlvr.trainer.reference import ReferenceWorker

        # Scored at the sampling temperature, as the learner scores log pi_theta: the bank's
        # log-ratio must compare the same two (temperature-scaled) distributions.
        reference = ReferenceWorker(
            model_path,
            dtype=cfg.model.dtype,
            chunk_tokens=cfg.learner.logprob_chunk_size,
            temperature=cfg.rollout.sampling.temperature,
        )

    writer = BankWriter(path, shard_size=cfg.bank.shard_size)
    correct_by_prompt: dict[str, list[bool]] = defaultdict(list)
    with progress(total=len(prompts), enabled=cfg.logger.progress, description="sampling pi_0") as bar:
        for start in range(0, len(prompts), PROMPTS_PER_CALL):
            chunk = prompts[start : start + PROMPTS_PER_CALL]
            gens = rollout.generate(prompt_ids[start : start + PROMPTS_PER_CALL], params)
            results = verifier.verify_batch(
                [g.text for g in gens],
                [chunk[g.prompt_index].answer for g in gens],
                [chunk[g.prompt_index].metadata for g in gens],
            )
            logps = [g.logprobs for g in gens]
            if reference is not None:
                from rlvr.rollout.types import generations_to_batch

                batch = generations_to_batch(gens, tokenizer.pad_token_id)
                full = reference.compute_logprobs(batch)
                logps = [full[i][batch.loss_mask[i] > 0].tolist() for i in range(len(gens))]
            for g, r, lp in zip(gens, results, logps, strict=True):
                p = chunk[g.prompt_index]
                correct_by_prompt[p.id].append(bool(r.correct))
                writer.add(
                    BankSample(
                        prompt_id=p.id,
                        sample_index=g.sample_index,
                        prompt_token_ids=g.prompt_token_ids,
                        response_token_ids=g.token_ids,
                        logp_ref=lp,
                        text=g.text,
                        score=float(r.score),
                        correct=bool(r.correct),
                        reason=str(r.reason),
                    )
                )
            bar.update(
                {"reward/accuracy": sum(r.correct for r in results) / max(1, len(results))},
                advance=len(chunk),
            )
    rollout.close()
    if hasattr(verifier, "close"):
        verifier.close()

    split = split_prompts({p.id: correct_by_prompt[p.id] for p in prompts}, cfg.bank.pef_threshold)
    pef, exp = split["pef"], split["exp"]
    bank = writer.finish(
        {
            "model": {"name": cfg.model.name, "path": model_path},
            "model_fingerprint": model_fingerprint(model_path),
            "data": {"name": cfg.data.name, "train": cfg.data.train, "limit": cfg.data.limit},
            "prompts_fingerprint": prompts_fingerprint(prompts),
            "sampling": asdict(params),
            "verifier": {"name": cfg.verifier.name, "options": dict(cfg.verifier.options)},
            "pef_threshold": cfg.bank.pef_threshold,
            "logprobs": "learner" if reference is not None else "sampler",
            "split": split,
            "stats": {
                "prompts": len(prompts),
                "pef": len(pef),
                "exp": len(exp),
                "sample_accuracy": sum(sum(c) for c in correct_by_prompt.values())
                / max(1, writer.num_samples),
            },
        }
    )
    log.info(
        "bank at %s: %d samples, D_pef %d prompts, D_exp %d prompts", path, len(bank), len(pef), len(exp)
    )
    return bank
