"""Load prompts from any source into one typed form, and tokenize them.

Sources (the `data.train` / `data.test` config values):
  bundled:NAME/SPLIT       a generator in rlvr.tasks (deterministic, ships with rlvr)
  PATH.jsonl / PATH.json   one JSON object per line
  PATH.parquet             a Parquet table
  hf:DATASET[:CONFIG]:SPLIT  a Hugging Face `datasets` data set (local cache or a reachable hub)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str  # the user message (before any chat template)
    answer: str  # the reference the verifier compares against
    metadata: dict[str, Any] = field(default_factory=dict)


def _read_rows(source: str) -> list[dict]:
    if source.startswith("bundled:"):
        from rlvr.tasks import load_bundled

        name, _, split = source[len("bundled:") :].partition("/")
        return load_bundled(name, split or "train")
    if source.startswith("hf:"):
        import datasets

        parts = source[3:].split(":")
        if len(parts) not in (2, 3):
            raise ValueError(f"data source {source!r}: expected hf:DATASET[:CONFIG]:SPLIT")
        ds = datasets.load_dataset(parts[0], parts[1] if len(parts) == 3 else None, split=parts[-1])
        return [dict(r) for r in ds]
    path = Path(source).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: invalid JSON ({e.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def load_prompts(
    source: str,
    *,
    prompt_key: str = "prompt",
    answer_key: str = "answer",
    id_key: str | None = "id",
    metadata_keys: list[str] | tuple[str, ...] = (),
    where: dict[str, list] | None = None,
    limit: int | None = None,
) -> list[Prompt]:
    """Read `source` into Prompts; a row missing a key raises naming the source, row and key.

    where: keep only rows whose column `key` has one of the listed values ({"level": [1, 2]});
        applied before `limit`.
    """
    rows = _read_rows(source)
    if where:
        rows = _select(rows, where, source)
    if limit is not None:
        rows = rows[:limit]
    prompts, ids = [], set()
    for i, row in enumerate(rows):
        where = f"{source} row {i + 1}"
        for key in (prompt_key, answer_key, *metadata_keys):
            if key not in row:
                raise KeyError(f"{where}: missing key {key!r} (has: {', '.join(sorted(row))})")
        pid = str(row[id_key]) if id_key and id_key in row else f"{i:06d}"
        if pid in ids:
            raise ValueError(f"{where}: duplicate id {pid!r}")
        ids.add(pid)
        prompts.append(
            Prompt(
                id=pid,
                text=str(row[prompt_key]),
                answer=str(row[answer_key]),
                metadata={k: row[k] for k in metadata_keys},
            )
        )
    if not prompts:
        raise ValueError(f"data source {source!r} has no rows")
    return prompts


def _select(rows: list[dict], where: dict[str, list], source: str) -> list[dict]:
    wanted = {key: {str(v) for v in values} for key, values in where.items()}  # 1 == "1": YAML vs JSON
    for i, row in enumerate(rows):
        missing = [key for key in wanted if key not in row]
        if missing:
            raise KeyError(
                f"{source} row {i + 1}: data.where names column {missing[0]!r}, which the row lacks "
                f"(has: {', '.join(sorted(row))})"
            )
    kept = [r for r in rows if all(str(r[key]) in values for key, values in wanted.items())]
    if not kept:
        raise ValueError(f"data source {source!r}: no row matches data.where={where}")
    return kept


def prompts_fingerprint(prompts: list[Prompt]) -> str:
    """A hash of ids, texts and answers: the bank manifest uses it to refuse foreign prompt sets."""
    h = hashlib.sha256()
    for p in prompts:
        h.update(json.dumps([p.id, p.text, p.answer], ensure_ascii=False).encode())
    return h.hexdigest()


def encode_prompts(
    tokenizer,
    prompts: list[Prompt],
    *,
    chat_template: bool = True,
    system_prompt: str | None = None,
    max_prompt_tokens: int | None = None,
) -> list[list[int]]:
    """Token ids of each prompt, with the tokenizer's chat template and generation prompt if asked."""
    out = []
    for p in prompts:
        if chat_template:
            messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
                {"role": "user", "content": p.text}
            ]
            ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(
                ids, "input_ids"
            ):  # transformers 5 may return a BatchEncoding
                ids = ids["input_ids"]
        else:
            ids = tokenizer(p.text, add_special_tokens=True)["input_ids"]
        ids = list(ids)
        if max_prompt_tokens is not None and len(ids) > max_prompt_tokens:
            raise ValueError(
                f"prompt {p.id!r} has {len(ids)} tokens > data.max_prompt_tokens={max_prompt_tokens}; "
                "raise the limit or filter the data"
            )
        out.append(ids)
    return out


def load_split(
    data, model, tokenizer, *, split: str = "train", limit: int | None = None
) -> tuple[list[Prompt], list[list[int]]]:
    """The prompts of `data.train` (or `data.test`, falling back to train) and their token ids.

    data, model: the run's DataConfig and ModelConfig (key names, chat template, length limit).
    limit: first N rows (default: `data.limit` for train, all rows for test).
    """
    source = data.train if split == "train" else (data.test or data.train)
    if split == "train" and limit is None:
        limit = data.limit
    prompts = load_prompts(
        source,
        prompt_key=data.prompt_key,
        answer_key=data.answer_key,
        id_key=data.id_key,
        metadata_keys=data.metadata_keys,
        where=data.where,
        limit=limit,
    )
    ids = encode_prompts(
        tokenizer,
        prompts,
        chat_template=model.chat_template,
        system_prompt=model.system_prompt,
        max_prompt_tokens=data.max_prompt_tokens,
    )
    return prompts, ids
