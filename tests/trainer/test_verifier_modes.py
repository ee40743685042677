"""The trainer reaches a verifier the same way in all three modes: pool, Ray actors, HTTP."""

import pytest

from rlvr.config.schema import VerifierConfig
from rlvr.trainer.components import make_verifier

RESPONSES = ["so \\boxed{12}", "\\boxed{13}", "no answer"]
REFERENCES = ["12", "12", "12"]


def _reasons(verifier):
    return [str(r.reason) for r in verifier.verify_batch(RESPONSES, REFERENCES, [{}] * 3)]


def test_pool_and_ray_modes_agree():
    import ray

    local = make_verifier(VerifierConfig(name="math", mode="pool"))
    try:
        expected = _reasons(local)
    finally:
        local.close()
    assert expected == ["ok", "wrong", "unparseable"]
    ray.init(address="local", num_cpus=2, include_dashboard=False)
    try:
        remote = make_verifier(VerifierConfig(name="math", mode="ray", num_actors=1, num_cpus_per_actor=0.5))
        assert _reasons(remote) == expected
    finally:
        ray.shutdown()


def test_http_mode_needs_a_url_and_builds_the_client():
    with pytest.raises(ValueError, match="verifier.url"):
        make_verifier(VerifierConfig(name="math", mode="http"))
    client = make_verifier(VerifierConfig(name="math", mode="http", url="http://127.0.0.1:9", timeout_s=1.0))
    assert type(client).__name__ == "HttpVerifier"
    with pytest.raises(ValueError, match="pool, ray or http"):
        make_verifier(VerifierConfig(name="math", mode="carrier-pigeon"))
