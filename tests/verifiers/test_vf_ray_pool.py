"""Ray verifier actors give the same results as the in-process verifier (math and SQL)."""

from __future__ import annotations

import pytest

from verifiers import get_verifier

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.mark.slow
def test_ray_actor_pool_equals_in_process(ray_local, shop_db):
    from verifiers.service.ray_pool import RayVerifierPool

    math_rows = [(r"\boxed{%d}" % (i % 4), str(i % 3)) for i in range(30)] + [  # noqa: UP031
        ("The answer is 4.", "4"),
        (r"\boxed{1} \boxed{2}", "2"),
        ("nothing", "1"),
        (r"\boxed{\frac{1}{2}}", "0.5"),
    ]
    sql_rows = [
        (
            f"```sql\nSELECT name FROM customers WHERE id <= {i % 4}\n```",
            "SELECT name FROM customers WHERE id <= 2",
        )
        for i in range(12)
    ] + [("```sql\nDROP TABLE orders\n```", "SELECT 1"), ("```sql\nSELEC\n```", "SELECT 1")]
    meta = [{"db_path": str(shop_db)}] * len(sql_rows)
    with get_verifier("math", workers=1) as local_math, get_verifier("sql", workers=1) as local_sql:
        want_math = local_math.verify_batch(*zip(*math_rows, strict=True))
        want_sql = local_sql.verify_batch(*zip(*sql_rows, strict=True), meta)
    pool = RayVerifierPool("math", num_actors=2, actor_options={"num_cpus": 0.5})
    try:
        assert pool.verify_batch(*zip(*math_rows, strict=True)) == want_math
        assert pool.verify(r"\boxed{3}", "3").correct
    finally:
        pool.close()
    with RayVerifierPool("sql", num_actors=2, actor_options={"num_cpus": 0.5}) as sql_pool:
        assert sql_pool.verify_batch(*zip(*sql_rows, strict=True), meta) == want_sql
    with pytest.raises(Exception, match="unknown option"):
        RayVerifierPool("math", num_actors=1, bogus=1)


def _kill_and_wait_gone(actor, *, no_restart: bool) -> None:
    """`ray.kill` returns before the process dies, so a call sent right after may still be answered
    by it: wait until the process is gone. Ray's restart (a new worker, imports) takes seconds, so
    the next call meets a dead or restarting actor."""
    import os
    import time

    pid = ray.get(actor.pid.remote())
    ray.kill(actor, no_restart=no_restart)
    deadline = time.monotonic() + 60
    while os.path.exists(f"/proc/{pid}"):
        assert time.monotonic() < deadline, f"verifier actor process {pid} still alive 60 s after ray.kill"
        time.sleep(0.01)


@pytest.mark.slow
def test_a_dead_verifier_actor_is_restarted_and_its_share_sent_again(ray_local):
    from verifiers.service.ray_pool import RayVerifierPool

    rows = [(rf"\boxed{{{i % 3}}}", str(i % 2)) for i in range(12)]
    want = [r.correct for r in get_verifier("math").verify_batch(*zip(*rows, strict=True))]
    pool = RayVerifierPool("math", num_actors=2, actor_options={"num_cpus": 0.5}, max_restarts=1)
    try:
        first_pid = ray.get(pool._actors[1].pid.remote())
        _kill_and_wait_gone(pool._actors[1], no_restart=False)  # as a lost node or an OOM kill would
        assert [r.correct for r in pool.verify_batch(*zip(*rows, strict=True))] == want
        assert pool.restarts == 1
        assert ray.get(pool._actors[1].pid.remote()) != first_pid  # answered by the restarted actor
        # The same actor dies again: Ray has no restart left for it and the pool none either,
        # so the error surfaces instead of a wait.
        _kill_and_wait_gone(pool._actors[1], no_restart=False)
        with pytest.raises((ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError)):
            pool.verify_batch(*zip(*rows, strict=True))
    finally:
        pool.close()
