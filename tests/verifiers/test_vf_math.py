"""The math verifier: an equivalence table, lenient extraction, hostile inputs, a killed worker."""

from __future__ import annotations

import os
import threading
import time

import pytest

from verifiers import Reason, get_verifier

OK, WRONG, UNPARSEABLE = Reason.OK, Reason.WRONG, Reason.UNPARSEABLE

TABLE = [
    # fractions and decimals
    (r"so \boxed{0.5}", r"\frac{1}{2}", OK),
    (r"\boxed{\frac{3}{4}}", "0.75", OK),
    (r"\boxed{\dfrac{6}{8}}", r"\frac34", OK),
    (r"\boxed{0.33}", r"\frac{1}{3}", WRONG),
    (r"\boxed{3}", "4", WRONG),
    # radicals
    (r"\boxed{2\sqrt{2}}", r"\sqrt{8}", OK),
    (r"\boxed{\frac{\sqrt{2}}{2}}", r"\frac{1}{\sqrt{2}}", OK),
    (r"\boxed{\sqrt{3}}", r"\sqrt{2}", WRONG),
    # sets and intervals
    (r"\boxed{\{1, 2\}}", r"\{2,1\}", OK),
    (r"\boxed{[1, 2)}", "[1,2)", OK),
    (r"\boxed{(1,2]}", "[1,2]", WRONG),
    # units and equations
    (r"\boxed{5\text{ cm}}", "5", OK),
    (r"\boxed{x = 3}", "3", OK),
    (r"\boxed{x^2 + 2x + 1}", "(x+1)^2", OK),
    # several boxes: the same answer twice is fine; different ones are a set, never one of them
    (r"\boxed{2} so again \boxed{ 2 }", "2", OK),
    (r"maybe \boxed{1} or \boxed{2}", "2", WRONG),
    # no box (default extraction: boxed, answer_is, last_math)
    ("the result is 4", "4", OK),
    ("The answer is 4.", "4", OK),
    ("I am not sure.", "4", UNPARSEABLE),
    # malformed LaTeX
    (r"\boxed{\frac{1}{2}", "0.5", UNPARSEABLE),
    (r"\boxed{)(}", "1", UNPARSEABLE),
    (r"\boxed{}", "1", UNPARSEABLE),
]


@pytest.mark.parametrize("response, reference, reason", TABLE)
def test_equivalence_table(math_verifier, response, reference, reason):
    result = math_verifier.verify(response, reference)
    assert result.reason is reason, result
    assert result.correct is (reason is OK)
    assert result.score == (1.0 if reason is OK else 0.0)


def test_batch_matches_single_calls(math_verifier):
    responses, references, reasons = zip(*TABLE, strict=True)
    assert [r.reason for r in math_verifier.verify_batch(responses, references)] == list(reasons)


def test_lenient_extraction_and_format_bonus():
    with get_verifier("math", workers=1, extract="boxed,answer_is,last_number", score_format=0.1) as v:
        got = v.verify_batch(["23 + 48 = 71", r"\boxed{71}", "I think 70", r"\boxed{70}"], ["71"] * 4)
    assert [r.reason for r in got] == [OK, OK, WRONG, WRONG]
    assert [r.score for r in got] == pytest.approx([1.0, 1.1, 0.0, 0.1])


def _timed(verifier, response, reference="1"):
    assert verifier.pool.wait_ready(60)  # restarts after earlier kills are not part of the bound
    start = time.monotonic()
    result = verifier.verify(response, reference)
    return result, time.monotonic() - start


@pytest.mark.parametrize(
    "response, reasons",
    [
        (r"\boxed{9^{9^{9^9}}}", {Reason.TIMEOUT}),
        (r"\boxed{(10^{10})!}", {Reason.TIMEOUT}),
        (r"\boxed{100000000!}", {Reason.TIMEOUT, Reason.ERROR}),  # error: hit the worker's memory limit first
        ("x" * 1_000_000 + r"\boxed{1}", {Reason.UNPARSEABLE}),
        (r"\boxed{" + "(" * 5000 + "1" + ")" * 5000 + "}", {Reason.UNPARSEABLE}),
        (
            "the answer is " + "9^" * 2000 + "9",
            {Reason.UNPARSEABLE, Reason.TIMEOUT, Reason.WRONG, Reason.ERROR},
        ),
    ],
)
def test_hostile_inputs_fail_within_timeout(math_verifier, response, reasons):
    result, elapsed = _timed(math_verifier, response)
    assert result.reason in reasons and not result.correct, result
    assert elapsed <= math_verifier.options.timeout + 1.0, f"{elapsed:.2f}s"
    assert math_verifier.verify(r"\boxed{1}", "1").correct  # the pool is still healthy


def test_invalid_utf8_bytes_are_accepted(math_verifier):
    result, elapsed = _timed(math_verifier, b"\xff\xfe garbage \xc0\x80 so \\boxed{1}")
    assert result.reason is OK and elapsed <= math_verifier.options.timeout + 1.0


def test_code_as_answer_is_never_executed(math_verifier, tmp_path):
    marker = tmp_path / "pwned"
    for response in (
        rf"\boxed{{__import__('os').system('touch {marker}')}}",
        f"The answer is __import__('os').system('touch {marker}').",
        f"The answer is exec(\"open('{marker}', 'w')\").",
    ):
        result, elapsed = _timed(math_verifier, response, "0")
        assert not result.correct and elapsed <= math_verifier.options.timeout + 1.0
    assert not marker.exists()


def test_killed_worker_gives_error_and_verifier_recovers():
    with get_verifier("math", workers=1, timeout=60) as v:
        assert v.pool.wait_ready(60)
        (victim,) = v.pool.worker_pids()
        out = {}
        t = threading.Thread(target=lambda: out.update(r=v.verify(r"\boxed{9^{9^{9^9}}}", "1")))
        t.start()
        time.sleep(1.0)  # the worker is now deep in sympy
        os.kill(victim, 9)
        t.join(20)
        assert out["r"].reason is Reason.ERROR and "SIGKILL" in out["r"].detail
        assert v.verify(r"\boxed{\frac{2}{4}}", "0.5").correct
        assert victim not in v.pool.worker_pids()
