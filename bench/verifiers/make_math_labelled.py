"""Writes tests/verifiers/data/math_labelled.jsonl: gold/response pairs in the style of model outputs on
MATH- and GSM8K-style problems, each with a hand label (is the response's final answer right?).

    .venv/bin/python bench/verifiers/make_math_labelled.py

No data set can be downloaded here, so the pairs are written here: PROBLEMS holds hand-written
problems (worked text, gold as MATH/GSM8K print it, equivalent right forms, typical wrong answers),
rendered in the answer styles models use (boxed, Minerva's "Final Answer: ... I hope it is correct.",
GSM8K's "####", "The answer is", prose with no cue, a display block); HARD holds hand-written pairs
for each class of issue 10 (several boxes, hedges, percentages, number formats, the last_number hack,
"Final Answer:" prose); HOLDOUT holds pairs written after the extraction rules were last changed
(split "holdout": run once, never tuned on; the rest is split "dev"). Labels come from construction (a right form or a wrong answer) and were read
by hand; `bench_math_labelled.py` compares them with math-verify called directly, and the rows where
math-verify disagrees carry a `note` saying why (written by hand after reading each one).
"""

from __future__ import annotations

import json
from pathlib import Path

from math_labelled_hard import HARD
from math_labelled_holdout import HOLDOUT
from math_labelled_problems import PROBLEMS

OUT = Path(__file__).resolve().parents[2] / "tests" / "verifiers" / "data" / "math_labelled.jsonl"
NOTES = Path(__file__).with_name("math_labelled_notes.json")  # id -> why math-verify disagrees


def render(style: str, work: str, answer: str, plain: str) -> str:
    """One response in a model's answer style. `answer` is LaTeX, `plain` the same answer as text."""
    if style == "boxed":
        return f"{work}\nTherefore, the answer is $\\boxed{{{answer}}}$."
    if style == "minerva":
        return f"{work}\nFinal Answer: The final answer is ${answer}$. I hope it is correct."
    if style == "gsm8k":
        return f"{work}\n#### {plain}"
    if style == "answer_is":
        return f"{work} The answer is {plain}."
    if style == "prose":
        return f"{work} So the result is ${answer}$."
    if style == "display":
        return f"{work}\nHence\n\\[\n{answer}\n\\]"
    if style == "final_bold":
        return f"{work}\n\n**Final Answer:** ${answer}$"
    raise ValueError(style)


STYLES = ("boxed", "minerva", "gsm8k", "answer_is", "prose", "display", "final_bold")


def rows():
    out = []
    for k, p in enumerate(PROBLEMS):
        styles = p.get("styles", STYLES)
        for j, (answer, plain) in enumerate(p["right"]):
            style = styles[(k + j) % len(styles)]
            out.append(
                {
                    "id": f"p{k:03d}r{j}",
                    "class": f"style:{style}",
                    "gold": p["gold"],
                    "response": render(style, p["work"], answer, plain),
                    "label": True,
                }
            )
        for j, (answer, plain) in enumerate(p["wrong"]):
            style = styles[(k + j + 3) % len(styles)]
            out.append(
                {
                    "id": f"p{k:03d}w{j}",
                    "class": f"style:{style}",
                    "gold": p["gold"],
                    "response": render(style, p["work"], answer, plain),
                    "label": False,
                }
            )
    for k, (cls, gold, response, label) in enumerate(HARD):
        out.append({"id": f"h{k:03d}", "class": cls, "gold": gold, "response": response, "label": label})
    for row in out:
        row["split"] = "dev"  # seen while the extraction rules were written
    for k, (cls, gold, response, label) in enumerate(HOLDOUT):
        out.append(
            {
                "id": f"x{k:03d}",
                "class": cls,
                "gold": gold,
                "response": response,
                "label": label,
                "split": "holdout",
            }
        )
    notes = json.loads(NOTES.read_text()) if NOTES.exists() else {}
    for row in out:
        if row["id"] in notes:
            row["note"] = notes[row["id"]]
    return out


def main() -> None:
    data = rows()
    ids = [r["id"] for r in data]
    assert len(ids) == len(set(ids)), "duplicate ids"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w") as f:
        for row in data:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    right = sum(r["label"] for r in data)
    print(f"wrote {len(data)} pairs ({right} right, {len(data) - right} wrong) to {OUT}")


if __name__ == "__main__":
    main()
