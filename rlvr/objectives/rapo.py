"""RAPO (arXiv 2510.03865): forward KL to a reward-reweighted reference, on policy samples.

Target: pi_hat(y) ∝ pi_0(y)^phi(r(y)), phi monotone into [0, 1]. phi = 1 keeps pi_0; phi = 0
flattens it to uniform, releasing the pull toward pi_0 for that response.

Estimator on rollouts y ~ pi_theta, with x = log pi_hat(y) - log pi_theta(y) and rho = e^x:

    f(x) = rho log rho - rho + 1 = x e^x - e^x + 1          (>= 0, f(0) = 0)

Per-token simplification, stated honestly. The reference transform replaces log pi_0 by
phi(r) * log pi_0 at every token of the response, which is exact for the *unnormalized*
sequence-level pi_0^phi (the exponent distributes over the token product). The normalizer
Z = sum_y pi_0(y)^phi is ignored (it is intractable, and per token it would be a sum over the
vocabulary). With an unnormalized pi_hat of mass Z >= 1, the expectation per token position is
the generalized KL between positive measures:

    E_pi_theta[f] = sum_y pi_hat log(pi_hat / pi_theta) - Z + 1
                  = Z KL(pi_bar || pi_theta) + (Z log Z - Z + 1),   pi_bar = pi_hat / Z,

so its minimizer over pi_theta is the normalized pi_bar and its gradient is Z grad KL(pi_bar || pi_theta).
phi = 1: Z = 1 and it is KL(pi_0 || pi_theta) exactly. phi = 0: pi_hat = 1 per outcome, Z = K
(the number of outcomes, i.e. the vocabulary), the expectation is K KL(U || pi_theta) + K log K - K + 1:
a pull toward uniform scaled by K, whose sampled estimate rho = 1/pi_theta(y) has high variance.

Gradient with the samples held fixed (how the loss is used). Plain autograd of f gives
grad f = x e^x * grad x, so  grad E_fixed[f] = sum_y pi_hat log(pi_theta / pi_hat) grad log pi_theta
= grad (1/2) E_pi_hat[(log pi_theta - log pi_hat)^2] -- not grad KL(pi_hat || pi_theta); the
two only agree to first order near pi_theta = pi_hat (the same trap as k3 in kl_estimators.py,
mirrored). So by default (gradient="kl") the value is f's and the gradient is that of
k = e^x - x - 1, whose fixed-sample gradient is -sum_y pi_hat grad log pi_theta = Z grad KL(pi_bar || pi_theta),
the gradient of the divergence the value reports. gradient="estimator" gives plain autograd of f.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rlvr.objectives.divergences import register_divergence

Phi = Callable[[torch.Tensor], torch.Tensor]

PHI_FUNCTIONS: dict[str, Phi] = {
    "clamp": lambda r: r.clamp(0.0, 1.0),  # 0/1 rewards: correct -> pi_0, wrong -> flat
    "one_minus_clamp": lambda r: 1.0 - r.clamp(0.0, 1.0),  # correct -> flat, wrong -> pi_0
    "sigmoid": torch.sigmoid,
    "one": torch.ones_like,  # plain forward KL to pi_0 on policy samples
    "zero": torch.zeros_like,
}


def rapo_reference_transform(
    logp_ref: torch.Tensor, rewards: torch.Tensor, phi: str | Phi = "clamp"
) -> torch.Tensor:
    """log pi_hat = phi(r) * log pi_0 per token. logp_ref [B, T], rewards [B] -> [B, T].

    phi: a name in PHI_FUNCTIONS or a callable on the rewards [B]; its output is clamped into
    [0, 1] (outside it pi_hat is no longer between pi_0 and uniform).
    """
    if isinstance(phi, str):
        if phi not in PHI_FUNCTIONS:
            raise ValueError(
                f"divergence 'rapo': unknown phi {phi!r}; use one of {sorted(PHI_FUNCTIONS)} or a callable"
            )
        phi = PHI_FUNCTIONS[phi]
    weight = phi(rewards).to(logp_ref.dtype).clamp(0.0, 1.0)
    return weight.unsqueeze(-1) * logp_ref


@register_divergence(
    "rapo",
    samples="policy",
    params={"phi": "clamp", "gradient": "kl"},
    reference_transform=rapo_reference_transform,
)
def rapo(log_ratio: torch.Tensor, gradient: str = "kl") -> torch.Tensor:
    """rho log rho - rho + 1 with rho = pi_hat / pi_theta; gradient per `gradient` (module doc)."""
    rho_minus_1 = torch.expm1(log_ratio)
    value = log_ratio * torch.exp(log_ratio) - rho_minus_1
    if gradient == "estimator":
        return value
    if gradient != "kl":
        raise ValueError(f"divergence 'rapo': gradient must be 'kl' or 'estimator'; got {gradient!r}")
    k = rho_minus_1 - log_ratio
    return value.detach() + (k - k.detach())
