"""Process-group set-up for learner ranks (one process per rank, torch.distributed via DeepSpeed)."""

from __future__ import annotations

import os
import random
import socket
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Rendezvous:
    """Where rank `rank` of `world_size` meets the others (rank 0 listens on master_addr:port).

    local_rank is the accelerator index inside the process: 0 under Ray, which gives each actor
    only its own GPU through CUDA_VISIBLE_DEVICES.
    """

    rank: int
    world_size: int
    master_addr: str
    master_port: int
    local_rank: int = 0

    @classmethod
    def single_process(cls) -> Rendezvous:
        return cls(rank=0, world_size=1, master_addr="127.0.0.1", master_port=free_port())


def free_port(host: str = "") -> int:
    """A TCP port that is free now on this node (another process may take it before we bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def node_ip() -> str:
    """This node's address as other Ray nodes see it; 127.0.0.1 outside Ray."""
    try:
        import ray

        if ray.is_initialized():
            return ray.util.get_node_ip_address()
    except ImportError:
        pass
    return "127.0.0.1"


def default_backend() -> str:
    """The accelerator's collective backend: nccl on CUDA; gloo from DeepSpeed's CPU accelerator
    when oneCCL is not installed (ccl when it is)."""
    from deepspeed.accelerator import get_accelerator

    return get_accelerator().communication_backend_name()


def init_process_group(rdzv: Rendezvous | None, backend: str | None = None) -> tuple[int, int]:
    """Join (or reuse) the default process group; returns (rank, world_size).

    A process that already has a group (a second Learner in the same test process) reuses it,
    which is only valid when the world sizes agree.
    """
    import deepspeed
    import torch.distributed as dist

    if dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
        if rdzv is not None and (rdzv.world_size != world or rdzv.rank != rank):
            raise RuntimeError(
                f"this process already belongs to a process group (rank {rank} of {world}); "
                f"cannot join as rank {rdzv.rank} of {rdzv.world_size}. Use one process per rank (LearnerGroup)."
            )
        return rank, world
    rdzv = rdzv or Rendezvous.single_process()
    os.environ.update(
        MASTER_ADDR=rdzv.master_addr,
        MASTER_PORT=str(rdzv.master_port),
        RANK=str(rdzv.rank),
        WORLD_SIZE=str(rdzv.world_size),
        LOCAL_RANK=str(rdzv.local_rank),
        LOCAL_WORLD_SIZE=os.environ.get("LOCAL_WORLD_SIZE", "1"),
    )
    # A new default group (the previous one destroyed, e.g. by an in-process vLLM engine's clean-up)
    # invalidates DeepSpeed's cached clone of the old world group, which it would otherwise reuse:
    # "Group ... is not registered" at the next engine's first broadcast.
    _forget_deepspeed_world_group()
    backend = backend or default_backend()
    if backend == "nccl":
        from deepspeed.accelerator import get_accelerator

        get_accelerator().set_device(rdzv.local_rank)
    # auto_mpi_discovery would probe for mpirun; our env is complete.
    deepspeed.init_distributed(dist_backend=backend, auto_mpi_discovery=False, verbose=False)
    return dist.get_rank(), dist.get_world_size()


def _forget_deepspeed_world_group() -> None:
    from deepspeed.utils import groups

    if getattr(groups, "_WORLD_GROUP", None) is not None:
        groups._WORLD_GROUP = None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
