"""SQLite databases shared by the SQL verifier tests: a small shop, a folder snapshot, and the three
databases (with test suites) of the labelled (gold, prediction) set in data/sql_labelled.jsonl.

(A module with a unique name: test directories here have no __init__.py, so `from conftest import`
would resolve to whichever conftest.py was imported first.)
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from pathlib import Path

SHOP_SQL = """
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL);
CREATE TABLE products(id INTEGER PRIMARY KEY, title TEXT NOT NULL, price REAL NOT NULL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                    product_id INTEGER REFERENCES products(id), qty INTEGER NOT NULL);
INSERT INTO customers VALUES (1,'ann','paris'),(2,'bob','rome'),(3,'cy','paris'),(4,'dee','oslo');
INSERT INTO products VALUES (1,'pen',1.1),(2,'ink',2.2),(3,'pad',0.1),(4,'nib',0.2);
INSERT INTO orders VALUES (1,1,1,3),(2,1,2,1),(3,2,3,10),(4,3,4,2),(5,3,1,1),(6,4,2,5),(7,2,2,1);
"""


def make_shop(folder: Path) -> Path:
    """A small SQLite database of related tables (customers, products, orders), closed and synced."""
    path = folder / "shop.db"
    conn = sqlite3.connect(path)
    conn.executescript(SHOP_SQL)
    conn.commit()
    conn.close()
    return path


def folder_snapshot(folder: Path) -> dict[str, str]:
    """File name -> sha256 of every file in `folder` (to prove nothing changed or appeared)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# --- The labelled (gold, prediction) set: its three databases and their test suites -------------

DATA = Path(__file__).parent / "data"
LABELLED = DATA / "sql_labelled.jsonl"
HOLDOUT = DATA / "sql_labelled_holdout.jsonl"  # written after the verifier and suites were frozen
LABEL_KEYS = {
    "id": str,
    "db": str,
    "question": str,
    "gold": str,
    "pred": str,
    "label": bool,
    "debatable": bool,
    "why": str,
}
SUITE_SIZE = 8  # variants per database, as many as the bundled task's


def _ledger_rows(conn: sqlite3.Connection, rng: random.Random) -> None:
    owners = ["ada", "bo", "cy", "di", "ed", "fe"] + rng.sample(["gil", "hu", "ivy", "jo"], rng.randint(0, 4))
    branches = ["north", "south", "east", "west", None]
    conn.executemany(
        "INSERT INTO accounts VALUES (?, ?, ?, ?)",
        [(i + 1, o, rng.choice(branches), rng.randint(2014, 2022)) for i, o in enumerate(owners)],
    )
    amounts: list[float] = []
    for _ in range(rng.randint(6, 30)):
        kind = rng.randrange(5)
        if kind == 0 and amounts:
            amounts.append(rng.choice(amounts))  # a duplicate
        elif kind == 1:
            amounts.append(round(rng.uniform(1e7, 2e7), 2))  # large, cents matter
        elif kind == 2:
            amounts.append(
                rng.randint(10**9, 2 * 10**9) + rng.choice((0.0, 0.0, 0.5))
            )  # often an integral REAL
        elif kind == 3:
            amounts.append(-round(rng.uniform(1, 100), 2))
        else:
            amounts.append(round(rng.uniform(0.01, 500), rng.choice((0, 1, 2))))
    top = max(amounts)
    if amounts.count(top) > 1:  # "who made the largest transfer" must have one answer
        amounts.append(top + 1.0)
    # The accounts the questions name (ada..ed) have a transfer each; fe and the extras may have none.
    holders = list(range(1, 6)) + [rng.randint(1, len(owners)) for _ in amounts[5:]]
    rng.shuffle(holders)
    memos = [
        "rent",
        "bond",
        "gift",
        "fee",
        "refund",
        "sale",
        None,
        None,
        None,
    ]  # NULL often, even on the top amount
    conn.executemany(
        "INSERT INTO transfers VALUES (?, ?, ?, ?)",
        [(i + 1, h, a, rng.choice(memos)) for i, (h, a) in enumerate(zip(holders, amounts, strict=False))],
    )


