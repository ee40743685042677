"""Verifiers: reward functions for RLVR, importable without the rest of rlvr.

    from verifiers import get_verifier
    v = get_verifier("math", extract="boxed,answer_is,last_number", score_format=0.1)
    v.verify("... so the answer is \\boxed{\\frac12}", "0.5")   # VerifyResult(score=1.1, correct=True, ...)
    v.verify_batch(responses, references, metadata)
    v.close()

Built-ins: `math`, `sql`. Third parties register through the entry-point group `rlvr.verifiers`.
Services with the same `.verify_batch`: `verifiers.service.http_client.HttpVerifier` and
`verifiers.service.ray_pool.RayVerifierPool`.
"""

from verifiers.base import PooledVerifier, Verifier, to_text
from verifiers.options import PoolOptions, VerifierOptions
from verifiers.registry import available_verifiers, get_verifier, register_verifier, verifier_class
from verifiers.result import Judgement, Reason, RewardShaping, VerifyResult

__all__ = [
    "Judgement",
    "PoolOptions",
    "PooledVerifier",
    "Reason",
    "RewardShaping",
    "Verifier",
    "VerifierOptions",
    "VerifyResult",
    "available_verifiers",
    "get_verifier",
    "register_verifier",
    "to_text",
    "verifier_class",
]
