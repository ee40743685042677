"""The RLVR training loop.

One step, top to bottom (`Trainer.step`):
  1. draw prompts (from D_exp for DPH-RL, all prompts otherwise)
  2. generate G responses per prompt on the rollout workers (vLLM)
  3. verify them -> rewards; group advantages
  4. (reverse KL / RAPO only) log pi_0 of the rollouts from the reference worker
  5. (reference-sample divergences) draw a batch of pi_0 samples from the bank
  6. learner step(s) on the objective
  7. sync the new weights to the rollout workers
  8. log; checkpoint every K steps

With `rollout.max_staleness=K > 0`, step 2 for the next K steps is submitted before this step's
learning, so the workers generate while the learner trains (one-step off-policy RL for K=1); a
batch is learned K weight updates after the weights that sampled it (`rollout/staleness`).

Collaborators are imported at the top (this module is itself imported only when a run starts:
`rlvr train` imports it inside its command, so the CLI's start-up stays light).
"""

from __future__ import annotations

import logging
import pickle
import random
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import ray
import torch

from rlvr.algorithms import build_algorithm
from rlvr.bank import BankSampler, ReferenceBank, model_fingerprint
from rlvr.bank.build import sample_reference
from rlvr.bank.naming import bank_path, sampling_signature
from rlvr.config.schema import TrainConfig
from rlvr.data import load_split
from rlvr.data.cycle import SeededCycle
from rlvr.data.prompts import prompts_fingerprint
from rlvr.eval.evaluate import evaluate
from rlvr.eval.report import write_report
from rlvr.eval.run import load_test_set, print_table, save_eval
from rlvr.rollout.group import RolloutWorkerFailed
from rlvr.rollout.types import SamplingParams
from rlvr.tracking import make_tracker
from rlvr.tracking.samples import SampleLog, sample_row
from rlvr.trainer import components
from rlvr.trainer.checkpoint import (
    Preempted,
    StopRequest,
    latest_checkpoint,
    load_trainer_state,
    prune_checkpoints,
    save_trainer_state,
)
from rlvr.trainer.progress import progress
from rlvr.trainer.rollout_batch import build_rollout_batch
from rlvr.trainer.timing import PhaseTimer
from rlvr.trainer.weight_sync import open_weight_sync

log = logging.getLogger(__name__)


