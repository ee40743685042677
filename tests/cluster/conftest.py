"""Fixtures shared by the cluster tests: a real 2-node Ray cluster (token auth on) and a cache dir.

Both are session-scoped: starting Ray's nodes costs ~30 s on these machines, and every test that
submits a job reuses the one cluster and the one prepared model.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cluster_helpers import TINY_RUN  # noqa: E402
from ray_nodes import start_ray_nodes  # noqa: E402


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory) -> Path:
    """`parity` as a verifier plugin found through PYTHONPATH alone: its module and a dist-info
    whose entry point `importlib.metadata` discovers (what a user's uninstalled plugin needs)."""
    d = tmp_path_factory.mktemp("plugins")
    (d / "parity.py").write_text((Path(__file__).parents[1] / "e2e" / "parity.py").read_text())
    info = d / "rlvr_parity_plugin-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: rlvr-parity-plugin\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text("[rlvr.verifiers]\nparity = parity:ParityVerifier\n")
    return d


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, plugin_dir) -> list[str]:
    """TINY_RUN's overrides with its prompt file."""
    path = tmp_path_factory.mktemp("data") / "train.jsonl"
    refs = ["any", "even", "odd", "odd", "even", "even", "odd", "any"]
    path.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "prompt": f"What is {i} + {i + 3}?", "answer": r}) + "\n"
            for i, r in enumerate(refs)
        )
    )
    return [*TINY_RUN, f"data.train={path}"]


@pytest.fixture(scope="session")
def rlvr_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("rlvr_cache")


@pytest.fixture(scope="session")
def ray_nodes(tmp_path_factory):
    # A short temp dir: Ray's socket paths must stay under the 107-byte limit.
    import tempfile

    temp = Path(tempfile.mkdtemp(prefix="rlvr-ray-"))
    nodes = start_ray_nodes(temp, workers=1, num_cpus=4)
    yield nodes
    nodes.stop()
    shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    """A real single-node Slurm cluster (slurmctld, slurmd, munged), stopped by its pid files."""
    import tempfile

    from slurm_cluster import slurm_available, start_slurm

    why = slurm_available()
    if why:
        pytest.skip(why)
    cluster = start_slurm(Path(tempfile.mkdtemp(prefix="rlvr-slurm-")))
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)
