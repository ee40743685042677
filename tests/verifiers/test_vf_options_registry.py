"""Reward shaping, option parsing and the registry's errors."""

from __future__ import annotations

import pytest

from verifiers import (
    Judgement,
    Reason,
    RewardShaping,
    VerifyResult,
    available_verifiers,
    get_verifier,
    register_verifier,
)
from verifiers.base import Verifier, to_text


def test_shaping_buckets_and_format_bonus():
    s = RewardShaping(correct=1.0, wrong=-0.5, unparseable=-1.0, failure=0.25, format=0.1)
    assert s.score(Judgement(Reason.OK)) == 1.0
    assert s.score(Judgement(Reason.OK, formatted=True)) == pytest.approx(1.1)
    assert s.score(Judgement(Reason.WRONG)) == -0.5
    assert s.score(Judgement(Reason.TOO_MANY_ROWS)) == -0.5
    assert s.score(Judgement(Reason.SYNTAX_ERROR)) == -1.0
    assert s.score(Judgement(Reason.TIMEOUT)) == 0.25
    r = s.result(Judgement(Reason.FORBIDDEN, "no", formatted=True))
    assert (r.correct, r.reason, r.score) == (False, Reason.FORBIDDEN, pytest.approx(-0.4))
    assert VerifyResult.from_dict(r.to_dict()) == r
    assert set(_ for _ in Reason) <= set(Reason), "every reason has a bucket"
    for reason in Reason:
        s.score(Judgement(reason))  # KeyError if a reason had no bucket


def test_options_from_strings_and_errors():
    v = get_verifier(
        "math", score_correct="2", score_format="0.5", strict="false", extract="boxed,last_number"
    )
    assert v.options.score_correct == 2.0 and v.options.strict is False
    assert v.options.strategies() == ("boxed", "last_number")
    with pytest.raises(TypeError, match="unknown option.*bogus.*valid options:.*timeout"):
        get_verifier("math", bogus=1)
    with pytest.raises(ValueError, match="expected float"):
        get_verifier("math", timeout="soon")
    with pytest.raises(ValueError, match="extract="):
        get_verifier("math", extract="boxed,guess")
    with pytest.raises(ValueError, match="timeout must be > 0"):
        get_verifier("sql", timeout=0)


def test_unknown_verifier_lists_known_names():
    with pytest.raises(KeyError, match=r"unknown verifier 'nope'; known verifiers: .*math.*sql"):
        get_verifier("nope")
    assert {"math", "sql"} <= set(available_verifiers())


def test_register_in_process_and_judge_errors_are_contained():
    class Flaky(Verifier):
        name = "flaky-test"

        def judge(self, response, reference, metadata):
            if response == "boom":
                raise RuntimeError("kaput")
            return Judgement(Reason.OK if response == reference else Reason.WRONG)

    register_verifier("flaky-test", Flaky, overwrite=True)
    v = get_verifier("flaky-test", score_wrong=-1)
    results = v.verify_batch(["a", "boom", "b"], ["a", "a", "a"])
    assert [r.reason for r in results] == [Reason.OK, Reason.ERROR, Reason.WRONG]
    assert "kaput" in results[1].detail and results[2].score == -1
    with pytest.raises(ValueError, match="2 responses but 1 references"):
        v.verify_batch(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="already registered"):
        register_verifier("flaky-test", Flaky)


def test_to_text_accepts_bytes_and_surrogates():
    assert to_text(b"ok \xff\xfe") == "ok \ufffd\ufffd"
    escaped = b"x\xffy".decode("utf-8", "surrogateescape")
    assert to_text(escaped) == "x\ufffdy"
    to_text(escaped).encode("utf-8")  # valid UTF-8 now
    with pytest.raises(TypeError, match="str or bytes"):
        to_text(12)  # type: ignore[arg-type]
