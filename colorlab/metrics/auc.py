"""The AuC of the cumulative ab-error curve (Zhang et al. 2016), raw and rebalanced by a class
prior; ``docs/metrics.md`` says how the rebalanced one is pooled and how far it can be trusted.

Example:
    >>> ab = torch.zeros(1, 2, 4, 4)
    >>> auc(ab, ab).tolist()
    [1.0]
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..abgrid.weights import pixel_weights
from ..color import check_image
from .image import check_same

__all__ = ["AUC_MAX_THRESHOLD", "AUC_PRIOR_UNIFORM_MIX", "AUC_PRIOR_MIXES", "ab_error_cdf", "auc",
           "rebalancing_weights", "mix_suffix"]

#: Largest ab error threshold of the AuC curve (Zhang et al. 2016): thresholds 0, 1, ..., 150.
AUC_MAX_THRESHOLD = 150
#: Share of a uniform distribution mixed into the prior before inverting it for the rebalanced AuC.
AUC_PRIOR_UNIFORM_MIX = 1e-3
#: The mixes the rebalanced AuC is also computed with, to show how much the answer depends on it.
AUC_PRIOR_MIXES = (1e-2, 1e-3, 1e-4)


def ab_error_cdf(
    gt_ab: Tensor,
    pred_ab: Tensor,
    weights: Tensor | None = None,
    max_threshold: int = AUC_MAX_THRESHOLD,
) -> Tensor:
    """The cumulative ab-error curve: the share of pixels with ab error ``<= t``, for each ``t``.

    The error of a pixel is the Euclidean distance between its true and predicted ab; it counts as
    correct at every integer threshold ``t >= error``, for ``t = 0 .. max_threshold``.

    Args:
        gt_ab: ground truth chroma ``(B, 2, H, W)`` in Lab units.
        pred_ab: predicted chroma of the same shape.
        weights: optional per-pixel weights ``(B, 1, H, W)``, normalised per image here.
        max_threshold: the last threshold.

    Returns:
        ``(B, max_threshold + 1)``, rising from the share of exact pixels to at most 1.

    Raises:
        ValueError: for shapes that differ or are not ``(B, 2, H, W)``.

    Example:
        >>> gt = torch.zeros(1, 2, 1, 2)
        >>> pred = torch.tensor([0.0, 2.5, 0.0, 0.0]).view(1, 2, 1, 2)   # errors 0 and 2.5
        >>> ab_error_cdf(gt, pred, max_threshold=3).tolist()
        [[0.5, 0.5, 0.5, 1.0]]
    """
    check_same(gt_ab, pred_ab, 2)
    err = (gt_ab.float() - pred_ab.float()).pow(2).sum(1).sqrt().flatten(1)  # (B, N)
    if weights is None:
        w = torch.full_like(err, 1.0 / err.shape[1])
    else:
        check_image(weights, 1, "weights")
        w = weights.float().flatten(1)
        w = w / w.sum(1, keepdim=True).clamp_min(1e-12)
    # an error e first counts at threshold ceil(e): a weighted histogram of those, accumulated,
    # is the curve, in O(B * N) memory (errors beyond the last threshold land in a spill bin)
    first = err.ceil().clamp(max=max_threshold + 1).long()
    hist = torch.zeros(err.shape[0], max_threshold + 2, device=err.device, dtype=w.dtype).scatter_add_(1, first, w)
    return hist.cumsum(1)[:, : max_threshold + 1]


def auc(
    gt_ab: Tensor,
    pred_ab: Tensor,
    prior: Tensor | None = None,
    bins: Tensor | None = None,
) -> Tensor:
    """Per-image AuC of the cumulative ab-error curve over thresholds 0 .. 150 (Zhang et al. 2016).

    The area is the mean of :func:`ab_error_cdf` over the 151 thresholds. With ``prior`` and
    ``bins`` the curve is class-rebalanced: each pixel is weighted by :func:`rebalancing_weights`,
    the inverse prior of its true bin.

    Args:
        gt_ab: ground truth chroma ``(B, 2, H, W)`` in Lab units.
        pred_ab: predicted chroma of the same shape.
        prior: the training prior ``(Q,)`` for the rebalanced AuC (``None``: the raw AuC).
        bins: the bin centres ``(Q, 2)`` the prior is defined on.

    Returns:
        ``(B,)`` in [0, 1].

    Raises:
        ValueError: for shapes that do not fit, or a prior without its bins.

    Example:
        >>> ab = torch.zeros(1, 2, 4, 4)
        >>> round(auc(ab, ab + 75 / 2 ** 0.5).item() * 151, 4)  # correct at thresholds 75..150
        76.0
    """
    weights = None if prior is None else rebalancing_weights(gt_ab, prior, bins)
    return ab_error_cdf(gt_ab, pred_ab, weights).mean(1)


def rebalancing_weights(gt_ab: Tensor, prior: Tensor, bins: Tensor | None,
                        mix: float = AUC_PRIOR_UNIFORM_MIX) -> Tensor:
    """Per-pixel weights of the rebalanced AuC: ``1 / p'[nearest_bin(gt)]``.

    ``p' = (1 - m) p + m / Q`` mixes a share ``m`` of the uniform distribution into the prior. A
    prior estimated from a few photos is zero on colours they never show, and one test pixel of
    such a colour would otherwise outweigh the rest of the test set.

    Args:
        gt_ab: ground truth chroma ``(B, 2, H, W)`` in Lab units.
        prior: the training prior ``(Q,)``; it is normalised here.
        bins: the bin centres ``(Q, 2)`` the prior is defined on.
        mix: ``m``, in (0, 1].

    Returns:
        Weights ``(B, 1, H, W)``, float32.

    Raises:
        ValueError: for ``mix`` outside (0, 1], no bins, or a prior that is not ``(Q,)``.

    Example:
        >>> bins = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
        >>> w = rebalancing_weights(torch.zeros(1, 2, 1, 1), torch.tensor([0.8, 0.2]), bins, mix=0.5)
        >>> round(w.item(), 4)   # 1 / (0.5 * 0.8 + 0.5 / 2)
        1.5385
    """
    if not 0 < mix <= 1:
        raise ValueError(f"the uniform mix must be in (0, 1]; got {mix}")
    if bins is None:
        raise ValueError("a rebalanced AuC needs the bins the prior is defined on")
    if prior.ndim != 1:
        raise ValueError(f"prior must have shape (Q,); got {tuple(prior.shape)}")
    p = prior.double() / prior.double().sum()
    p = (1 - mix) * p + mix / p.shape[0]
    return pixel_weights(gt_ab.float(), bins.to(gt_ab.device), (1.0 / p).float())


def mix_suffix(mix: float) -> str:
    """The column suffix of a rebalanced AuC computed with another uniform ``mix``.

    Args:
        mix: the share of the uniform distribution mixed into the prior.

    Returns:
        The suffix, ``"_"`` and the mix in one-digit scientific notation.

    Example:
        >>> mix_suffix(1e-2)
        '_1e-02'
    """
    return f"_{mix:.0e}"
