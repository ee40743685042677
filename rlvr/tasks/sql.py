"""A bundled text-to-SQL task: a generated SQLite shop and questions with gold queries.

The database (customers, products, orders; deterministic contents) is written once to
`$RLVR_CACHE/tasks/sql/shop-v2-<seed>.sqlite` (default ~/.cache/rlvr) and every row carries its path
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

Test suite (Zhong et al. 2020): every row also carries `db_suite`, a directory of SUITE_SIZE variant
databases drawn by the same generator with other seeds: other customer, product and order counts,
prices with cents and on the questions' thresholds. The verifier accepts a query only if it matches
the gold on the main database and on every variant, so a constant or a filter that happens to pick
the same rows on one database earns nothing. Every database, main or variant, keeps each question
well posed: every city has a customer, every customer and product has orders (no SUM over nothing),
and no two customers' spending or products' units tie (the top-k questions have one answer). Counts
are not uniform (version 1 gave every city exactly 2 customers, so `SELECT 2` answered six questions).
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
from itertools import count
from pathlib import Path

from rlvr.tasks import TASKS

CITIES = ["Oslo", "Lima", "Pune", "Kyiv", "Rome", "Lyon"]
FIRST = ["Ana", "Ben", "Caro", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
PRODUCTS = ["lamp", "desk", "chair", "pen", "mug", "rug", "clock", "fan", "bag", "book"]
# Customers and products no question names: they change counts, totals and rankings between databases.
EXTRA_FIRST = ["Mo", "Nia", "Oli", "Pia", "Quin", "Rex", "Sol", "Tia", "Uma"]
EXTRA_PRODUCTS = ["cup", "hat", "vase", "sock"]
SUITE_SIZE = 8
THRESHOLDS = list(range(10, 85, 5))  # the prices the level-2 questions compare with
DB_VERSION = "v2"  # in the cached file names: a database of another generator version is never reused
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


def _fill(conn: sqlite3.Connection, rng: random.Random, variant: int) -> None:
    """One draw of the shop's contents. The main database (variant 0) keeps whole-dollar prices of
    3..89 and quantities of 1..9 (as in version 1); variants widen both and add cents, and each puts
    prices on and just under its share of the price thresholds the questions ask about (THRESHOLDS,
    dealt round-robin over the SUITE_SIZE variants), so `>= 40` fails for `> 40` and `<= 19` for `< 20`: the
    boundary values of Zhong et al.'s fuzzing."""
    names = FIRST + rng.sample(EXTRA_FIRST, rng.randint(2, len(EXTRA_FIRST)))
    rng.shuffle(names)
    weights = [rng.uniform(0.2, 3.0) for _ in CITIES]  # skewed: cities get different counts
    cities = list(CITIES) + rng.choices(CITIES, weights, k=len(names) - len(CITIES))
    rng.shuffle(cities)
    conn.executemany(
        "INSERT INTO customers VALUES (?, ?, ?)",
        [(i + 1, n, c) for i, (n, c) in enumerate(zip(names, cities, strict=True))],
    )
    products = PRODUCTS + rng.sample(
        EXTRA_PRODUCTS, rng.randint(0 if not variant else 1, len(EXTRA_PRODUCTS))
    )
    rng.shuffle(products)
    prices = [float(p) for p in rng.sample(range(3, 120 if variant else 90), len(products))]
    if variant:
        prices = [p + rng.choice((0.0, 0.25, 0.5, 0.99)) for p in prices]
        edges = [x for t in THRESHOLDS[(variant - 1) % SUITE_SIZE :: SUITE_SIZE] for x in (float(t), t - 0.5)]
        for i, x in zip(rng.sample(range(len(prices)), len(edges)), edges, strict=True):
            prices[i] = x
    conn.executemany(
        "INSERT INTO products VALUES (?, ?, ?)",
        [(i + 1, n, p) for i, (n, p) in enumerate(zip(products, prices, strict=True))],
    )
    # Everyone orders once (no question's SUM runs over nothing), then skewed extra orders.
    buyers = list(range(1, len(names) + 1)) + rng.choices(range(1, len(names) + 1), k=rng.randint(40, 160))
    goods = list(range(1, len(products) + 1))
    goods += rng.choices(goods, k=len(buyers) - len(goods))
    rng.shuffle(goods)
    # Variants may exceed the main database's 1..9, so `quantity = 9` is not taken for `quantity > 8`.
    top = rng.choice((9, 12)) if variant else 9  # quantities
    conn.executemany(
        "INSERT INTO orders VALUES (?, ?, ?, ?)",
        [(i + 1, c, p, rng.randint(1, top)) for i, (c, p) in enumerate(zip(buyers, goods, strict=True))],
    )


