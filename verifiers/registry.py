"""Finding verifiers by name: built-ins, Python entry points (group `rlvr.verifiers`), and in-process registrations.

`pip install my-verifier` whose pyproject declares

    [project.entry-points."rlvr.verifiers"]
    my_name = "my_package:MyVerifier"

makes `get_verifier("my_name")` (and `verifier=my_name` in a recipe) work with no change to rlvr.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

GROUP = "rlvr.verifiers"
# Also reachable from a source checkout that was never pip-installed (no entry points then).
BUILTINS = {"math": "verifiers.math:MathVerifier", "sql": "verifiers.sql:SqlVerifier"}
_REGISTERED: dict[str, type] = {}


def register_verifier(name: str, cls: type, *, overwrite: bool = False) -> type:
    """Register a class in this process only (notebooks, tests). Packages should use an entry point."""
    if name in _REGISTERED and not overwrite:
        raise ValueError(f"verifier {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTERED[name] = cls
    return cls


def _targets() -> dict[str, str]:
    """name -> "module:attr" from built-ins and entry points; conflicting entry points are an error."""
    found: dict[str, str] = dict(BUILTINS)
    sources: dict[str, str] = {name: "rlvr" for name in BUILTINS}
    for ep in entry_points(group=GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", "?")
        if ep.name in found and found[ep.name] != ep.value:
            raise RuntimeError(
                f"verifier name {ep.name!r} is claimed twice: {found[ep.name]} ({sources[ep.name]}) and "
                f"{ep.value} ({dist}); uninstall one of the two packages"
            )
        found[ep.name] = ep.value
        sources.setdefault(ep.name, dist)
    return found


def available_verifiers() -> list[str]:
    """Every name `get_verifier` accepts."""
    return sorted(set(_targets()) | set(_REGISTERED))


def verifier_class(name: str) -> type:
    """The class registered under `name` (imported on demand)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    targets = _targets()
    if name not in targets:
        raise KeyError(
            f"unknown verifier {name!r}; known verifiers: {', '.join(available_verifiers())}. "
            f"Third-party verifiers register under the entry-point group {GROUP!r}; is the package installed?"
        )
    module, _, attr = targets[name].partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ImportError(
            f"verifier {name!r} points to {targets[name]}, which failed to import: {exc}"
        ) from exc
    return obj


def get_verifier(name: str, **options: Any):
    """An instance of verifier `name` with `options` (unknown options raise TypeError listing the valid ones).

    The object has `.verify(response, reference, **metadata)` and `.verify_batch(responses, references, metadata)`.
    """
    verifier = verifier_class(name)(**options)
    for method in ("verify", "verify_batch"):
        if not callable(getattr(verifier, method, None)):
            raise TypeError(
                f"verifier {name!r} ({type(verifier).__qualname__}) has no {method}(); subclass verifiers.Verifier"
            )
    return verifier