class Trainer:
    def __init__(self, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.run_dir = Path(cfg.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.algorithm = build_algorithm(cfg.algorithm, cfg.divergence)
        components.check_verifier(cfg.verifier)
        components.check_weight_sync(cfg.rollout, cfg.learner, cfg.cluster)
        components.check_warm(cfg.cluster, cfg.rollout.num_gpus_per_worker + cfg.learner.num_gpus_per_rank)
        sampler_logprobs = components.wants_sampler_logprobs(cfg.rollout, cfg.learner)
        _seed_everything(cfg.seed)

        self.model_path = components.ensure_model(cfg.model)
        self._actors_started = False
        if not self.algorithm.needs_bank or ReferenceBank.exists(bank_path(cfg)):
            # The actors' start (imports, vLLM's engine, DeepSpeed: most of start-up) runs while
            # this process reads the tokenizer, the data and the bank. A bank still to be sampled
            # comes first instead: it wants every core.
            self._start_actors()
        self.tokenizer = components.load_tokenizer(self.model_path)
        self.pad_id = self.tokenizer.pad_token_id
        self.prompts, self.prompt_ids = load_split(cfg.data, cfg.model, self.tokenizer)
        self.bank = self._open_bank() if self.algorithm.needs_bank else None
        all_ids = [p.id for p in self.prompts]
        index = {pid: i for i, pid in enumerate(all_ids)}
        self.train_index = [index[i] for i in self.algorithm.training_prompt_ids(all_ids, self.bank)]
        if not self.train_index:
            raise ValueError(
                "no training prompts left: every prompt is in D_pef (all pi_0 samples correct); "
                "raise bank.pef_threshold or use harder data"
            )
        self.prompt_cycle = SeededCycle(len(self.train_index), seed=f"prompts/{cfg.seed}")
        self.bank_sampler, self.bank_stats = None, {}
        if self.algorithm.needs_bank:
            bank_ids = self.algorithm.bank_prompt_ids(all_ids, self.bank)
            rollout_rows = cfg.prompts_per_step * cfg.rollout.sampling.n
            self.bank_sampler = BankSampler(
                self.bank,
                bank_ids,
                pad_id=self.pad_id,
                seed=cfg.seed,
                batch_size=cfg.algorithm.bank_batch_size
                or max(1, round(cfg.algorithm.bank_ratio * rollout_rows)),
                rehearse=cfg.bank.rehearse,
                order=cfg.bank.order,
            )
            rehearsed = len(self.bank_sampler.samples)
            if not cfg.algorithm.bank_batch_size and self.bank_sampler.batch_size > rehearsed:
                # More rows than distinct stored samples would forward the same sample twice in a
                # step: pointless compute (set algorithm.bank_batch_size to ask for it anyway).
                log.warning(
                    "bank_ratio asks for %d bank rows per step but D_pef has %d rehearsal samples: "
                    "using %d (algorithm.bank_batch_size overrides)",
                    self.bank_sampler.batch_size,
                    rehearsed,
                    rehearsed,
                )
                self.bank_sampler.batch_size = rehearsed
            self.bank_stats = {
                "bank/pef_prompts": float(len(self.bank.pef_prompt_ids)),
                "bank/exp_prompts": float(len(self.bank.exp_prompt_ids)),
                "bank/pef_fraction": len(self.bank.pef_prompt_ids) / max(1, len(all_ids)),
                "bank/rehearsal_samples": float(len(self.bank_sampler.samples)),
                "bank/rows_per_step": float(self.bank_sampler.batch_size),
            }
            log.info(
                "D_pef %d of %d training prompts (%.0f%%), D_exp %d; %d pi_0 samples rehearsed (%s), "
                "%d bank rows per step (%s weighting, drawn as %s)",
                len(self.bank.pef_prompt_ids),
                len(all_ids),
                100 * self.bank_stats["bank/pef_fraction"],
                len(self.bank.exp_prompt_ids),
                len(self.bank_sampler.samples),
                cfg.bank.rehearse,
                self.bank_sampler.batch_size,
                cfg.algorithm.bank_weighting,
                cfg.bank.order,
            )
        s = cfg.rollout.sampling
        self.sampling = components.sampling_params(s, logprobs=sampler_logprobs)
        log.info(
            "PPO's log pi_old: %s",
            "the sampler's log-probs"
            if sampler_logprobs
            else "the learner's own (one optimizer step per batch, sampled by the current weights)",
        )
        self.objective = self.algorithm.objective()

        self.test_prompts, self.test_ids = load_test_set(cfg, self.tokenizer) if cfg.eval.n > 0 else ([], [])

        if cfg.rollout.max_staleness < 0:
            raise ValueError(
                f"rollout.max_staleness={cfg.rollout.max_staleness}: use 0 (synchronous) or more"
            )
        self.max_staleness = cfg.rollout.max_staleness
        self._in_flight: deque[_InFlight] = deque()  # batches submitted, not yet learned
        self.weight_updates = 0  # weight syncs sent to the workers: a batch's staleness is counted in them
        if not self._actors_started:
            self._start_actors()
        self.rollout.wait_ready()
        self.learner.wait_ready()
        self.weight_sync = open_weight_sync(cfg.rollout.engine_options, self.rollout, self.learner)
        self.step_count = 0
        if cfg.resume:
            self._resume()

        self.tracker = make_tracker(
            cfg.logger.backends,
            self.run_dir,
            project=cfg.logger.project,
            run_name=self.run_dir.name,
            wandb_mode=cfg.logger.wandb_mode,
            resume=cfg.resume,
            resume_step=self.step_count,
            eval_n=cfg.eval.n,
        )
        self.samples = SampleLog(
            self.run_dir,
            per_call=cfg.logger.samples,
            resume_step=self.step_count if cfg.resume else None,
        )
        if self.bank_stats and self.step_count == 0:  # D_pef/D_exp sizes, once, beside the run's metrics
            self.tracker.log(self.bank_stats, self.step_count)

    def _start_actors(self) -> None:
        """Ray, then the rollout workers, learner ranks and reference model, all starting at once;
        `wait_ready` later raises the first start-up error."""
        cfg, s = self.cfg, self.cfg.rollout.sampling
        threads = components.thread_plan(cfg.rollout, cfg.learner, cfg.cluster)
        log.info(
            "torch threads: %s per rollout worker, %s per learner rank (%s)",
            threads.rollout or "Ray's",
            threads.learner or "Ray's",
            threads.reason,
        )

        components.init_ray(cfg.cluster)
        components.resolve_weight_sync(
            cfg.rollout, cfg.learner, cfg.cluster, self.model_path, cfg.model.dtype
        )
        self.verifier = components.make_verifier(cfg.verifier)
        self.rollout = components.make_rollout(
            cfg.rollout,
            self.model_path,
            seed=cfg.seed,
            dtype=cfg.model.dtype,
            num_threads=threads.rollout,
            wait=False,
            warm=cfg.cluster.warm,
        )
        total_steps = cfg.steps * cfg.learner.mini_batches_per_step * cfg.learner.ppo_epochs
        self.learner = components.make_learner(
            cfg.learner,
            self.model_path,
            seed=cfg.seed,
            temperature=s.temperature,
            total_steps=total_steps,
            num_threads=threads.learner,
            wait=False,
            warm=cfg.cluster.warm,
        )
        # Only divergences over the policy's own samples need online pi_0 log-probs.
        self.reference = (
            components.make_reference(
                self.model_path, cfg.learner, temperature=s.temperature, num_threads=threads.learner
            )
            if self.algorithm.needs_reference_worker
            else None
        )
        self._actors_started = True

    # ----------------------------------------------------------------------------------- the step
    def step(self) -> dict[str, float]:
        cfg, timer = self.cfg, PhaseTimer()
        self._fill_pipeline()  # this step's batch, and with max_staleness K the next K steps' too
        current = self._current = self._in_flight.popleft()
        prompts = [self.prompts[i] for i in current.picked]

        with timer("generate"):  # with K > 0: the wait for a batch generated while the learner trained
            generations = self._collect(current)
        staleness = self.weight_updates - current.version
        with timer("verify"):
            results = self.verifier.verify_batch(
                [g.text for g in generations],
                [prompts[g.prompt_index].answer for g in generations],
                [prompts[g.prompt_index].metadata for g in generations],
            )
        self.samples.record(
            self.step_count + 1,
            "train",
            (
                sample_row(prompts[g.prompt_index], g.text, r)
                for g, r in zip(generations, results, strict=True)
            ),
        )
        batch, metrics = build_rollout_batch(
            generations,
            results,
            advantage=cfg.algorithm.advantage,
            pad_id=self.pad_id,
            filter_zero_advantage_groups=cfg.algorithm.filter_zero_advantage_groups,
            advantage_eps=cfg.algorithm.advantage_eps,
        )
        if batch is not None:
            if self.reference is not None:
                with timer("reference"):
                    batch.tensors["logp_ref"] = ray.get(
                        self.reference.compute_logprobs.remote(batch, cfg.learner.micro_batch_size)
                    )
            with timer("learn"):
                metrics |= self._learn(batch)
            self._learned = True
            with timer("sync"):  # with K > 0 a worker takes it after the batch it is generating
                self.weight_sync.send()
            self.weight_updates += 1
        tokens = sum(len(g.token_ids) for g in generations)
        metrics |= timer.metrics()
        metrics["rollout/staleness"] = float(staleness)
        metrics["throughput/generated_tokens_per_s"] = tokens / max(timer.seconds["generate"], 1e-9)
        self.step_count += 1
        return metrics

    def _fill_pipeline(self) -> None:
        """Submit generation until K + 1 batches are in flight (never past the last step).

        Batch s draws its prompts and its sampling seed as the synchronous loop does at step s, so
        K=0 is exactly that loop. A batch submitted now is generated with the weights the workers
        hold now; the weight sync of a later update queues behind it on every worker."""
        cfg = self.cfg
        while len(self._in_flight) < self.max_staleness + 1:
            step = self.step_count + len(self._in_flight)
            if step >= cfg.steps:
                return
            before = self.prompt_cycle.state()
            picked = [self.train_index[i] for i in self.prompt_cycle.take(cfg.prompts_per_step)]
            params = _with_seed(self.sampling, cfg.seed * 1_000_003 + step)
            pending = self.rollout.submit([self.prompt_ids[i] for i in picked], params)
            self._in_flight.append(_InFlight(step, picked, before, self.weight_updates, pending))

    def _collect(self, batch: _InFlight) -> list:
        if batch.generations is None:
            batch.generations = self.rollout.collect(batch.pending)
            batch.pending = None
        return batch.generations

    def _learn(self, batch) -> dict[str, float]:
        """ppo_epochs x mini_batches_per_step optimizer steps on one rollout batch; metrics averaged
        over them (the last step's lr and optimizer step count)."""
        cfg = self.cfg.learner
        steps: list[dict[str, float]] = []
        for _ in range(cfg.ppo_epochs):
            minis = batch.split(max(1, -(-len(batch) // cfg.mini_batches_per_step)))
            for mini in minis:
                sources = {"rollout": mini}
                if self.bank_sampler is not None:
                    # Bank rows per mini-batch in proportion to its share of the rollout batch.
                    sources["bank"] = self.bank_sampler.next_batch(
                        max(1, self.bank_sampler.batch_size * len(mini) // len(batch))
                    )
                sources = {k: v.pad_rows(cfg.world_size) for k, v in sources.items()}
                steps.append(
                    self.learner.train_step(sources, self.objective, micro_batch_size=cfg.micro_batch_size)
                )
        out = {k: sum(float(m[k]) for m in steps) / len(steps) for k in steps[0]}
        out |= {k: float(steps[-1][k]) for k in ("lr", "step") if k in steps[-1]}
        out["optimizer_steps"] = float(len(steps))
        return {k if "/" in k else f"learner/{k}": v for k, v in out.items()}

    # ------------------------------------------------------------------------------------ the run
    def run(self) -> None:
        """Train to cfg.steps. On SIGTERM the current step finishes, a checkpoint is written and
        `Preempted` is raised (`rlvr train` exits with PREEMPTED_EXIT_CODE); resume=auto continues.
        A SIGTERM after the last step lets the final evaluation and export finish."""

        with StopRequest() as stop:
            self._run(stop)

    def _run(self, stop) -> None:

        every = self.cfg.eval.every
        start = self.step_count == 0 and self.cfg.eval.at_start
        base = self.evaluate() if start else None  # the base model's curve, step 0
        with progress(total=self.cfg.steps, initial=self.step_count, enabled=self.cfg.logger.progress) as bar:
            while self.step_count < self.cfg.steps:
                metrics = self._step_or_checkpoint()
                self.tracker.log(metrics, self.step_count)
                bar.update(metrics)
                if every and self.step_count % every == 0 and self.step_count < self.cfg.steps:
                    self.evaluate()
                if stop.requested and self.step_count < self.cfg.steps:
                    ckpt = self.save_checkpoint()
                    self.tracker.close()
                    raise Preempted(ckpt, self.step_count)
                k = self.cfg.checkpoint_every
                if k and self.step_count % k == 0 and self.step_count < self.cfg.steps:
                    self.save_checkpoint()
        final = self.evaluate()
        self.save_checkpoint()
        self.learner.export_hf(str(self.run_dir / "final"))
        self.tokenizer.save_pretrained(str(self.run_dir / "final"))
        self.tracker.close()
        if final is not None:
            print_table({**({"base": base} if base else {}), f"step {self.step_count}": final})
            report = write_report(
                [self.run_dir], self.run_dir / "report.html", title=f"rlvr: {self.run_dir.name}"
            )
            print(f"Pass@k report: {report}")

    def _step_or_checkpoint(self) -> dict[str, float]:
        """One step; when rollout workers died past cluster.max_restarts, write a checkpoint of the
        last complete state first, then raise: resume=auto continues where the run stopped."""
        bank_before = self.bank_sampler.state() if self.bank_sampler else None
        self._learned, self._current = False, None
        try:
            return self.step()
        except RolloutWorkerFailed as e:
            # Batches not learned are drawn again on resume (prompts, seeds): rewind the prompt
            # cycle to the first of them and drop the rest of the pipeline.
            if self._learned:  # the update is complete, only the weight sync failed: keep it
                self.step_count += 1
            elif self.bank_sampler is not None:  # nothing was learned: its bank rows are drawn again
                self.bank_sampler.load_state(bank_before)
            unlearned = [self._current] if self._current and not self._learned else []
            unlearned += self._in_flight
            if unlearned:
                self.prompt_cycle.load_state(unlearned[0].cycle_before)
            self._in_flight.clear()
            ckpt = self.save_checkpoint()
            raise RolloutWorkerFailed(
                f"{e}. Checkpoint of step {self.step_count}: {ckpt} (resume=auto continues from it)"
            ) from e

    def close(self) -> None:
        """Stop this run's actors and verifier workers (not the Ray cluster, which may be shared)."""

        self.weight_sync.close()
        self.rollout.close()
        self.learner.shutdown()
        if self.reference is not None:
            ray.kill(self.reference)
        close = getattr(self.verifier, "close", None)
        if close is not None:
            close()

    def evaluate(self):
        """Pass@k curve of the current policy on the test set, filed as eval/step_N.json and logged."""
        if not self.test_prompts:
            return None

        e = self.cfg.eval
        result = evaluate(
            self.rollout,
            self.verifier,
            self.test_prompts,
            self.test_ids,
            n=e.n,
            temperature=e.temperature,
            max_tokens=self.cfg.rollout.sampling.max_tokens,
            seed=self.cfg.seed + 7919 * self.step_count,
            keep_samples=self.cfg.logger.samples,
        )
        self.samples.record(self.step_count, "eval", result.samples)
        save_eval(self.run_dir, self.step_count, result)
        self.tracker.log(result.metrics(), self.step_count)
        ks = sorted(result.pass_at_k)
        self.tracker.log_curve("eval/pass@k", ks, [result.pass_at_k[k] for k in ks], self.step_count)
        return result

    # ---------------------------------------------------------------------------- checkpointing
    def save_checkpoint(self) -> Path:
        """Learner, prompt and bank state; with max_staleness > 0 also the batches in flight (their
        generations, waited for), so that a resumed run learns exactly what this one would have."""
        ckpt = self.run_dir / "checkpoints" / f"step_{self.step_count:06d}"
        self.learner.save_checkpoint(str(ckpt / "learner"), client_state={"step": self.step_count})
        # Generations waited for; versions made relative (a resumed run counts its updates from 0).
        in_flight = [
            replace(b, generations=self._collect(b), pending=None, version=b.version - self.weight_updates)
            for b in self._in_flight
        ]
        if in_flight:
            (ckpt / IN_FLIGHT).write_bytes(pickle.dumps(in_flight))
        save_trainer_state(
            ckpt,
            {
                "step": self.step_count,
                "prompt_cycle": self.prompt_cycle.state(),
                "bank_sampler": self.bank_sampler.state() if self.bank_sampler else None,
                "in_flight": len(in_flight),
            },
        )

        for old in prune_checkpoints(self.run_dir, self.cfg.checkpoint_keep_last):
            log.info("checkpoint_keep_last=%d: deleted %s", self.cfg.checkpoint_keep_last, old)
        return ckpt

    def _resume(self) -> None:
        mode = self.cfg.resume
        if mode not in (True, "auto"):
            raise ValueError(f"resume={mode!r}: use true, false or auto")
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is None:
            # "auto" is what a (re)queued job always passes: a first start is expected, not odd.
            (log.info if mode == "auto" else log.warning)(
                "resume=%s but %s has no checkpoint: starting from step 0", mode, self.run_dir
            )
            return
        self.learner.load_checkpoint(str(ckpt / "learner"))
        state = load_trainer_state(ckpt)
        self.step_count = state["step"]
        self.prompt_cycle.load_state(state["prompt_cycle"])
        if self.bank_sampler and state["bank_sampler"]:
            self.bank_sampler.load_state(state["bank_sampler"])
        if state.get("in_flight"):
            saved = pickle.loads((ckpt / IN_FLIGHT).read_bytes())
            if self.max_staleness == 0:  # learned now on the checkpoint's weights (staleness 0)
                log.warning(
                    "%s holds %d batches generated ahead (max_staleness was > 0): learning them "
                    "first, then synchronously",
                    ckpt,
                    len(saved),
                )
            self._in_flight.extend(saved)  # staleness so far kept: versions are relative to 0
        self.weight_sync.send()
        log.info("resumed from %s at step %d", ckpt, self.step_count)

    # ------------------------------------------------------------------------------------- bank
    def _open_bank(self) -> ReferenceBank:
        path = bank_path(self.cfg)
        if not ReferenceBank.exists(path):
            if not self.cfg.bank.build_if_missing:
                raise FileNotFoundError(
                    f"no reference bank at {path}: run `rlvr sample-reference` with the same "
                    "model and data overrides first (or set bank.path)"
                )
            log.info("no reference bank at %s: sampling the initial policy first", path)
            components.init_ray(self.cfg.cluster)
            return sample_reference(self.cfg)
        bank = ReferenceBank(path, pef_threshold=self.cfg.bank.pef_threshold)
        bank.check(
            model_fingerprint=model_fingerprint(self.model_path),
            prompts_fingerprint=prompts_fingerprint(self.prompts),
            sampling=sampling_signature(self.cfg),
        )
        return bank


IN_FLIGHT = "in_flight.pkl"  # a checkpoint's batches generated ahead (max_staleness > 0)


@dataclass
class _InFlight:
    """A batch submitted to the rollout workers and not learned yet."""

    step: int  # the step that learns it (its prompts and seed are that step's)
    picked: list[int]  # indices into Trainer.prompts
    cycle_before: dict  # prompt cycle state before its prompts were drawn
    version: int  # Trainer.weight_updates when it was submitted
    pending: Any = None  # RolloutGroup.submit's handle until collected
    generations: list | None = None


def _with_seed(params: SamplingParams, seed: int) -> SamplingParams:

    return replace(params, seed=seed % (2**31))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
