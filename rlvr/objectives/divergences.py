"""The divergence registry: rlvr's main extension point.

A divergence is one per-token function f of a log-ratio plus the side its samples come from:

- samples="reference": tokens y ~ pi_0 (the reference bank, no online reference model);
  log_ratio = log pi_theta(y) - log pi_0(y) = log u, and E_{y~pi_0}[f(log u)] is the divergence.
  This is the f-divergence D_f(pi_theta || pi_0) = E_pi_0[g(u)] of a generator g with g(1) = 0,
  written in log space (f(x) = g(e^x)) so that it can be clamped and computed stably.
- samples="policy": tokens y ~ pi_theta (current rollouts; needs online log pi_0);
  log_ratio = log pi_0(y) - log pi_theta(y), and E_{y~pi_theta}[f(log_ratio)] is the divergence.

Both sides put the *sampling* distribution in the denominator of the ratio, so f(0) = 0 means
"identical policies give zero"; `get_divergence` checks it.

Register a new one in a few lines (squared Hellinger, E_pi_0[(sqrt(u) - 1)^2]):

    @register_divergence("hellinger", samples="reference")
    def hellinger(log_ratio):
        return torch.expm1(0.5 * log_ratio).square()

Parameters: `params` gives their names and defaults; `get_divergence(name, **params)` binds
them, so `.f` is always a one-argument function:

    @register_divergence("alpha", samples="reference", params={"alpha": 0.5})
    def alpha_divergence(log_ratio, alpha): ...
    get_divergence("alpha", alpha=0.3).f(log_ratio)

A divergence may also carry a `reference_transform(logp_ref [B, T], rewards [B]) -> logp_ref'`
applied to log pi_0 before the log-ratio is formed (RAPO reweights pi_0 by the reward). The
transform receives the params its signature names, like f.

Per-token simplification (every entry): f is applied to each token's log-ratio and the values
are aggregated over tokens, not applied to the sequence's log-ratio. For log-ratio-linear f (k1)
the token sum is the sequence estimate; for the others it is a sum of per-token (conditional)
divergences, as DPH-RL and the KL penalties of TRL/verl do.

Built-ins live in kl_estimators.py (reverse KL, policy samples), f_divergences.py (forward KL,
JS, alpha, TV; reference samples) and rapo.py.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import torch

from rlvr.objectives._numerics import check_per_token, compute_dtype, masked_max, masked_mean
from rlvr.objectives.aggregation import aggregate
from rlvr.registry import Registry

Samples = Literal["reference", "policy"]
SAMPLE_SIDES = ("reference", "policy")

PerToken = Callable[[torch.Tensor], torch.Tensor]
ReferenceTransform = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Divergence:
    """A divergence with its parameters bound.

    name:    registry name.
    samples: "reference" (y ~ pi_0, log_ratio = logp - logp_ref) or
             "policy" (y ~ pi_theta, log_ratio = logp_ref - logp).
    f:       per-token, elementwise f(log_ratio) -> values of the same shape.
    params:  the bound parameters (read-only).
    reference_transform: optional (logp_ref [B, T], rewards [B]) -> logp_ref' [B, T].
    """

    name: str
    samples: Samples
    f: PerToken
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    reference_transform: ReferenceTransform | None = None

    @property
    def needs_rewards(self) -> bool:
        return self.reference_transform is not None

    def log_ratio(
        self, logp: torch.Tensor, logp_ref: torch.Tensor, rewards: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The log-ratio f expects, oriented by `samples` (unclamped, unmasked)."""
        if self.reference_transform is not None:
            if rewards is None:
                raise ValueError(f"divergence {self.name!r} reweights pi_0 by the reward: pass rewards=[B]")
            logp_ref = self.reference_transform(logp_ref, rewards)
        return logp - logp_ref if self.samples == "reference" else logp_ref - logp


@dataclass(frozen=True)
class DivergenceSpec:
    """What `register_divergence` stores: the unbound function and its parameter defaults."""

    name: str
    samples: Samples
    fn: Callable[..., torch.Tensor]
    params: Mapping[str, Any]
    reference_transform: Callable[..., torch.Tensor] | None


DIVERGENCES: Registry[DivergenceSpec] = Registry("divergence")


def _accepted(fn: Callable[..., Any]) -> set[str] | None:
    """Keyword names fn accepts beyond its leading tensor argument(s); None if it takes **kwargs."""
    parameters = inspect.signature(fn).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters}


def _bind(fn: Callable[..., Any], params: Mapping[str, Any]) -> Callable[..., Any]:
    accepted = _accepted(fn)
    own = {k: v for k, v in params.items() if accepted is None or k in accepted}
    return functools.partial(fn, **own) if own else fn


