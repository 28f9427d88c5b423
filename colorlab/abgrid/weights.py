"""Class weights from a prior over the ab bins: Zhang et al.'s rebalancing weights, and a
per-pixel weight looked up by each pixel's bin (the rebalanced loss and the rebalanced AuC).

Example:
    >>> import torch
    >>> rebalance_weights(torch.tensor([0.5, 0.5])).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

from torch import Tensor

from .bins import _check_bins, _check_q, nearest_bin

__all__ = ["REBALANCE_LAMBDA", "pixel_weights", "rebalance_weights"]

#: λ of Zhang et al.'s rebalancing weights (:func:`rebalance_weights`): half the prior, half uniform.
REBALANCE_LAMBDA = 0.5


def pixel_weights(ab: Tensor, bins: Tensor, class_weights: Tensor) -> Tensor:
    """Per-pixel loss weights: the class weight of each pixel's nearest bin.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.
        bins: bin centres ``(Q, 2)``.
        class_weights: one weight per bin, ``(Q,)``.

    Returns:
        Weights ``(B, 1, H, W)`` on ``ab``'s device.

    Raises:
        ValueError: for shapes that do not fit.

    Example:
        >>> import torch
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> pixel_weights(torch.zeros(1, 2, 1, 1), bins, torch.tensor([0.5, 2.0])).flatten().tolist()
        [0.5]
    """
    bins = _check_bins(bins, ab)
    if class_weights.ndim != 1:
        raise ValueError(f"class_weights must have shape (Q,); got {tuple(class_weights.shape)}")
    _check_q("class_weights", class_weights, bins.shape[0], 0)
    return class_weights.to(ab.device)[nearest_bin(ab, bins)].unsqueeze(1)


def rebalance_weights(prior: Tensor, lam: float = REBALANCE_LAMBDA) -> Tensor:
    """Zhang et al.'s class rebalancing weights (their Eq. 4).

    ``w ∝ ((1 - λ)·p + λ/Q)^-1``, scaled so that ``Σ_q p_q w_q = 1``. ``λ = 1`` gives all ones;
    ``λ = 0`` gives ``w = 1 / (Q·p)``. Not a hot path: the checks synchronise with the host.

    Args:
        prior: a distribution over the bins, ``(Q,)``: non-negative, summing to 1.
        lam: λ in [0, 1]; the paper's is 0.5.

    Returns:
        float32 weights ``(Q,)``.

    Raises:
        ValueError: for a prior that is no distribution, λ outside [0, 1], or ``λ = 0`` with an
            empty bin.

    Example:
        >>> import torch
        >>> w = rebalance_weights(torch.tensor([0.7, 0.2, 0.1]))
        >>> round(float((torch.tensor([0.7, 0.2, 0.1]) * w).sum()), 6)
        1.0
    """
    if prior.ndim != 1:
        raise ValueError(f"prior must have shape (Q,); got {tuple(prior.shape)}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1]; got {lam}")
    p = prior.float()
    if bool((p < 0).any()) or abs(float(p.sum()) - 1.0) > 1e-4:
        raise ValueError("prior must be non-negative and sum to 1")
    if lam == 0.0 and bool((p == 0).any()):
        raise ValueError("lam = 0 needs a prior with no empty bin (its weight would be infinite)")
    w = 1.0 / ((1.0 - lam) * p + lam / p.shape[0])
    return w / (p * w).sum()