def _well_posed(conn: sqlite3.Connection, main: bool) -> bool:
    """Distinct prices and no ties in the rankings the questions ask for; on the main database every gold answer is
    non-trivial (not empty, NULL or 0) and no three cities have the same number of customers."""
    spend = conn.execute(
        "SELECT SUM(o.quantity * p.price) FROM orders o JOIN products p ON o.product_id = p.id GROUP BY o.customer_id"
    ).fetchall()
    units = conn.execute("SELECT SUM(quantity) FROM orders GROUP BY product_id").fetchall()
    prices = conn.execute("SELECT price FROM products").fetchall()
    if len(set(spend)) < len(spend) or len(set(units)) < len(units) or len(set(prices)) < len(prices):
        return False
    if not main:
        return True
    per_city = [n for (n,) in conn.execute("SELECT COUNT(*) FROM customers GROUP BY city")]
    if max(per_city.count(n) for n in per_city) > 2:  # a constant answers at most 2 of the 6 count questions
        return False
    return all(conn.execute(gold).fetchall() not in ([], [(None,)], [(0,)]) for _, _, gold in all_questions())


def build_database(path: Path, seed: int = 0, variant: int = 0) -> Path:
    """Write the shop database (deterministic for `seed` and `variant`; 0 is the main one) atomically
    to `path`. Draws that leave a question ill-posed (_well_posed) are redrawn with the next attempt."""
    for attempt in count():
        rng = random.Random(f"sql-db/{seed}/{variant}/{attempt}")
        mem = sqlite3.connect(":memory:")
        mem.executescript(_schema_text())
        _fill(mem, rng, variant)
        if _well_posed(mem, main=variant == 0):
            break
        mem.close()
    mem.commit()  # backup() waits forever on a source with an open write transaction
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    out = sqlite3.connect(tmp)
    mem.backup(out)
    out.close()
    mem.close()
    tmp.replace(path)
    return path


def _root() -> Path:
    return Path(os.path.expanduser(os.environ.get("RLVR_CACHE", "~/.cache/rlvr"))) / "tasks" / "sql"


def database_path(seed: int = 0) -> Path:
    path = _root() / f"shop-{DB_VERSION}-{seed}.sqlite"
    if not path.exists():
        build_database(path, seed)
    return path


def suite_path(seed: int = 0, size: int = SUITE_SIZE) -> Path:
    """The directory of `size` variant databases (variant-01.sqlite ...), built once. Built in a
    temporary directory and renamed, so a verifier never lists a half-written suite."""
    folder = _root() / f"shop-{DB_VERSION}-{seed}-suite{size}"
    if not folder.is_dir():
        tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for i in range(1, size + 1):
            build_database(tmp / f"variant-{i:02d}.sqlite", seed, variant=i)
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first: its suite is the same
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


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
    for price in THRESHOLDS:
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
    db, suite = str(database_path(seed)), str(suite_path(seed))
    questions = all_questions()
    random.Random(f"sql-split/{seed}").shuffle(questions)
    picked = [q for i, q in enumerate(questions) if (i % 4 == 3) == (split == "test")]
    return [
        {
            "id": f"sql-{split}-{i:04d}",
            "question": question,
            "answer": gold,
            "db_path": db,
            "db_suite": suite,
            "level": level,
            "prompt": prompt_text(question),
        }
        for i, (level, question, gold) in enumerate(picked)
    ]


TASKS.add("sql", generate)
