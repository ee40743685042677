"""Ray token authentication for this process (drivers, the Jobs client).

Ray 2.60 reads a token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token) only when
RAY_AUTH_MODE=token. A user who exports just the token, as the cluster's nodes were started with,
gets `InvalidAuthToken ... RAY_AUTH_MODE is currently 'disabled'` after a long connect timeout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

TOKEN_VARS = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def enable_token_auth_if_token_given(environ: MutableMapping[str, str] | None = None) -> bool:
    """Set RAY_AUTH_MODE=token when a token is given and the mode is not; True if token mode is on.

    An explicit RAY_AUTH_MODE (e.g. "disabled") is respected.
    """
    env = os.environ if environ is None else environ
    if env.get("RAY_AUTH_MODE") is None and any(env.get(v) for v in TOKEN_VARS):
        env["RAY_AUTH_MODE"] = "token"
        if env is os.environ and "ray._raylet" in sys.modules:
            # Ray caches its config (the auth mode included) once loaded: re-read it, as Ray does
            # itself when it turns token mode on for a new local cluster.
            from ray._raylet import Config

            Config.initialize("")
    return (env.get("RAY_AUTH_MODE") or "").lower() == "token"
