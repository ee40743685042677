"""Evaluation runs: build an engine + verifier from config, evaluate, file the result in a run dir."""

from __future__ import annotations

import json
from pathlib import Path

from rlvr.config.schema import TrainConfig
from rlvr.eval.evaluate import EvalResult, evaluate


def load_test_set(cfg: TrainConfig, tokenizer):
    from rlvr.data import load_split

    return load_split(cfg.data, cfg.model, tokenizer, split="test", limit=cfg.eval.max_problems)


def save_eval(run_dir: Path, step: int, result: EvalResult) -> Path:
    folder = Path(run_dir) / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"step_{step:06d}.json"
    path.write_text(json.dumps(result.to_dict(), indent=1))
    return path


def evaluate_model(cfg: TrainConfig, *, model_path: str | None, run_dir: Path, step: int = 0) -> EvalResult:
    """Evaluate one model folder in this process (the rollout engine runs in-process, no Ray)."""
    from rlvr.rollout.engines import make_engine
    from rlvr.trainer import components

    path = model_path or components.ensure_model(cfg.model)
    tokenizer = components.load_tokenizer(path)
    prompts, ids = load_test_set(cfg, tokenizer)
    engine = make_engine(
        cfg.rollout.engine, path, seed=cfg.seed, dtype=cfg.model.dtype, **cfg.rollout.engine_options
    )
    verifier = components.make_verifier(cfg.verifier)
    try:
        result = evaluate(
            engine,
            verifier,
            prompts,
            ids,
            n=cfg.eval.n,
            temperature=cfg.eval.temperature,
            max_tokens=cfg.rollout.sampling.max_tokens,
            seed=cfg.seed,
        )
    finally:
        engine.close()
        if hasattr(verifier, "close"):
            verifier.close()  # stop its worker pool before the interpreter shuts down
    save_eval(run_dir, step, result)
    return result


def print_table(results: dict[str, EvalResult]) -> None:
    from rich.console import Console
    from rich.table import Table

    n = max(r.n for r in results.values())
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k <= n]
    table = Table(title="Pass@k")
    for col in ["model", *[f"pass@{k}" for k in ks], "greedy", "distinct correct"]:
        table.add_column(col, justify="right")
    for name, r in results.items():
        greedy = "-" if r.greedy_accuracy is None else f"{r.greedy_accuracy:.3f}"
        table.add_row(name, *[f"{r.pass_at_k[k]:.3f}" for k in ks], greedy, f"{r.mean_distinct_correct:.2f}")
    Console().print(table)
