"""`evaluate` with a scripted engine and verifier: per-problem rows, intervals and greedy results."""

from types import SimpleNamespace

import pytest

from rlvr.data import Prompt
from rlvr.eval.evaluate import evaluate
from rlvr.eval.metrics import pass_at_k

# Problem j answers "j"; the engine's k-th sample of problem j is right when k < CORRECT[j].
CORRECT = [0, 1, 3, 8, 2, 0, 5, 8]
GREEDY_RIGHT = {2, 3, 6}


class ScriptedEngine:
    def generate(self, prompt_token_ids, params):
        out = []
        for j in range(len(prompt_token_ids)):
            for s in range(params.n):
                right = (j in GREEDY_RIGHT) if params.temperature == 0 else s < CORRECT[j]
                out.append(SimpleNamespace(prompt_index=j, text=str(j) if right else f"wrong {s}"))
        return out


class ExactVerifier:
    def verify_batch(self, responses, references, metadata):
        return [SimpleNamespace(correct=r == ref) for r, ref in zip(responses, references, strict=True)]


def test_evaluate_files_per_problem_rows_and_intervals():
    prompts = [Prompt(id=f"p{j}", text=f"q{j}", answer=str(j)) for j in range(len(CORRECT))]
    r = evaluate(
        ScriptedEngine(), ExactVerifier(), prompts, [[1]] * len(prompts), n=8, bootstrap_resamples=400
    )
    assert [row["correct"] for row in r.per_problem] == CORRECT
    assert [row["greedy_correct"] for row in r.per_problem] == [j in GREEDY_RIGHT for j in range(8)]
    assert r.greedy_accuracy == pytest.approx(3 / 8)
    for k in range(1, 9):
        assert r.pass_at_k[k] == pytest.approx(sum(pass_at_k(8, c, k) for c in CORRECT) / 8)
        lo, hi = r.pass_at_k_ci[k]
        assert lo <= r.pass_at_k[k] <= hi and lo < hi
    lo, hi = r.greedy_accuracy_ci
    assert 0.0 <= lo < 3 / 8 < hi <= 1.0
    assert r.bootstrap["resamples"] == 400
    assert r.metrics()["eval/pass@8_ci_low"] == r.pass_at_k_ci[8][0]


def test_evaluate_keeps_the_first_response_of_the_first_problems():
    class Judged(ExactVerifier):
        def verify_batch(self, responses, references, metadata):
            return [
                SimpleNamespace(
                    correct=r.correct,
                    score=float(r.correct),
                    reason="ok" if r.correct else "wrong",
                    detail="",
                )
                for r in super().verify_batch(responses, references, metadata)
            ]

    prompts = [Prompt(id=f"p{j}", text=f"q{j}", answer=str(j)) for j in range(len(CORRECT))]
    r = evaluate(ScriptedEngine(), Judged(), prompts, [[1]] * 8, n=4, greedy=False, keep_samples=3)
    assert [(s["prompt_id"], s["response"], s["correct"]) for s in r.samples] == [
        ("p0", "wrong 0", False),
        ("p1", "1", True),
        ("p2", "2", True),
    ]
    assert (
        r.samples[1]["prompt"] == "q1" and r.samples[1]["reference"] == "1" and r.samples[1]["reward"] == 1.0
    )
