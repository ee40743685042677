"""Model folders that ship inside the package, checked against their recorded SHA-256 sums.

The embedded default `tiny-arith-v2` is pre-trained once by `python -m rlvr.models.regenerate`
and its files are versioned under `rlvr/models/weights/<name>/`, with `SHA256SUMS` in the format
of coreutils' `sha256sum` (so `cd rlvr/models/weights/tiny-arith-v2 && sha256sum -c SHA256SUMS`
checks them by hand). Preparing the model copies the folder and checks every file, so every
machine starts RL from the same bytes; pre-training on another CPU could round differently.

A new pre-training must get a new folder name (tiny-arith-v3, ...) and a matching
`recipes/model/tiny.yaml`, so a model cached under the old name is never taken for the new one.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent / "weights"
SUMS_FILE = "SHA256SUMS"
WEIGHTS_FILE = "model.safetensors"


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shipped_dir(name: str) -> Path:
    folder = WEIGHTS_DIR / name
    if not (folder / SUMS_FILE).is_file():
        available = sorted(p.name for p in WEIGHTS_DIR.iterdir() if (p / SUMS_FILE).is_file())
        raise FileNotFoundError(f"no shipped model {name!r} under {WEIGHTS_DIR}; shipped: {available}")
    return folder


def read_sums(sums_file: str | Path) -> dict[str, str]:
    """file name -> SHA-256 hex digest, from a `sha256sum`-format file."""
    sums = {}
    for n, line in enumerate(Path(sums_file).read_text().splitlines(), 1):
        if not line.strip():
            continue
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise ValueError(f"{sums_file}:{n}: expected '<sha256>  <file name>', got {line!r}")
        sums[name.lstrip("*")] = digest
    return sums


def write_sums(folder: str | Path) -> dict[str, str]:
    """Write `SHA256SUMS` for every other file of `folder`; returns what it wrote."""
    folder = Path(folder)
    sums = {f.name: sha256_file(f) for f in sorted(folder.iterdir()) if f.is_file() and f.name != SUMS_FILE}
    (folder / SUMS_FILE).write_text("".join(f"{d}  {n}\n" for n, d in sums.items()))
    return sums


def recorded_fingerprint(name: str) -> str:
    """The recorded SHA-256 of the shipped model's weights file: the model's fingerprint."""
    return read_sums(shipped_dir(name) / SUMS_FILE)[WEIGHTS_FILE]


def verify_folder(folder: str | Path, sums: dict[str, str]) -> None:
    """Raise if a file named in `sums` is missing from `folder` or has other contents."""
    folder = Path(folder)
    for name, digest in sums.items():
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; delete {folder} and prepare the model again")
        actual = sha256_file(path)
        if actual != digest:
            raise ValueError(
                f"{path} has SHA-256 {actual}, but {digest} is recorded: the file is damaged or was "
                f"changed; delete {folder} and prepare the model again"
            )


def install_shipped(name: str, out: str | Path) -> Path:
    """Copy shipped model `name` into `out` and check every file against the recorded sums."""
    source = shipped_dir(name)
    sums = read_sums(source / SUMS_FILE)
    verify_folder(source, sums)  # a damaged install or checkout fails here, naming the file
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for file in sums:
        shutil.copyfile(source / file, out / file)
    shutil.copyfile(source / SUMS_FILE, out / SUMS_FILE)
    verify_folder(out, sums)
    return out
