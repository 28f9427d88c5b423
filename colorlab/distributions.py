"""The colour distribution of an image: its marginal histograms of ``a`` and ``b``, and how two
distributions compare (Isola et al. 2017, §4.2: the measurable form of "less desaturated, more like
the real colours"). Pure functions over batched tensors; :func:`colorlab.metrics.evaluate` scores
every prediction with them.

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
    """Each image's marginal histograms of ``a`` and ``b`` ``(B, 2, K)``, each summing to 1 (``K`` bins
    between ``edges``; values outside the range counted in the end bins).

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
    """``Σ min(p, q)`` over the last dimension: 1 for identical distributions, 0 for disjoint ones.

    Example:
        >>> histogram_intersection(torch.tensor([0.5, 0.5, 0.0]), torch.tensor([0.0, 0.5, 0.5])).item()
        0.5
    """
    return torch.minimum(p, q).sum(-1)


def histogram_kl(p: Tensor, q: Tensor, eps: float = HIST_EPS) -> Tensor:
    """``KL(p ‖ q')`` in nats over the last dimension, ``q' = (q + eps) / (1 + K eps)``: how badly ``q``
    (a prediction's histogram) covers ``p`` (the truth's); 0 when they agree up to the smoothing.

    Example:
        >>> p = torch.tensor([0.5, 0.5])
        >>> histogram_kl(p, p, eps=0.0).item(), round(histogram_kl(p, torch.tensor([1.0, 0.0])).item(), 2)
        (0.0, 2.76)
    """
    q = (q + eps) / (1.0 + q.shape[-1] * eps)
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)
