"""User errors print one line and exit 2; `rlvr --debug ...` or HYDRA_FULL_ERROR=1 shows the trace.

A bad JSONL row, a missing data file, a misspelled verifier option or a bank that does not match
the run are the user's to fix: the message names the file, row or key, and a Python traceback
around it only hides it. Errors of other types are bugs and keep their traceback.
"""

from __future__ import annotations

import os
import sys

from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    KeyError,
    OmegaConfBaseException,
    HydraException,
)
EXIT_USER_ERROR = 2


def debug_enabled() -> bool:
    return os.environ.get("RLVR_DEBUG") == "1" or os.environ.get("HYDRA_FULL_ERROR") == "1"


def message(error: BaseException) -> str:
    """The error's own words on one line (KeyError's str() adds quotes; chained causes are kept out)."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    text = " ".join(str(text).split()) or type(error).__name__
    return text


def report(command: str, error: BaseException) -> int:
    print(
        f"rlvr {command}: error: {message(error)}  (rlvr --debug {command} ... shows the traceback)",
        file=sys.stderr,
    )
    return EXIT_USER_ERROR
