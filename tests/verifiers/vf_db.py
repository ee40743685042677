"""A small SQLite shop database and a folder snapshot, shared by the SQL verifier tests.

(A module with a unique name: test directories here have no __init__.py, so `from conftest import`
would resolve to whichever conftest.py was imported first.)
"""

from __future__ import annotations

import hashlib
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
