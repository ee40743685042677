"""Policy losses on rollouts: registry and PPO-clip (with clip-higher and dual clip).

Shared signature (config names are registry names):

    fn(logp, logp_old, advantages, mask, **options) -> (loss: 0-dim Tensor, metrics: dict[str, float])

logp:       [B, T] log pi_theta of the sampled tokens (requires grad).
logp_old:   [B, T] log-probs under the policy that sampled them (the rollout's sampler).
advantages: [B] (one per sequence, broadcast over its tokens) or [B, T].
mask:       [B, T] float, 1 on response tokens the loss sees.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rlvr.objectives._numerics import check_per_token, compute_dtype, masked_max, masked_mean
from rlvr.objectives.aggregation import aggregate
from rlvr.registry import Registry

PolicyLoss = Callable[..., tuple[torch.Tensor, dict[str, float]]]

POLICY_LOSSES: Registry[PolicyLoss] = Registry("policy loss")


def register_policy_loss(name: str, *, overwrite: bool = False) -> Callable[[PolicyLoss], PolicyLoss]:
    """Decorator: register `fn(logp, logp_old, advantages, mask, **options) -> (loss, metrics)`."""
    return POLICY_LOSSES.register(name, overwrite=overwrite)


def broadcast_advantages(advantages: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """[B] or [B, T] advantages as [B, T]."""
    if advantages.dim() == 1 and advantages.shape[0] == shape[0]:
        return advantages.unsqueeze(-1).expand(shape)
    if advantages.shape == shape:
        return advantages
    raise ValueError(
        f"advantages have shape {tuple(advantages.shape)}; expected [B] = [{shape[0]}] or [B, T] = {tuple(shape)}"
    )


@register_policy_loss("ppo_clip")
def ppo_clip(
    logp: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
    dual_clip: float | None = None,
    aggregation: str = "token-mean",
    aggregation_norm: float | None = None,
    entropy: torch.Tensor | None = None,
    entropy_coef: float = 0.0,
    log_ratio_clamp: float = 20.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Token-level PPO-clip loss, aggregated by `aggregation` (see rlvr.objectives.aggregation).

    Per token, with r = exp(logp - logp_old) and A the token's advantage:

        l = -min(r A, clip(r, 1 - eps_low, 1 + eps_high) A)
        dual clip (c > 1, Ye et al. 2020), for A < 0 only:  l = min(l, -c A)

    eps_high > eps_low is DAPO's clip-higher: low-probability tokens with A > 0 may grow further
    before their gradient is cut. Dual clip bounds the loss of a token with A < 0 whose ratio
    has exploded (r > c), where plain PPO's unclipped side would give an unbounded -r A.

    The log-ratio is clamped to +-log_ratio_clamp before exp() (e^20 ~ 4.9e8 stays finite in
    float32, e^89 does not); beyond the bound the token's gradient is zero, which only matters
    for tokens PPO would already treat as wildly off-policy. An entropy bonus
    -entropy_coef * aggregate(entropy) is added when `entropy` [B, T] is given.

    Computed in float32 (float64 inputs stay float64). Values at masked positions (NaN, inf,
    anything) reach neither the loss nor the gradient.

    Metrics: pg_loss; clip_frac_low (A < 0 and r < 1 - eps_low: gradient cut by the lower bound);
    clip_frac_high (A > 0 and r > 1 + eps_high); dual_clip_frac (A < 0 and r > c); approx_kl
    (k3 estimate of KL(pi_old || pi_theta): mean of r - 1 - log r); ratio_mean; ratio_max;
    entropy (masked token mean) when given. Fractions and means are over masked tokens.
    """
    if not 0 <= eps_low < 1 or eps_high < 0:
        raise ValueError(
            f"need 0 <= eps_low < 1 and eps_high >= 0; got eps_low={eps_low}, eps_high={eps_high}"
        )
    if dual_clip is not None and dual_clip <= 1:
        raise ValueError(f"dual_clip must be > 1 (it caps the loss of A < 0 tokens at -c*A); got {dual_clip}")
    shape = logp.shape
    if logp.dim() != 2:
        raise ValueError(f"logp must be [B, T]; got shape {tuple(shape)}")
    check_per_token("logp_old", logp_old, shape)
    check_per_token("mask", mask, shape)
    dtype = compute_dtype(logp, logp_old, advantages)
    valid = mask > 0
    zero = torch.zeros((), dtype=dtype, device=logp.device)

    # where() before any arithmetic: padding may hold -inf log-probs, and inf - inf or
    # inf * 0 would poison both the loss and (through autograd) the gradient.
    log_ratio = torch.where(valid, logp.to(dtype) - logp_old.to(dtype), zero)
    log_ratio = log_ratio.clamp(-log_ratio_clamp, log_ratio_clamp)
    ratio = torch.exp(log_ratio)
    adv = torch.where(valid, broadcast_advantages(advantages, shape).to(dtype), zero)

    surrogate = ratio * adv
    clipped = ratio.clamp(1 - eps_low, 1 + eps_high) * adv
    per_token = torch.maximum(-surrogate, -clipped)
    if dual_clip is not None:
        per_token = torch.where(adv < 0, torch.minimum(per_token, -dual_clip * adv), per_token)

    pg_loss = aggregate(per_token, mask, aggregation, norm=aggregation_norm)
    loss = pg_loss
    metrics: dict[str, float] = {}
    if entropy is not None:
        check_per_token("entropy", entropy, shape)
        ent = torch.where(valid, entropy.to(dtype), zero)
        if entropy_coef != 0.0:
            loss = loss - entropy_coef * aggregate(ent, mask, aggregation, norm=aggregation_norm)
        # With coefficient 0 the entropy stays out of the graph: logged, never backpropagated
        # (the learner's hand-written backward then skips its entropy path).
        metrics["entropy"] = masked_mean(ent.detach(), valid)

    with torch.no_grad():
        metrics.update(
            pg_loss=float(pg_loss.detach()),
            clip_frac_low=masked_mean(((adv < 0) & (ratio < 1 - eps_low)).to(dtype), valid),
            clip_frac_high=masked_mean(((adv > 0) & (ratio > 1 + eps_high)).to(dtype), valid),
            dual_clip_frac=(
                masked_mean(((adv < 0) & (ratio > dual_clip)).to(dtype), valid)
                if dual_clip is not None
                else 0.0
            ),
            approx_kl=masked_mean(torch.expm1(log_ratio) - log_ratio, valid),
            ratio_mean=masked_mean(ratio, valid),
            ratio_max=masked_max(ratio, valid),
        )
    return loss, metrics
