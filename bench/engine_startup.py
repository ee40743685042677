"""vLLM engine start-up on CPU, each case in a fresh process: the imports, then the engine build.

    .venv/bin/python -m bench.engine_startup                 # model=tiny (tiny-arith-v2), 3 processes per case

Cases: `cold` is what a rollout worker does (import vLLM, build: `VLLMEngine` freezes the GC heap
before building), `cold, GC not frozen` the same with `gc.freeze` made a no-op (the build before
the freeze, and vLLM's own freeze at its end skipped), `warm` what a warm actor does
(rlvr.cluster.warm: the engine's `warm_imports` and a frozen heap ahead of time, then the build).
Prints a Markdown table of median seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CASE = """
import gc, json, os, sys, time
case, model = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if case == "warm":
    from rlvr.cluster.warm import _import_all
    from rlvr.cluster.warm import rollout_imports
    _import_all(rollout_imports("vllm"))
else:
    import vllm.entrypoints.llm  # noqa: F401
imported = time.perf_counter() - t0
if case == "unfrozen":
    gc.freeze = lambda: None
import torch
torch.set_num_threads(int(sys.argv[3]))
from rlvr.rollout.engines import make_engine
t0 = time.perf_counter()
engine = make_engine("vllm", model, dtype="float32")
print(json.dumps({"import_seconds": imported, "build_seconds": time.perf_counter() - t0}))
"""
CASES = {"cold": "cold", "unfrozen": "cold, GC not frozen (before)", "warm": "warm actor"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="tiny", help="a model recipe (model=NAME), prepared when missing")
    p.add_argument("--repeats", type=int, default=3, help="fresh processes per case")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    from bench.step_profile import _model_dir

    model = _model_dir(args.model)
    env_note = f"{args.model}, {args.threads} torch threads, median of {args.repeats} processes per case"
    print(f"vLLM engine start-up, {env_note}\n")
    print("| case | imports (s) | engine build (s) |")
    print("| --- | ---: | ---: |")
    for case, label in CASES.items():
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [sys.executable, "-c", CASE, case, model, str(args.threads)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        imp = statistics.median(r["import_seconds"] for r in runs)
        build = statistics.median(r["build_seconds"] for r in runs)
        print(f"| {label} | {imp:.2f} | {build:.2f} |", flush=True)


if __name__ == "__main__":
    main()
