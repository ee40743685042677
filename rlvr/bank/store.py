"""Bank storage: Parquet shards of samples plus a JSON manifest naming what made them.

Layout of a bank folder:
  manifest.json        model fingerprint, prompts fingerprint, sampling params, verifier, split
  samples-00000.parquet, ...   one row per sample (columns: see BankSample)

The manifest is what makes a bank reusable across runs and safe: training refuses a bank whose
model or prompts differ from the run's (BankMismatchError names the differing field and both values).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("sample_index", pa.int32()),
        ("prompt_token_ids", pa.list_(pa.int32())),
        ("response_token_ids", pa.list_(pa.int32())),
        ("logp_ref", pa.list_(pa.float32())),
        ("text", pa.string()),
        ("score", pa.float32()),
        ("correct", pa.bool_()),
        ("reason", pa.string()),
    ]
)


class BankMismatchError(ValueError):
    """The bank was made by another model or on other prompts than the run's."""


@dataclass
class BankSample:
    prompt_id: str
    sample_index: int
    prompt_token_ids: list[int]
    response_token_ids: list[int]
    logp_ref: list[float]  # log pi_0 of each response token
    text: str
    score: float
    correct: bool
    reason: str


def model_fingerprint(model_path: str | Path) -> str:
    """A hash of a model folder's config and weights.

    Weight files are hashed by name, size and their first and last 4 MiB: enough to tell models
    apart, and cheap for multi-GB checkpoints (a full hash of a 7B model costs minutes).
    """
    path = Path(model_path)
    if not path.is_dir():
        return f"name:{model_path}"  # a hub id: the name is all we know
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.name in ("config.json", "generation_config.json", "tokenizer.json"):
            h.update(f.name.encode() + f.read_bytes())
        elif f.suffix in (".safetensors", ".bin", ".gguf"):
            size = f.stat().st_size
            h.update(f"{f.name}:{size}".encode())
            with open(f, "rb") as fh:
                h.update(fh.read(4 << 20))
                fh.seek(max(0, size - (4 << 20)))
                h.update(fh.read())
    return h.hexdigest()


class BankWriter:
    """Append samples, flush them in shards, then `finish` writes the manifest (last, atomically)."""

    def __init__(self, path: str | Path, shard_size: int = 4096) -> None:
        self.path = Path(path)
        if (self.path / MANIFEST).exists():
            raise FileExistsError(f"a bank already exists at {self.path}; delete it or choose bank.path")
        self.path.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self._rows: list[dict] = []
        self._shards: list[str] = []
        self.num_samples = 0

    def add(self, sample: BankSample) -> None:
        if len(sample.logp_ref) != len(sample.response_token_ids):
            raise ValueError(
                f"sample {sample.prompt_id}/{sample.sample_index}: {len(sample.logp_ref)} log-probs for "
                f"{len(sample.response_token_ids)} response tokens"
            )
        self._rows.append(asdict(sample))
        self.num_samples += 1
        if len(self._rows) >= self.shard_size:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        name = f"samples-{len(self._shards):05d}.parquet"
        pq.write_table(pa.Table.from_pylist(self._rows, schema=SCHEMA), self.path / name)
        self._shards.append(name)
        self._rows = []

    def finish(self, manifest: dict[str, Any]) -> ReferenceBank:
        self._flush()
        full = {
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "num_samples": self.num_samples,
            "shards": self._shards,
            **manifest,
        }
        tmp = self.path / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(full, indent=2, sort_keys=True))
        tmp.replace(self.path / MANIFEST)
        return ReferenceBank(self.path)


def split_prompts(correct: dict[str, list[bool]], pef_threshold: float) -> dict[str, list[str]]:
    """DPH-RL's split, in the order of `correct`: D_pef ("pef") holds the prompts with at least
    `pef_threshold` of their samples correct, D_exp ("exp") the rest."""
    split: dict[str, list[str]] = {"pef": [], "exp": []}
    for pid, oks in correct.items():
        split["pef" if sum(oks) / len(oks) >= pef_threshold else "exp"].append(pid)
    return split


