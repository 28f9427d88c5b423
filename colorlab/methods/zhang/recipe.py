"""The training recipe of Zhang, Isola and Efros (2016) as pure functions.

The paper's constants, the stride-4 targets and the two losses: the soft-encoded cross entropy,
optionally rebalanced, and the L2 baseline. The network's outputs are at 1/4 resolution, so the
ground truth is point-sampled at stride 4 to match, as in the official training prototxt.
Grayscale images (no ``|a|`` or ``|b|`` above 5) are masked out of both losses.

Example:
    >>> from colorlab.abgrid import ab_gamut_bins
    >>> bins = ab_gamut_bins()
    >>> ab = torch.randn(2, 2, 16, 16) * 20
    >>> logits = torch.randn(2, bins.shape[0], 4, 4)
    >>> out = class_loss(logits, ab, bins, k=K_PAPER)
    >>> sorted(out), out["loss"].shape
    (['ce', 'colour_images', 'loss'], torch.Size([]))
"""

from __future__ import annotations

import torch  # noqa: F401 (the examples use it)
from torch import Tensor

from ...abgrid import (
    REBALANCE_LAMBDA,
    SIGMA,
    grayscale_mask,
    pixel_weights,
    rebalance_weights,
    soft_cross_entropy,
    soft_encode,
)
from ...color import ZHANG, check_image

__all__ = [
    "ANNEALED_T", "OFFICIAL_LOGIT_SCALE", "K_PAPER", "K_OFFICIAL", "LAMBDA", "TARGET_STRIDE", "ADAM_BETAS",
    "WEIGHT_DECAY", "PAPER_TEMPERATURES", "DECODERS", "rebalance_weights", "downsample_targets", "class_loss",
    "l2_loss",
]

#: ``rebalance_weights`` (the paper's Eq. 4) lives in :mod:`colorlab.abgrid.prior`, shared with the U-Net.

#: Annealed-mean temperature of the paper.
ANNEALED_T = 0.38
#: The official Caffe demo multiplies the logits by this before the softmax (``1/2.606 ≈ 0.384``).
OFFICIAL_LOGIT_SCALE = 2.606
#: Nearest bins per pixel in the soft encoding: the paper's 5, the official training code's 10.
K_PAPER = 5
K_OFFICIAL = 10
#: Mixing weight of the uniform distribution in the rebalancing weights.
LAMBDA = REBALANCE_LAMBDA
#: The ground truth is point-sampled at this stride to match the network's 1/4-resolution output.
TARGET_STRIDE = 4
#: Adam's betas in the official solver (``momentum: 0.9``, ``momentum2: 0.99``).
ADAM_BETAS = (0.9, 0.99)
#: Weight decay of the official solver (Caffe's: an L2 penalty added to the gradient, as torch's Adam).
WEIGHT_DECAY = 1e-3
#: The temperatures of the paper's annealed-mean figure (1 is the mean; T -> 0, the mode, is added apart).
PAPER_TEMPERATURES = (1.0, 0.77, 0.58, 0.38, 0.29, 0.14)
#: Decodings of the class head: the annealed mean (T = 0.38), the mode (T -> 0) and the mean (T = 1).
DECODERS = ("annealed", "mode", "mean")
#: Half of the squared error, the Euclidean loss of the paper's Eq. 1 (and Caffe's EuclideanLoss).
_HALF = 0.5


def downsample_targets(ab: Tensor, factor: int = TARGET_STRIDE, offset: int = 0) -> Tensor:
    """Point-sample ab at a stride: ``ab[..., offset::factor, offset::factor]``.

    The official training prototxt builds the 1/4-resolution target with a 1×1 convolution of
    stride 4 and unit weights (``data_ab_ss``): the top-left pixel of every 4×4 block, the default
    ``offset = 0``. Nothing is averaged, so the targets stay real colours rather than blends.

    Args:
        ab: ground truth ``(B, 2, H, W)`` in ab units.
        factor: the stride, ``>= 1``.
        offset: the first row and column read, in ``[0, factor)``.

    Returns:
        ``(B, 2, ceil((H - offset) / factor), ceil((W - offset) / factor))``: ``H/4`` for ``H``
        divisible by 4.

    Raises:
        ValueError: for an input that is not ``(B, 2, H, W)``, or a bad ``factor`` or ``offset``.

    Example:
        >>> downsample_targets(torch.arange(64.0).view(1, 1, 8, 8).repeat(1, 2, 1, 1))[0, 0].tolist()
        [[0.0, 4.0], [32.0, 36.0]]
    """
    check_image(ab, 2, "ab")
    if factor < 1 or not 0 <= offset < factor:
        raise ValueError(f"need factor >= 1 and 0 <= offset < factor; got {factor}, {offset}")
    return ab[..., offset::factor, offset::factor]