def register_divergence(
    name: str,
    samples: Samples,
    *,
    params: Mapping[str, Any] | None = None,
    reference_transform: Callable[..., torch.Tensor] | None = None,
    overwrite: bool = False,
) -> Callable[[Callable[..., torch.Tensor]], Callable[..., torch.Tensor]]:
    """Decorator registering `fn(log_ratio, **params) -> Tensor` as divergence `name`.

    samples: which samples the expectation is over, and so how log_ratio is oriented (module doc).
    params: parameter names and defaults, bound by `get_divergence(name, **params)`; each name
        must be a keyword of fn or of reference_transform.
    reference_transform: optional `(logp_ref, rewards, **params) -> logp_ref'`.
    Returns fn unchanged, so the decorated function stays usable on its own.
    """
    if samples not in SAMPLE_SIDES:
        raise ValueError(f"divergence {name!r}: samples must be 'reference' or 'policy', got {samples!r}")
    defaults = dict(params or {})

    def decorator(fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        targets = [fn] + ([reference_transform] if reference_transform is not None else [])
        accepted_sets = [_accepted(t) for t in targets]
        if None not in accepted_sets:
            accepted = set().union(*accepted_sets)
            missing = sorted(set(defaults) - accepted)
            if missing:
                raise TypeError(
                    f"divergence {name!r}: params {missing} are not keyword arguments of {fn.__name__}"
                    + (" or its reference_transform" if reference_transform is not None else "")
                )
        DIVERGENCES.add(
            name,
            DivergenceSpec(name, samples, fn, MappingProxyType(defaults), reference_transform),
            overwrite=overwrite,
        )
        return fn

    return decorator


def get_divergence(name: str, **params: Any) -> Divergence:
    """The divergence registered as `name`, with `params` bound over the registered defaults.

    Raises KeyError for an unknown name (listing the registered ones), TypeError for unknown
    parameter names (listing the accepted ones), ValueError when f(0) != 0 for these params.
    """
    spec = DIVERGENCES.get(name)
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        accepted = ", ".join(sorted(spec.params)) or "none"
        raise TypeError(f"divergence {name!r} got unknown parameter(s) {unknown}; it accepts: {accepted}")
    bound = {**spec.params, **params}
    f = _bind(spec.fn, bound)
    transform = _bind(spec.reference_transform, bound) if spec.reference_transform is not None else None
    div = Divergence(name, spec.samples, f, MappingProxyType(bound), transform)
    _check(div)
    return div


def _check(div: Divergence) -> None:
    """Surface bad parameters and a generator with g(1) != 0 when the divergence is built, not mid-run."""
    with torch.no_grad():
        at_zero = float(div.f(torch.zeros(1, dtype=torch.float64)))
        if div.reference_transform is not None:
            div.reference_transform(
                torch.zeros(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
            )
    if abs(at_zero) > 1e-9:
        raise ValueError(
            f"divergence {div.name!r} has f(0) = {at_zero:g}; identical policies must give 0, "
            "so subtract the constant f(0) in its definition"
        )


def divergence_loss(
    divergence: Divergence | str,
    logp: torch.Tensor,
    logp_ref: torch.Tensor,
    mask: torch.Tensor,
    *,
    aggregation: str = "token-mean",
    aggregation_norm: float | None = None,
    rewards: torch.Tensor | None = None,
    log_ratio_clamp: float = 20.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Divergence term as a loss on fixed samples: aggregate(f(clamp(log_ratio)), mask).

    divergence: a Divergence or a registered name (default parameters).
    logp:       [B, T] log pi_theta of the tokens (requires grad).
    logp_ref:   [B, T] log pi_0 of the same tokens (from the bank for "reference" divergences,
                from an online reference model for "policy" ones).
    mask:       [B, T] float, 1 on tokens the term sees.
    rewards:    [B], required by divergences with a reference_transform (RAPO), else ignored.
    aggregation, aggregation_norm: see rlvr.objectives.aggregation.aggregate.

    The log-ratio (oriented by divergence.samples) is clamped to +-log_ratio_clamp. 20 because
    e^20 ~ 4.9e8: f values such as e^x, x e^x or u^(1-alpha) and their gradients stay finite in
    float32 (which overflows past e^88.7) even when summed over a large batch, while no ratio a
    trained policy should reach is cut. Clamped tokens get zero gradient (clamp's derivative is 0
    there); `clamp_frac` reports how many there were.

    Computed in float32 (float64 inputs stay float64); NaN/inf in masked positions reach neither
    the loss nor the gradient. NaN at unmasked positions is a data bug and is not hidden.

    Metrics: value (masked token mean of f, an estimate of the per-token divergence),
    log_ratio_mean (clamped), log_ratio_abs_max (unclamped; inf for impossible tokens),
    clamp_frac (fraction of masked tokens whose |log_ratio| exceeded the bound).
    """
    div = get_divergence(divergence) if isinstance(divergence, str) else divergence
    shape = logp.shape
    if logp.dim() != 2:
        raise ValueError(f"logp must be [B, T]; got shape {tuple(shape)}")
    check_per_token("logp_ref", logp_ref, shape)
    check_per_token("mask", mask, shape)
    if div.needs_rewards and (rewards is None or rewards.shape != shape[:1]):
        got = "none" if rewards is None else tuple(rewards.shape)
        raise ValueError(f"divergence {div.name!r} needs rewards of shape [B] = [{shape[0]}]; got {got}")
    dtype = compute_dtype(logp, logp_ref)
    valid = mask > 0
    zero = torch.zeros((), dtype=dtype, device=logp.device)

    # Sanitize before anything runs on the inputs: padding may hold NaN/-inf, and a registered
    # f or reference_transform whose derivative is non-finite there would turn the zero gradient
    # of a later where() into NaN (0 * inf). f and the transform only ever see finite padding.
    lp = torch.where(valid, logp.to(dtype), zero)
    lr = torch.where(valid, logp_ref.to(dtype), zero)
    raw = div.log_ratio(lp, lr, None if rewards is None else rewards.to(dtype))
    raw = torch.where(valid, raw, zero)
    log_ratio = raw.clamp(-log_ratio_clamp, log_ratio_clamp)
    values = torch.where(valid, div.f(log_ratio), zero)
    loss = aggregate(values, mask, aggregation, norm=aggregation_norm)

    with torch.no_grad():
        metrics = {
            "value": masked_mean(values, valid),
            "log_ratio_mean": masked_mean(log_ratio, valid),
            "log_ratio_abs_max": masked_max(raw.abs(), valid),
            "clamp_frac": masked_mean((raw.abs() > log_ratio_clamp).to(dtype), valid),
        }
    return loss, metrics


# Register the built-ins whenever the registry is imported (they import the names above).
from rlvr.objectives import f_divergences, kl_estimators, rapo  # noqa: E402, F401