class ReferenceBank:
    """A bank on disk. Samples load lazily (all shards at once: banks are small next to a model).

    pef_threshold: D_pef holds the prompts with at least this fraction of correct samples, D_exp the
        rest, computed from the stored samples; None keeps the split written at sampling time. One
        bank serves runs with different thresholds (sampling is the expensive part).
    """

    def __init__(self, path: str | Path, *, pef_threshold: float | None = None) -> None:
        self.path = Path(path)
        self.pef_threshold = pef_threshold
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            raise FileNotFoundError(
                f"no bank at {self.path} ({MANIFEST} missing); run `rlvr sample-reference` first"
            )
        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"bank {self.path} has format {self.manifest.get('format_version')}, "
                f"this rlvr reads {FORMAT_VERSION}; re-run `rlvr sample-reference`"
            )
        self._table: pa.Table | None = None

    @staticmethod
    def exists(path: str | Path) -> bool:
        return (Path(path) / MANIFEST).exists()

    def check(
        self,
        *,
        model_fingerprint: str,
        prompts_fingerprint: str,
        sampling: dict[str, Any] | None = None,
    ) -> None:
        """Refuse a bank made by another model, on other prompts or under other sampling (the
        `sampling` fields given, e.g. temperature and top_p), naming what differs."""
        stored = self.manifest.get("sampling", {})
        for key, expected in (sampling or {}).items():
            found = stored.get(key, "missing")
            if found != expected and not (
                isinstance(found, int | float)
                and isinstance(expected, int | float)
                and float(found) == expected
            ):
                raise BankMismatchError(
                    f"reference bank {self.path} was sampled with sampling.{key}={found!r}, this run samples "
                    f"with {expected!r}: its pi_0 samples and log-probs belong to another distribution. "
                    "Point bank.path elsewhere (or drop it to use the default path, which names the "
                    "sampling) or re-run `rlvr sample-reference` with this run's sampling."
                )
        for key, expected in (
            ("model_fingerprint", model_fingerprint),
            ("prompts_fingerprint", prompts_fingerprint),
        ):
            found = self.manifest.get(key)
            if found != expected:
                what = (
                    self.manifest.get("model", {}).get("path")
                    if key == "model_fingerprint"
                    else "the prompts"
                )
                raise BankMismatchError(
                    f"reference bank {self.path} does not match this run: its {key} is {found!r} "
                    f"(made from {what}), the run's is {expected!r}. Point bank.path elsewhere or re-run "
                    "`rlvr sample-reference` for this model and data."
                )

    @property
    def table(self) -> pa.Table:
        if self._table is None:
            tables = [pq.read_table(self.path / s, schema=SCHEMA) for s in self.manifest["shards"]]
            self._table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
        return self._table

    @property
    def pef_prompt_ids(self) -> list[str]:
        return list(self._split["pef"])

    @property
    def exp_prompt_ids(self) -> list[str]:
        return list(self._split["exp"])

    @cached_property
    def _split(self) -> dict[str, list[str]]:
        if self.pef_threshold is None:
            return self.manifest["split"]
        correct: dict[str, list[bool]] = {}  # prompt order as sampled
        for pid, ok in zip(
            self.table.column("prompt_id").to_pylist(), self.table.column("correct").to_pylist(), strict=True
        ):
            correct.setdefault(pid, []).append(ok)
        return split_prompts(correct, self.pef_threshold)

    def samples(self, prompt_ids: list[str] | None = None) -> list[BankSample]:
        rows = self.table.to_pylist()
        if prompt_ids is not None:
            keep = set(prompt_ids)
            rows = [r for r in rows if r["prompt_id"] in keep]
        return [BankSample(**r) for r in rows]

    def __len__(self) -> int:
        return int(self.manifest["num_samples"])
