"""Test-suite execution (Zhong et al. 2020, "Semantic Evaluation for Text-to-SQL with Distilled Test
Suites"): a task row names database variants beside `db_path`, and a prediction is correct only if
its result matches the gold's on the main database and on every variant.

One database can make a wrong query look right (both results empty, `0 = 0`, another filter that
happens to select the same rows, a constant equal to a count); variants with other contents catch it.

Metadata `db_suite`: a list of database paths, or one directory whose `*.sqlite`, `*.sqlite3` and
`*.db` files (sorted by name) are the variants. The main `db_path` is dropped from the suite if listed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

DB_SUFFIXES = (".sqlite", ".sqlite3", ".db")


class SuiteError(ValueError):
    """The metadata names a suite that cannot be used (the message says which key and path)."""


@lru_cache(maxsize=256)
def _list_directory(folder: str, stamp: int) -> tuple[str, ...]:
    """Variant files of a suite directory, cached by (directory, its mtime): a group of samples shares one."""
    names = sorted(n for n in os.listdir(folder) if n.endswith(DB_SUFFIXES))
    return tuple(os.path.join(folder, n) for n in names)


def suite_paths(metadata: Mapping[str, Any], db_path: str) -> tuple[str, ...]:
    """The variant databases named by `metadata['db_suite']` (empty when the key is absent or None)."""
    suite = metadata.get("db_suite")
    if suite is None or suite == "" or suite == []:
        return ()
    if isinstance(suite, str | os.PathLike):
        folder = os.fspath(suite)
        try:
            st = os.stat(folder)
        except OSError as exc:
            raise SuiteError(f"metadata 'db_suite' {folder!r}: {exc.strerror}") from None
        if not os.path.isdir(folder):
            raise SuiteError(
                f"metadata 'db_suite' {folder!r} is a file; give a directory or a list of database paths"
            )
        paths = _list_directory(os.path.abspath(folder), st.st_mtime_ns)
        if not paths:
            raise SuiteError(f"metadata 'db_suite' {folder!r} holds no {'/'.join(DB_SUFFIXES)} file")
    elif isinstance(suite, list | tuple):
        bad = [i for i, p in enumerate(suite) if not isinstance(p, str | os.PathLike) or not os.fspath(p)]
        if bad:
            raise SuiteError(
                f"metadata 'db_suite' item {bad[0]} is {suite[bad[0]]!r}; expected a database path"
            )
        paths = tuple(os.fspath(p) for p in suite)
    else:
        raise SuiteError(
            f"metadata 'db_suite' is a {type(suite).__name__}; give a directory or a list of database paths"
        )
    main = os.path.abspath(db_path)
    return tuple(p for p in paths if os.path.abspath(p) != main)
