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

    if model_path is not None and not Path(model_path).is_dir():
        raise FileNotFoundError(
            f"--model {model_path}: no such model folder (a run's final/ or an HF folder)"
        )
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
    """Pass@k (powers of two and n), greedy accuracy and distinct correct per model, each as
    `value [low, high]` with its 95% bootstrap interval over problems. Metrics are rows and models
    columns, so the table fits 80 columns (the width `make train` prints at) for a few models."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text  # plain text: "[0.15, 0.25]" must not be read as rich markup

    from rlvr.eval.report import format_interval

    n = max(r.n for r in results.values())
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256) if k < n] + [n]
    problems = sorted({r.num_problems for r in results.values()})
    resamples = sorted({r.bootstrap.get("resamples") for r in results.values() if r.bootstrap})
    note = f"{'/'.join(map(str, problems))} problems"
    if resamples:
        note += (
            f"; [low, high]: 95% bootstrap interval over problems ({'/'.join(map(str, resamples))} resamples)"
        )
    table = Table(title="Pass@k")
    table.add_column("metric")
    for name in results:
        table.add_column(Text(name), justify="right")
    rows = [(f"pass@{k}", lambda r, k=k: (r.pass_at_k.get(k), r.pass_at_k_ci.get(k)), 3) for k in ks]
    rows += [
        ("greedy", lambda r: (r.greedy_accuracy, r.greedy_accuracy_ci), 3),
        ("distinct correct", lambda r: (r.mean_distinct_correct, r.distinct_correct_ci), 2),
    ]
    for label, get, digits in rows:
        table.add_row(label, *[Text(format_interval(*get(r), digits=digits)) for r in results.values()])
    console = Console()
    console.print(table)
    console.print(Text(note), soft_wrap=True)
