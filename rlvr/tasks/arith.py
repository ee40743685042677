"""Arithmetic word problems at several difficulty levels, generated deterministically.

Level 1: one addition ("What is 23 + 48?"); level 2: two steps; level 3: three steps with a
product. The train, validation and test splits are disjoint by construction (different RNG
streams; a test item that also occurs in train is dropped, a validation item that occurs in train
or test is dropped). Validation is for choosing hyper-parameters (e.g. a divergence coefficient)
without looking at the test split; adding it left train and test unchanged.
"""

from __future__ import annotations

import random

from rlvr.tasks import TASKS

INSTRUCTION = "Put the final answer in \\boxed{}."
NAMES = ["Ana", "Ben", "Caro", "Dev", "Eli", "Fay", "Gus", "Hana"]
ITEMS = ["apples", "pens", "books", "coins", "cards", "shells"]
SIZES = {"train": 2000, "validation": 200, "test": 200}


def _problem(rng: random.Random, level: int) -> tuple[str, int]:
    if level == 1:
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        return f"What is {a} + {b}?", a + b
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    a, b = rng.randint(5, 60), rng.randint(2, 30)
    if level == 2:
        c = rng.randint(1, a + b)
        return (
            f"{name} has {a} {item}. {name} gets {b} more and then gives away {c}. "
            f"How many {item} does {name} have now?",
            a + b - c,
        )
    k = rng.randint(2, 5)
    c = rng.randint(1, a * k)
    return (
        f"{name} has {k} boxes with {a} {item} each, finds {b} more and loses {c}. "
        f"How many {item} does {name} have?",
        a * k + b - c,
    )


def generate(split: str, seed: int = 0, levels: tuple[int, ...] = (1, 2, 3)) -> list[dict]:
    if split not in SIZES:
        raise ValueError(f"arith has splits {sorted(SIZES)}, not {split!r}")
    seen: set[str] = set()
    if split == "test":  # keep test disjoint from train
        seen = {row["question"] for row in generate("train", seed, levels)}
    elif split == "validation":  # and validation disjoint from both
        seen = {row["question"] for other in ("train", "test") for row in generate(other, seed, levels)}
    rng = random.Random(f"arith/{split}/{seed}")
    rows: list[dict] = []
    while len(rows) < SIZES[split]:
        level = levels[len(rows) % len(levels)]
        question, answer = _problem(rng, level)
        if question in seen:
            continue
        seen.add(question)
        rows.append(
            {
                "id": f"arith-{split}-{len(rows):05d}",
                "question": question,
                "prompt": f"{question} {INSTRUCTION}",
                "answer": str(answer),
                "level": level,
            }
        )
    return rows


TASKS.add("arith", generate)
