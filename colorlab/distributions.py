"""The colour distribution of an image, and how two distributions compare.

Each image's marginal histograms of ``a`` and ``b`` are compared with the truth's (Isola et al.
2017, §4.2: the measurable form of "less desaturated, more like the real colours").
:func:`colorlab.metrics.evaluate` scores every prediction with them.

Example:
    >>> ab = torch.zeros(1, 2, 4, 4)
    >>> h = ab_histograms(ab)
    >>> h.shape, histogram_intersection(h, h).tolist()
    (torch.Size([1, 2, 23]), [[1.0, 1.0]])
"""

from __future__ import annotations

import torch
from torch import Tensor

from .color import check_image

__all__ = ["HIST_EDGES", "HIST_EPS", "ab_histograms", "histogram_intersection", "histogram_kl"]

#: Bin edges (Lab units) of the colour-distribution histograms of ``a`` and of ``b``: 23 bins of 10
#: over [-115, 115] (the ab scale of the Lab normalisations, 110, inside), one centred on 0 so neutral
#: pixels are not split between two bins by rounding; values beyond land in the end bins.
HIST_EDGES = tuple(float(x) for x in range(-115, 116, 10))
#: Probability mass spread evenly over the bins of a predicted histogram before the KL divergence,
#: so a colour the prediction never shows costs a finite amount.
HIST_EPS = 1e-3


def ab_histograms(ab: Tensor, edges: tuple[float, ...] = HIST_EDGES) -> Tensor:
    """Each image's marginal histograms of ``a`` and of ``b``.

    Args:
        ab: chroma ``(B, 2, H, W)`` in Lab units.
        edges: the ``K + 1`` bin edges; values outside the range are counted in the end bins.

    Returns:
        ``(B, 2, K)``: the histogram of ``a`` and of ``b``, each summing to 1.

    Example:
        >>> ab = torch.tensor([[[[-200.0, 0.0]], [[5.0, 5.0]]]])  # a: -200 and 0; b: 5 twice
        >>> h = ab_histograms(ab, (-10.0, 0.0, 10.0))
        >>> h[0, 0].tolist(), h[0, 1].tolist()
        ([0.5, 0.5], [0.0, 1.0])
    """
    check_image(ab, 2, "ab")
    inner = torch.tensor(edges[1:-1], device=ab.device, dtype=torch.float32)
    idx = torch.bucketize(ab.float().flatten(2).contiguous(), inner, right=True)  # (B, 2, N) in 0..K-1
    ones = torch.ones_like(idx, dtype=torch.float32)
    counts = torch.zeros(*idx.shape[:2], len(edges) - 1, device=ab.device).scatter_add_(2, idx, ones)
    return counts / counts.sum(2, keepdim=True).clamp_min(1.0)


def histogram_intersection(p: Tensor, q: Tensor) -> Tensor:
    """The intersection ``Σ min(p, q)`` of two histograms.

    Args:
        p: histograms ``(..., K)``, each summing to 1.
        q: histograms of the same shape.

    Returns:
        ``(...)``: 1 for identical distributions, 0 for disjoint ones.

    Example:
        >>> histogram_intersection(torch.tensor([0.5, 0.5, 0.0]), torch.tensor([0.0, 0.5, 0.5])).item()
        0.5
    """
    return torch.minimum(p, q).sum(-1)


def histogram_kl(p: Tensor, q: Tensor, eps: float = HIST_EPS) -> Tensor:
    """The KL divergence ``KL(p ‖ q')`` in nats, with ``q' = (q + eps) / (1 + K eps)``.

    It says how badly ``q`` (a prediction's histogram) covers ``p`` (the truth's); the smoothing
    makes a colour the prediction never shows cost a finite amount.

    Args:
        p: the truth's histograms ``(..., K)``, each summing to 1.
        q: the prediction's histograms, of the same shape.
        eps: the mass spread evenly over the bins of ``q``.

    Returns:
        ``(...)``: 0 when they agree up to the smoothing.

    Example:
        >>> p = torch.tensor([0.5, 0.5])
        >>> histogram_kl(p, p, eps=0.0).item(), round(histogram_kl(p, torch.tensor([1.0, 0.0])).item(), 2)
        (0.0, 2.76)
    """
    q = (q + eps) / (1.0 + q.shape[-1] * eps)
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)
