"""The SIGGRAPH 2017 generator of Zhang, Zhu et al., without user hints, and its regression loss.

Zhang, Zhu, Isola, Geng, Lin, Yu and Efros (2017), "Real-Time User-Guided Image Colorization with
Learned Deep Priors". :class:`SiggraphNet` is the U-Net-like generator of the released PyTorch
port (``siggraph17``): the ECCV 2016 trunk with subsampling in place of its strides, and three ×2
transposed convolutions back to full resolution with shortcuts from the encoder. Its modules are
named as in the port, so the released weights load into it. :func:`huber_loss` is its training
loss. The layer table: ``docs/methods/zhang.md``.

Example:
    >>> net = SiggraphNet(width=0.125, num_classes=16).eval()
    >>> net(torch.zeros(2, 1, 16, 24)).shape
    torch.Size([2, 2, 16, 24])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...abgrid import grayscale_mask
from ...color import ZHANG, check_image
from .network import INPUT_MULTIPLE, MIN_CHANNELS, Norm, _block, _norm

__all__ = ["SiggraphNet", "SIGGRAPH_Q", "HUBER_DELTA", "INPUT_CHANNELS", "huber_loss"]

#: Classes of the released model's classification branch: the 23 × 23 cells of spacing 10 over ab in
#: [-110, 110].
SIGGRAPH_Q = 529
#: Input channels: normalised L, two ab hint channels and the hint mask.
INPUT_CHANNELS = 4
#: Huber threshold of the regression loss on ab / 110: 1 ab unit (the released training code's ``1 / ab_norm``).
HUBER_DELTA = 1.0 / ZHANG.ab_scale
#: Channels of the encoder blocks model1 … model7 and the decoder blocks model8 … model10 at width 1.
_ENCODER = (64, 128, 256, 512, 512, 512, 512)
_DECODER = (256, 128, 128)
#: 3×3 convolutions and dilation of model1 … model7 (none of them strided: the port subsamples).
_CONVS = (2, 2, 3, 3, 3, 3, 3)
_DILATION = (1, 1, 1, 1, 2, 2, 1)
#: Blocks whose output is point-sampled at stride 2 before the next one.
_SUBSAMPLED = 3
#: 3×3 convolutions of model8, model9 and model10 after their leading ReLU.
_DECODER_CONVS = (2, 1, 1)
#: The encoder block each decoder block's shortcut comes from (model3 -> model8, ...).
_SHORTCUT = (3, 2, 1)
#: Kernel of the ×2 transposed convolutions (stride 2, padding 1 doubles the size exactly).
_UP_KERNEL = 4
#: Negative slope of model10's leaky ReLU.
_LEAKY_SLOPE = 0.2
#: ab channels of the output.
_AB = 2


def _decoder_block(ch: int, convs: int, norm: Norm, last: bool) -> nn.Sequential:
    """ReLU, then ``convs`` × 3×3 conv each followed by a ReLU (a leaky one ending ``model10``), then a
    norm (not in ``model10``)."""
    layers: list[nn.Module] = [nn.ReLU(inplace=True)]
    for i in range(convs):
        layers.append(nn.Conv2d(ch, ch, 3, 1, 1))
        layers.append(nn.LeakyReLU(_LEAKY_SLOPE) if last and i == convs - 1 else nn.ReLU(inplace=True))
    if not last:
        layers.append(_norm(norm, ch))
    return nn.Sequential(*layers)


class SiggraphNet(nn.Module):
    """The SIGGRAPH 2017 generator: normalised L to normalised ab at full resolution.

    The input of blocks 2 to 4 is the previous block's output point-sampled at stride 2, as in the
    port. The classification branch ``model_class`` exists so the released weights load; it takes
    no part in the output. The network's input has four channels: normalised L, the user's ab
    hints and their mask, zero unless given.

    Args:
        width: multiplies every channel count (at least :data:`~.network.MIN_CHANNELS`).
        num_classes: outputs of the unused classification branch ``model_class``
            (:data:`SIGGRAPH_Q` in the release); not scaled.
        norm: ``'batch'`` (the release) or ``'none'``.

    Raises:
        ValueError: for ``num_classes < 1``, ``width <= 0`` or an unknown norm; in ``forward``, for
            an input that is not ``(B, 1, H, W)`` with sides multiples of 8.

    Shape:
        - Input: ``(L - 50) / 100`` ``(B, 1, H, W)``; optionally hints ``ab / 110`` ``(B, 2, H, W)``
          and their mask ``(B, 1, H, W)``.
        - Output: ``ab / 110`` ``(B, 2, H, W)`` in ``[-1, 1]`` (tanh).

    Example:
        >>> net = SiggraphNet(width=0.125, num_classes=16)
        >>> sorted(k for k in net.state_dict() if k.endswith("weight"))[:3]
        ['model1.0.weight', 'model1.2.weight', 'model1.4.weight']
    """

    def __init__(self, width: float = 1.0, num_classes: int = SIGGRAPH_Q, norm: Norm = "batch") -> None:
        super().__init__()
        if num_classes < 1 or not width > 0:
            raise ValueError(f"need num_classes >= 1 and width > 0; got {num_classes}, {width}")
        _norm(norm, 1)  # validate early
        self.num_classes = num_classes
        enc = [max(MIN_CHANNELS, round(c * width)) for c in _ENCODER]
        dec = [max(MIN_CHANNELS, round(c * width)) for c in _DECODER]
        cin = INPUT_CHANNELS
        for i, (convs, dil) in enumerate(zip(_CONVS, _DILATION, strict=True)):
            setattr(self, f"model{i + 1}", _block(cin, enc[i], convs, dil, False, norm))
            cin = enc[i]
        for j, (ch, src, convs) in enumerate(zip(dec, _SHORTCUT, _DECODER_CONVS, strict=True)):
            k = 8 + j
            setattr(self, f"model{k}up", nn.Sequential(nn.ConvTranspose2d(cin, ch, _UP_KERNEL, 2, 1)))
            setattr(self, f"model{src}short{k}", nn.Sequential(nn.Conv2d(enc[src - 1], ch, 3, 1, 1)))
            setattr(self, f"model{k}", _decoder_block(ch, convs, norm, last=k == 10))
            cin = ch
        self.model_class = nn.Sequential(nn.Conv2d(dec[0], num_classes, 1))
        self.model_out = nn.Sequential(nn.Conv2d(dec[-1], _AB, 1), nn.Tanh())

    def forward(self, x: Tensor, hints: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
        """Map normalised L ``(B, 1, H, W)`` to normalised ab ``(B, 2, H, W)`` in [-1, 1].

        Optional normalised ab hints ``(B, 2, H, W)`` and their mask ``(B, 1, H, W)`` are zeros by
        default.
        """
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"SiggraphNet takes normalised L as (B, 1, H, W); got {tuple(x.shape)}")
        if x.shape[-2] % INPUT_MULTIPLE or x.shape[-1] % INPUT_MULTIPLE:
            raise ValueError(f"H and W must be multiples of {INPUT_MULTIPLE}; got {tuple(x.shape[-2:])}")
        hints = x.new_zeros(x.shape[0], _AB, *x.shape[-2:]) if hints is None else hints
        mask = torch.zeros_like(x) if mask is None else mask
        feats = {}
        h = torch.cat((x, hints, mask), dim=1)
        for i in range(1, len(_CONVS) + 1):
            h = getattr(self, f"model{i}")(h[..., ::2, ::2] if 1 < i <= _SUBSAMPLED + 1 else h)
            feats[i] = h
        for k, src in zip(range(8, 11), _SHORTCUT, strict=True):
            h = getattr(self, f"model{k}")(getattr(self, f"model{k}up")(h)
                                           + getattr(self, f"model{src}short{k}")(feats[src]))
        return self.model_out(h)


def huber_loss(pred: Tensor, ab: Tensor, delta: float = HUBER_DELTA) -> dict[str, Tensor]:
    """Compute the regression loss of the SIGGRAPH 2017 training code.

    Per pixel, the Huber loss divided by ``delta`` (``½ e² / δ`` below ``δ``, ``|e| - δ/2`` above,
    summed over a and b: PyTorch's smooth L1 with ``beta = δ``) against the true ``ab / 110``. It is
    averaged over the pixels of the colour images; grayscale ones are masked as in
    :func:`.recipe.l2_loss`.

    Args:
        pred: ``ab / 110`` ``(B, 2, H, W)`` at full resolution.
        ab: the ground truth ``(B, 2, H, W)`` in ab units.
        delta: the Huber threshold on ``ab / 110`` (:data:`HUBER_DELTA`, 1 ab unit).

    Returns:
        ``{"loss", "colour_images"}``, scalars.

    Raises:
        ValueError: for a prediction that is not ``(B, 2, H, W)`` or differs from ``ab`` in shape.

    Example:
        >>> ab = torch.zeros(1, 2, 8, 8); ab[:, 0] = 11.0
        >>> round(float(huber_loss(torch.zeros(1, 2, 8, 8), ab)["loss"]), 6)  # 0.1 - δ/2, δ = 1/110
        0.095455
    """
    ab = ab.float()
    check_image(pred, 2, "prediction")
    if pred.shape != ab.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and ab {tuple(ab.shape)} differ in shape")
    per_pixel = F.smooth_l1_loss(pred.float(), ZHANG.encode_chroma(ab), reduction="none", beta=delta).sum(1)
    keep = (~grayscale_mask(ab)).to(per_pixel.dtype).view(-1, 1, 1).expand_as(per_pixel)
    loss = (per_pixel * keep).sum() / keep.sum().clamp_min(1.0)
    return {"loss": loss, "colour_images": keep[:, 0, 0].mean()}
