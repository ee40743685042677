"""A small, seeded corpus of arithmetic word problems, used to train the tiny models' tokenizer.

The tokenizer's merges come from this text, so it should look like what the tiny models will
read and write: questions ("What is 23 + 48?"), one- to three-step word problems, chat turns,
step-by-step working and a final `\\boxed{}` answer. Numbers are split into single digits by the
tokenizer, so the corpus only needs enough of them to teach digit-adjacent merges (" = ", "$").
"""

from __future__ import annotations

import random
from collections.abc import Iterator

NAMES = [
    "Tom",
    "Anna",
    "Ben",
    "Mia",
    "Sam",
    "Lily",
    "Jack",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Ava",
    "Lucas",
    "Sofia",
    "Omar",
    "Zoe",
    "Maria",
    "James",
    "Chen",
    "Priya",
]
ITEMS = [
    "apples",
    "books",
    "marbles",
    "coins",
    "pencils",
    "cookies",
    "stickers",
    "cards",
    "flowers",
    "eggs",
    "candies",
    "toys",
    "shells",
    "stamps",
    "balloons",
    "oranges",
    "cupcakes",
    "bottles",
]
CONTAINERS = ["box", "bag", "basket", "jar", "shelf", "pack", "row", "crate"]
GAIN_VERBS = ["buys", "finds", "gets", "receives", "picks", "makes", "collects"]
LOSS_VERBS = ["gives away", "eats", "loses", "sells", "uses", "drops"]
SYSTEM_PROMPTS = [
    "You are a helpful assistant that solves math problems step by step.",
    "Solve the problem. Put your final answer in \\boxed{}.",
]
INSTRUCTIONS = [
    "Please reason step by step, and put your final answer within \\boxed{}.",
    "Let's think step by step.",
    "Give only the final answer.",
    "Answer with a number.",
]


def _binary(rng: random.Random) -> tuple[str, str, int]:
    """A bare expression, its worked form and its value."""
    op = rng.choice("+-*/")
    if op == "/":
        b = rng.randint(2, 12)
        c = rng.randint(1, 20)
        a = b * c
    else:
        a, b = rng.randint(0, 999), rng.randint(0, 99)
        c = {"+": a + b, "-": a - b, "*": a * b}[op]
    shown = {"*": "\\times", "/": "\\div"}.get(op, op) if rng.random() < 0.3 else op
    return f"{a} {shown} {b}", f"{a} {op} {b} = {c}", c


def _word_problem(rng: random.Random) -> tuple[str, str, int]:
    """A one- to three-step story problem, its step-by-step solution and its answer."""
    name, other = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    kind = rng.randrange(4)
    if kind == 0:
        a, b = rng.randint(2, 60), rng.randint(1, 40)
        q = f"{name} has {a} {item}. {other} gives {name} {b} more {item}. How many {item} does {name} have now?"
        s = f"{name} starts with {a} {item} and gets {b} more, so {a} + {b} = {a + b}."
        return q, s, a + b
    if kind == 1:
        a = rng.randint(10, 90)
        b = rng.randint(1, a)
        verb = rng.choice(LOSS_VERBS)
        q = f"{name} had {a} {item} and {verb} {b} of them. How many {item} are left?"
        s = f"{name} has {a} - {b} = {a - b} {item} left."
        return q, s, a - b
    if kind == 2:
        n, k = rng.randint(2, 12), rng.randint(2, 15)
        box = rng.choice(CONTAINERS)
        q = f"There are {n} {box}es with {k} {item} in each {box}. How many {item} are there in total?"
        s = f"Each {box} holds {k} {item}, so {n} \\times {k} = {n * k}."
        return q, s, n * k
    a, b, c = rng.randint(5, 50), rng.randint(1, 30), rng.randint(1, 20)
    price = rng.randint(1, 9)
    verb = rng.choice(GAIN_VERBS)
    c = min(c, a + b)
    total = (a + b - c) * price
    q = (
        f"{name} {verb} {a} {item} on Monday and {b} on Tuesday, then gives {c} to {other}. "
        f"Each of the rest sells for ${price}. How many dollars does {name} earn?"
    )
    s = f"First, {a} + {b} = {a + b}. Then {a + b} - {c} = {a + b - c}. Finally, {a + b - c} \\times {price} = {total}."
    return q, s, total


def _chat(system: str | None, user: str, assistant: str) -> str:
    """The same turn layout as `tokenizer.CHAT_TEMPLATE`, so its markers get merged."""
    turns = ([("system", system)] if system else []) + [("user", user), ("assistant", assistant)]
    return "<s>" + "".join(f"<|{role}|>\n{text}</s>\n" for role, text in turns)


def arithmetic_corpus(num_lines: int = 4000, seed: int = 0) -> Iterator[str]:
    """Yield `num_lines` lines of arithmetic text, the same lines for the same seed."""
    rng = random.Random(seed)
    for _ in range(num_lines):
        if rng.random() < 0.4:
            expr, work, value = _binary(rng)
            question = rng.choice(
                [f"What is {expr}?", f"Compute {expr}.", f"Calculate {expr}.", f"{expr} = ?"]
            )
        else:
            question, work, value = _word_problem(rng)
        answer = rng.choice(
            [f"The answer is \\boxed{{{value}}}.", f"\\boxed{{{value}}}", f"The answer is {value}."]
        )
        style = rng.random()
        if style < 0.5:
            instruction = rng.choice(INSTRUCTIONS)
            system = rng.choice(SYSTEM_PROMPTS) if rng.random() < 0.3 else None
            yield _chat(system, f"{question} {instruction}", f"{work} {answer}")
        elif style < 0.8:
            yield f"Question: {question}\nAnswer: {work} {answer}"
        else:
            yield f"{question} {work} {answer}"
