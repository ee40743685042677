"""RUN/samples.jsonl keeps a bounded sample of what the model answered, and the report shows it."""

from __future__ import annotations

import json

from rlvr.tracking.samples import SampleLog, read_samples


def _rows(prompts: int, per_prompt: int, text: str = "answer"):
    return [
        {
            "prompt_id": f"p{i}",
            "prompt": f"Q{i}",
            "response": f"{text} {i}.{k}",
            "reference": "1",
            "reward": float(k == 0),
            "correct": k == 0,
            "reason": "ok" if k == 0 else "wrong",
            "detail": "",
        }
        for i in range(prompts)
        for k in range(per_prompt)
    ]


def test_one_response_per_prompt_up_to_the_bound(tmp_path):
    log = SampleLog(tmp_path, per_call=3, max_chars=10)
    log.record(1, "train", _rows(5, 4, text="x" * 50))
    rows = read_samples(tmp_path / "samples.jsonl")
    assert [r["prompt_id"] for r in rows] == ["p0", "p1", "p2"]
    assert all(r["step"] == 1 and r["kind"] == "train" for r in rows)
    assert rows[0]["response"].startswith("x" * 10) and "more characters" in rows[0]["response"]


def test_the_file_stops_growing_at_max_bytes(tmp_path):
    log = SampleLog(tmp_path, per_call=4, max_bytes=2000)
    for step in range(1, 50):
        log.record(step, "train", _rows(4, 1))
    size = (tmp_path / "samples.jsonl").stat().st_size
    assert 1000 < size <= 2000
    assert SampleLog(tmp_path, per_call=0).per_call == 0


def test_a_new_run_starts_empty_and_a_resumed_one_drops_rows_after_its_checkpoint(tmp_path):
    log = SampleLog(tmp_path, per_call=1)
    for step in (1, 2, 3):
        log.record(step, "train", _rows(1, 1))
    resumed = SampleLog(tmp_path, per_call=1, resume_step=2)
    assert [r["step"] for r in read_samples(resumed.path)] == [1, 2]
    SampleLog(tmp_path, per_call=1)
    assert read_samples(tmp_path / "samples.jsonl") == []


def test_the_report_shows_the_last_step_and_evaluation(tmp_path):
    from rlvr.eval.evaluate import EvalResult
    from rlvr.eval.report import write_report
    from rlvr.eval.run import save_eval

    run = tmp_path / "run"
    log = SampleLog(run, per_call=2)
    log.record(1, "train", _rows(2, 1, text="old <b>"))
    log.record(2, "train", _rows(2, 1, text="newest <b>"))
    log.record(2, "eval", _rows(2, 1, text="evaluated"))
    result = EvalResult(
        n=2,
        num_problems=2,
        pass_at_k={1: 0.5, 2: 0.5},
        greedy_accuracy=None,
        mean_distinct_correct=0.5,
        distinct_1=1.0,
        distinct_2=1.0,
        per_problem=[
            {"id": "p0", "correct": 1, "distinct_correct": 1},
            {"id": "p1", "correct": 1, "distinct_correct": 1},
        ],
    )
    save_eval(run, 2, result)
    page = write_report([run], tmp_path / "report.html").read_text()
    assert "<h2>Samples</h2>" in page
    assert "newest &lt;b&gt; 0.0" in page and "evaluated 1.0" in page  # escaped, last step only
    assert "old &lt;b&gt;" not in page
    json.loads(json.dumps(read_samples(run / "samples.jsonl")))  # plain JSON rows
