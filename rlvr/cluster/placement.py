"""Placement groups for the run's actor groups, and the cluster-wide policy they follow.

`init_ray` records the run's `cluster.placement` (PACK or SPREAD, Ray's strategies) and
`cluster.max_restarts` here; `LearnerGroup` and `RolloutGroup` read them when they start their
actors, one bundle per actor, so a run on N nodes places the same way every time. Each group logs
the node of every actor ("placement: <group> <k> on node <id> (<ip>)") and keeps the node ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")


@dataclass
class Policy:
    strategy: str = "PACK"
    max_restarts: int = 2  # rollout worker restarts (Ray max_restarts); the step is retried after one
    timeout_s: float = 300.0  # how long a placement group may wait for resources before we give up


_policy = Policy()


def set_policy(strategy: str, max_restarts: int) -> None:
    if strategy not in STRATEGIES:
        raise ValueError(f"cluster.placement={strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if max_restarts < 0:
        raise ValueError(f"cluster.max_restarts must be >= 0, got {max_restarts}")
    _policy.strategy, _policy.max_restarts = strategy, max_restarts


def policy() -> Policy:
    return _policy


class ActorPlacement:
    """A placement group of `n` identical bundles and the scheduling option for actor k."""

    def __init__(self, what: str, n: int, num_cpus: float, num_gpus: float, strategy: str | None = None):
        import ray
        from ray.util.placement_group import placement_group

        self.what = what
        self.strategy = strategy or _policy.strategy
        bundle = {k: v for k, v in {"CPU": num_cpus, "GPU": num_gpus}.items() if v}
        if not bundle:
            raise ValueError(f"{what}: an actor reserving no CPU and no GPU cannot be placed")
        self.pg = placement_group([dict(bundle) for _ in range(n)], strategy=self.strategy)
        ready, _ = ray.wait([self.pg.ready()], timeout=_policy.timeout_s)
        if not ready:
            ray.util.remove_placement_group(self.pg)
            raise RuntimeError(
                f"{what}: {n} bundles of {bundle} with strategy {self.strategy} found no room in "
                f"{_policy.timeout_s:.0f} s; the cluster has {ray.cluster_resources()}. Lower the actor "
                "count or per-actor resources, add nodes, or use cluster.placement=PACK"
            )
        self.nodes = self._bundle_nodes(n)
        ips = {node["NodeID"]: node["NodeManagerAddress"] for node in ray.nodes()}
        for k, node in enumerate(self.nodes):
            log.info(
                "placement: %s %d on node %s (%s), strategy %s",
                what,
                k,
                node,
                ips.get(node, "?"),
                self.strategy,
            )

    def _bundle_nodes(self, n: int) -> list[str]:
        from ray.util import placement_group_table

        table = placement_group_table(self.pg)["bundles_to_node_id"]
        return [table[k] for k in range(n)]

    def options(self, k: int) -> dict[str, Any]:
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        return {
            "scheduling_strategy": PlacementGroupSchedulingStrategy(
                placement_group=self.pg, placement_group_bundle_index=k
            )
        }

    def remove(self) -> None:
        import ray

        ray.util.remove_placement_group(self.pg)
