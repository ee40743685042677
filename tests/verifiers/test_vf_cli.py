"""`rlvr verify`: per-row results, bad rows reported by line number, summary, exit status."""

from __future__ import annotations

import json

import pytest

import rlvr.cli


@pytest.fixture
def rlvr_main(monkeypatch):
    # Only this subcommand module: the test must not depend on other subcommands importing.
    monkeypatch.setattr(rlvr.cli, "SUBCOMMAND_MODULES", ["rlvr.cli.verify"])
    return rlvr.cli.main


def test_verify_jsonl_with_bad_rows(rlvr_main, tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_bytes(
        b'{"response": "\\\\boxed{2}", "reference": "2"}\n'
        b"{not json}\n"
        b'{"response": "no answer", "reference": "2", "metadata": {"prompt": "1+1?"}}\n'
        b"\n"
        b'{"response": "the answer is 3"}\n'
        b'{"response": "\\\\boxed{\\\\frac{1}{2}} \xff", "reference": "0.5"}\n'
        b"[1, 2]\n"
    )
    out = tmp_path / "results.jsonl"
    code = rlvr_main(
        [
            "verify",
            "--verifier",
            "math",
            "--input",
            str(rows),
            "--output",
            str(out),
            "--option",
            "workers=1",
            "--option",
            "score_unparseable=-0.5",
        ]
    )
    assert code == 1  # some rows were bad
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in results] == [1, 2, 3, 5, 6, 7]
    by_line = {r["line"]: r for r in results}
    assert by_line[1]["reason"] == "ok" and by_line[1]["score"] == 1.0
    assert "invalid JSON" in by_line[2]["error"]
    assert by_line[3]["reason"] == "unparseable" and by_line[3]["score"] == -0.5
    assert "missing field(s): reference" in by_line[5]["error"]
    assert by_line[6]["reason"] == "ok"
    assert "expected a JSON object" in by_line[7]["error"]
    captured = capsys.readouterr()
    assert "3 rows verified, 3 bad rows" in captured.out and "ok" in captured.out
    assert f"{rows}:2: invalid JSON" in captured.err


def test_verify_usage_errors(rlvr_main, tmp_path, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"response": "x", "reference": "y"}\n')
    assert rlvr_main(["verify", "--verifier", "nope", "--input", str(rows)]) == 2
    assert "known verifiers" in capsys.readouterr().err
    assert rlvr_main(["verify", "--verifier", "math", "--input", str(rows), "--option", "colour=red"]) == 2
    assert "unknown option(s) colour" in capsys.readouterr().err
