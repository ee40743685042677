"""A bundled text-to-SQL task: a generated SQLite shop and questions with gold queries.

The database (customers, products, orders; deterministic contents) is written once to
`$RLVR_CACHE/tasks/sql/shop-<seed>.sqlite` (default ~/.cache/rlvr) and every row carries its path
as `db_path`, which the `sql` verifier executes both queries on. Levels:
  1  one table, one filter          ("How many customers live in Oslo?")
  2  one table, filter + projection  ("List the names of products that cost more than 20 dollars.")
  3  a join with an aggregate        ("How many units of lamp were ordered in total?")
  4  a join, group and order         ("Which 3 customers spent the most? Order by amount spent.")
The question space is the parameter grid of each template (98 questions); a seeded shuffle puts
every 4th in test, the rest in train. Every prompt carries the schema and two worked examples
(EXAMPLES: shapes outside the grid, a count and a join) so that a small instruct model answers with
a query on these tables rather than re-declaring the schema; without them SmolLM2-135M-Instruct
solved 1 of the 24 test questions in 16 tries.
"""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

from rlvr.tasks import TASKS

CITIES = ["Oslo", "Lima", "Pune", "Kyiv", "Rome", "Lyon"]
FIRST = ["Ana", "Ben", "Caro", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
PRODUCTS = ["lamp", "desk", "chair", "pen", "mug", "rug", "clock", "fan", "bag", "book"]
INSTRUCTION = "Answer with one SQLite query in a ```sql code block."
# Worked examples shown in every prompt: no question of the grid has these shapes (all_questions).
EXAMPLES = (
    ("How many products cost more than 50 dollars?", "SELECT COUNT(*) FROM products WHERE price > 50"),
    (
        "What is the average quantity of the orders of mug?",
        "SELECT AVG(o.quantity) FROM orders o JOIN products p ON o.product_id = p.id WHERE p.name = 'mug'",
    ),
)


def _schema_text() -> str:
    return (
        "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT);\n"
        "CREATE TABLE products(id INTEGER PRIMARY KEY, name TEXT, price REAL);\n"
        "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id), "
        "product_id INTEGER REFERENCES products(id), quantity INTEGER);"
    )


def build_database(path: Path, seed: int = 0) -> Path:
    """Write the shop database (deterministic for `seed`) atomically to `path`."""
    rng = random.Random(f"sql-db/{seed}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    conn.executescript(_schema_text())
    cities = (CITIES * 2)[: len(FIRST)]  # every city has customers, so no question has an empty answer
    rng.shuffle(cities)
    conn.executemany(
        "INSERT INTO customers VALUES (?, ?, ?)",
        [(i + 1, name, city) for i, (name, city) in enumerate(zip(FIRST, cities, strict=True))],
    )
    # Distinct prices, so "the most expensive" has one answer.
    prices = rng.sample(range(3, 90), len(PRODUCTS))
    conn.executemany(
        "INSERT INTO products VALUES (?, ?, ?)",
        [(i + 1, name, float(p)) for i, (name, p) in enumerate(zip(PRODUCTS, prices, strict=True))],
    )
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [
            (i + 1, rng.randint(1, len(FIRST)), rng.randint(1, len(PRODUCTS)), rng.randint(1, 9))
            for i in range(120)
        ],
    )
    conn.commit()
    conn.close()
    tmp.replace(path)
    return path


def database_path(seed: int = 0) -> Path:
    root = Path(os.path.expanduser(os.environ.get("RLVR_CACHE", "~/.cache/rlvr")))
    path = root / "tasks" / "sql" / f"shop-{seed}.sqlite"
    if not path.exists():
        build_database(path, seed)
    return path


def all_questions() -> list[tuple[int, str, str]]:
    """Every (level, question, gold SQL) of the task: the parameter grid of each template."""
    out: list[tuple[int, str, str]] = []
    for city in CITIES:
        out.append(
            (
                1,
                f"How many customers live in {city}?",
                f"SELECT COUNT(*) FROM customers WHERE city = '{city}'",
            )
        )
    for q in range(1, 9):
        out.append(
            (
                1,
                f"How many orders have a quantity greater than {q}?",
                f"SELECT COUNT(*) FROM orders WHERE quantity > {q}",
            )
        )
    for price in range(10, 85, 5):
        for word, op in (("more", ">"), ("less", "<")):
            out.append(
                (
                    2,
                    f"List the names of products that cost {word} than {price} dollars.",
                    f"SELECT name FROM products WHERE price {op} {price}",
                )
            )
    for city in CITIES:
        out.append(
            (
                2,
                f"List the names of the customers who live in {city}.",
                f"SELECT name FROM customers WHERE city = '{city}'",
            )
        )
    for product in PRODUCTS:
        out.append(
            (
                3,
                f"How many units of {product} were ordered in total?",
                "SELECT SUM(o.quantity) FROM orders o JOIN products p ON o.product_id = p.id "
                f"WHERE p.name = '{product}'",
            )
        )
    for name in FIRST:
        out.append(
            (
                3,
                f"How many orders did {name} place?",
                "SELECT COUNT(*) FROM orders o JOIN customers c ON o.customer_id = c.id "
                f"WHERE c.name = '{name}'",
            )
        )
        out.append(
            (
                3,
                f"How much did {name} spend in total, in dollars?",
                "SELECT SUM(o.quantity * p.price) FROM orders o JOIN customers c ON o.customer_id = c.id "
                f"JOIN products p ON o.product_id = p.id WHERE c.name = '{name}'",
            )
        )
    for k in range(2, 6):
        out.append(
            (
                4,
                f"Which {k} customers spent the most? List their names, ordered by amount spent, highest first.",
                "SELECT c.name FROM orders o JOIN customers c ON o.customer_id = c.id "
                "JOIN products p ON o.product_id = p.id GROUP BY c.id "
                f"ORDER BY SUM(o.quantity * p.price) DESC LIMIT {k}",
            )
        )
        out.append(
            (
                4,
                f"Which {k} products sold the most units? List their names, most units first.",
                "SELECT p.name FROM orders o JOIN products p ON o.product_id = p.id GROUP BY p.id "
                f"ORDER BY SUM(o.quantity) DESC LIMIT {k}",
            )
        )
    for city in CITIES:
        out.append(
            (
                4,
                f"What is the total value of the orders placed by customers from {city}, in dollars?",
                "SELECT SUM(o.quantity * p.price) FROM orders o JOIN customers c ON o.customer_id = c.id "
                f"JOIN products p ON o.product_id = p.id WHERE c.city = '{city}'",
            )
        )
    return out


def prompt_text(question: str) -> str:
    examples = "".join(f"Example question: {q}\n```sql\n{sql}\n```\n\n" for q, sql in EXAMPLES)
    return f"Database schema:\n{_schema_text()}\n\n{examples}Question: {question}\n{INSTRUCTION}"


def generate(split: str, seed: int = 0) -> list[dict]:
    """A seeded shuffle of all questions; every 4th goes to test, the rest to train (disjoint)."""
    if split not in ("train", "test"):
        raise ValueError(f"sql has splits ['test', 'train'], not {split!r}")
    db = str(database_path(seed))
    questions = all_questions()
    random.Random(f"sql-split/{seed}").shuffle(questions)
    picked = [q for i, q in enumerate(questions) if (i % 4 == 3) == (split == "test")]
    return [
        {
            "id": f"sql-{split}-{i:04d}",
            "question": question,
            "answer": gold,
            "db_path": db,
            "level": level,
            "prompt": prompt_text(question),
        }
        for i, (level, question, gold) in enumerate(picked)
    ]


TASKS.add("sql", generate)
