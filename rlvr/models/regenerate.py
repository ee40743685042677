"""Rebuild the shipped embedded model from scratch and compare it with the shipped files.

    python -m rlvr.models.regenerate                  # full pre-training into a temp folder, compare
    python -m rlvr.models.regenerate --out DIR        # keep the result in DIR
    python -m rlvr.models.regenerate --steps 5        # a short run (e.g. to check determinism)
    python -m rlvr.models.regenerate --ship NAME      # write it to rlvr/models/weights/NAME (a new
                                                      # version: then point recipes/model/tiny.yaml
                                                      # and prepare.SHIPPED at NAME)

The pre-training (`rlvr.models.pretrain.pretrain_stages`, whose `STAGES` are the shipped model's
settings) runs on one CPU thread with deterministic kernels: 2,600 steps, about 25 minutes on an
idle core. Two runs on one machine give the same bytes; another CPU may round differently, in
which case this reports which files differ and the shipped weights remain the reference.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

from rlvr.models.pretrain import pretrain_stages
from rlvr.models.shipped import SUMS_FILE, WEIGHTS_DIR, read_sums, shipped_dir, write_sums

DEFAULT_NAME = "tiny-arith-v2"


def regenerate(out: str | Path, **overrides) -> dict[str, str]:
    """Pre-train into `out` (a fresh folder) and write its SHA256SUMS; returns the sums.
    `overrides` apply to every stage (e.g. steps=3 for a quick determinism check)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; pick a new folder")
    pretrain_stages(out, **overrides)
    return write_sums(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rlvr.models.regenerate", description=__doc__.split("\n\n")[0])
    p.add_argument("--name", default=DEFAULT_NAME, help="shipped model to compare with")
    p.add_argument("--out", help="folder to write (default: a temporary folder, removed afterwards)")
    p.add_argument(
        "--steps", type=int, help="pre-training steps of every stage (default: the shipped model's)"
    )
    p.add_argument("--ship", metavar="NAME", help="also copy the result to rlvr/models/weights/NAME")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
    overrides = {"steps": args.steps} if args.steps else {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "model"
        sums = regenerate(out, **overrides)
        print(f"{out}: {SUMS_FILE}")
        for name, digest in sums.items():
            print(f"  {digest}  {name}")
        if args.ship:
            target = WEIGHTS_DIR / args.ship
            if target.exists():
                raise FileExistsError(f"{target} exists: a new pre-training needs a new version name")
            shutil.copytree(out, target)
            print(f"shipped as {target}")
        recorded = read_sums(shipped_dir(args.name) / SUMS_FILE)
        differ = sorted(n for n in recorded.keys() | sums.keys() if recorded.get(n) != sums.get(n))
        if differ:
            print(f"differs from shipped {args.name}: {', '.join(differ)}")
            return 1
        print(f"identical to shipped {args.name}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