def _targets(ab: Tensor, out: Tensor) -> Tensor:
    ab_ss = downsample_targets(ab, TARGET_STRIDE)
    if ab_ss.shape[-2:] != out.shape[-2:]:
        raise ValueError(f"stride-{TARGET_STRIDE} targets {tuple(ab_ss.shape[-2:])} do not match the "
                         f"network output {tuple(out.shape[-2:])}")
    return ab_ss


def class_loss(
    logits: Tensor,
    ab: Tensor,
    bins: Tensor,
    *,
    k: int = K_PAPER,
    sigma: float = SIGMA,
    class_weights: Tensor | None = None,
) -> dict[str, Tensor]:
    """Compute the paper's classification loss.

    The ground truth is point-sampled at stride 4 (:func:`downsample_targets`), soft-encoded over
    its ``k`` nearest bins with Gaussian weights (:func:`colorlab.abgrid.soft_encode`) and compared
    with the logits by the soft cross entropy. With ``class_weights`` each pixel's term is
    multiplied by the weight of its nearest bin. Grayscale images are masked out.

    Args:
        logits: ``(B, Q, H/4, W/4)``.
        ab: the ground truth ``(B, 2, H, W)`` in ab units.
        bins: the bin centres ``(Q, 2)`` in ab units.
        k: nearest bins of the soft encoding.
        sigma: the Gaussian's width in ab units.
        class_weights: rebalancing weights ``(Q,)`` (:func:`rebalance_weights`), or ``None``.

    Returns:
        ``{"loss", "ce", "colour_images"}``, scalars: ``"ce"`` is the unweighted cross entropy
        (``"loss"`` itself without weights), ``"colour_images"`` the share of images not masked.

    Raises:
        ValueError: when the stride-4 targets do not match the logits' size.
    """
    ab = ab.float()
    ab_ss = _targets(ab, logits)
    target = soft_encode(ab_ss, bins, k, sigma)
    keep = ~grayscale_mask(ab)
    weights = None if class_weights is None else pixel_weights(ab_ss, bins, class_weights)
    loss = soft_cross_entropy(logits, target, weights, keep)
    ce = loss.detach() if weights is None else soft_cross_entropy(logits.detach(), target, None, keep)
    return {"loss": loss, "ce": ce, "colour_images": keep.float().mean()}


def l2_loss(pred: Tensor, ab: Tensor) -> dict[str, Tensor]:
    """Compute the paper's L2 baseline loss, ``½‖ŷ - y‖²`` per pixel.

    The target is the stride-4 point-sampled ``ab / 110``. The loss is averaged over the pixels of
    the colour images; grayscale ones are masked as in :func:`class_loss`.

    Args:
        pred: ``ab / 110`` ``(B, 2, H/4, W/4)``.
        ab: the ground truth ``(B, 2, H, W)`` in ab units.

    Returns:
        ``{"loss", "colour_images"}``, scalars.

    Raises:
        ValueError: for a prediction that is not ``(B, 2, h, w)`` or does not match the targets' size.

    Example:
        >>> ab = torch.zeros(1, 2, 8, 8); ab[:, 0] = 11.0
        >>> round(float(l2_loss(torch.zeros(1, 2, 2, 2), ab)["loss"]), 6)  # ½ (11/110)²
        0.005
    """
    ab = ab.float()
    check_image(pred, 2, "prediction")
    y = ZHANG.encode_chroma(_targets(ab, pred))
    per_pixel = _HALF * (pred - y).square().sum(1)  # (B, h, w)
    keep = (~grayscale_mask(ab)).to(per_pixel.dtype).view(-1, 1, 1).expand_as(per_pixel)
    loss = (per_pixel * keep).sum() / keep.sum().clamp_min(1.0)
    return {"loss": loss, "colour_images": keep[:, 0, 0].mean()}