def _events_rows(conn: sqlite3.Connection, rng: random.Random) -> None:
    handles = ["kim", "lou", "max", "nia", "oz"] + rng.sample(["pat", "quy", "ria"], rng.randint(0, 3))
    countries = ["NO", "PE", "IN", "SE", None]
    conn.executemany(
        "INSERT INTO users VALUES (?, ?, ?)",
        [(i + 1, h, rng.choice(countries)) for i, h in enumerate(handles)],
    )
    n = rng.randint(6, 30)
    # Distinct stamps ("the most recent" has one answer), some within seconds of 1700000000 (where the
    # questions' constants are), over a span that ends early or late.
    near = rng.sample(range(1_700_000_000 - 10, 1_700_000_011), rng.randint(1, 5))
    far = rng.sample(range(1_699_900_000, rng.choice((1_700_090_000, 1_700_300_000))), n)
    stamps = list(dict.fromkeys(near + far))[:n]
    # The users the questions name (kim..oz) have an event each; the extras may have none.
    users = list(range(1, 6)) + [rng.randint(1, len(handles)) for _ in stamps[5:]]
    rng.shuffle(users)
    rows = []
    for i, (ts, user) in enumerate(zip(stamps, users, strict=True)):
        kind = rng.choice(["login", "play", "play", "logout"])
        score = rng.choice([None, rng.randint(1, 15), rng.randint(1, 15)]) if kind == "play" else None
        rows.append((i + 1, user, kind, ts, score))
    conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)


_FILL = {"ledger": _ledger_rows, "events": _events_rows}


def build_small_db(name: str, path: Path, variant: int = 0) -> Path:
    """`ledger` or `events`: variant 0 is the hand-written database of data/sql_db_<name>.sql, other
    variants keep its schema and draw contents (seeded) with the same kinds of NULLs, ties and values."""
    script = (DATA / f"sql_db_{name}.sql").read_text()
    if variant:  # the CREATE statements only
        script = ";".join(s for s in script.split(";") if "CREATE TABLE" in s) + ";"
    conn = sqlite3.connect(path)
    conn.executescript(script)
    if variant:
        _FILL[name](conn, random.Random(f"labelled-{name}/{variant}"))
    conn.commit()
    conn.close()
    return path


def build_labelled_dbs(folder: Path) -> dict[str, dict[str, str]]:
    """The three databases of the labelled set, each with SUITE_SIZE variants: name -> verifier metadata."""
    from rlvr.tasks.sql import build_database

    out = {}
    for name in ("shop", "ledger", "events"):
        suite = folder / f"{name}-suite"
        suite.mkdir(parents=True, exist_ok=True)
        if name == "shop":  # the bundled task's main database and suite (seed 0)
            main = build_database(folder / "shop.sqlite", 0)
            for i in range(1, SUITE_SIZE + 1):
                build_database(suite / f"variant-{i:02d}.sqlite", 0, variant=i)
        else:
            main = build_small_db(name, folder / f"{name}.sqlite")
            for i in range(1, SUITE_SIZE + 1):
                build_small_db(name, suite / f"variant-{i:02d}.sqlite", variant=i)
        out[name] = {"db_path": str(main), "db_suite": str(suite)}
    return out


def load_labelled(path: Path = LABELLED) -> list[dict]:
    """The labelled pairs; a row with a missing or mistyped key raises naming the file, line and key."""
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        for key, typ in LABEL_KEYS.items():
            if not isinstance(row.get(key), typ):
                raise ValueError(
                    f"{path} line {n}: key {key!r} must be a {typ.__name__}, got {row.get(key)!r}"
                )
        if row["db"] not in ("shop", "ledger", "events"):
            raise ValueError(f"{path} line {n}: db {row['db']!r} is not shop, ledger or events")
        rows.append(row)
    return rows
