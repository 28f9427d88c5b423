"""The network of Zhang, Isola and Efros (2016), "Colorful Image Colorization" (ECCV).

:class:`ZhangNet` is the VGG-style fully convolutional network of the official Caffe model
(``colorization_deploy_v2.prototxt``) and its PyTorch port (``eccv16``), scaled by ``width``. Its
modules are named as in the port, so at ``width=1, num_classes=313`` the released weights load into
it. The layer table and the parameter count: ``docs/methods/zhang.md``.

Example:
    >>> net = ZhangNet(num_classes=262, width=0.125)
    >>> net(torch.randn(2, 1, 32, 48)).shape
    torch.Size([2, 262, 8, 12])
    >>> ZhangNet(head="regress", width=0.125)(torch.randn(1, 1, 16, 16)).shape
    torch.Size([1, 2, 4, 4])
"""

from __future__ import annotations

from typing import Literal

import torch  # noqa: F401 (the examples use it)
from torch import Tensor, nn

__all__ = ["ZhangNet", "PAPER_Q", "OUTPUT_STRIDE", "INPUT_MULTIPLE", "MIN_CHANNELS"]

Head = Literal["class", "regress"]
Norm = Literal["batch", "none"]

#: Number of ab bins in the paper and in its released ``pts_in_hull.npy``.
PAPER_Q = 313
#: The output is this many times smaller than the input in each dimension.
OUTPUT_STRIDE = 4
#: Input height and width must be multiples of this (three stride-2 convolutions).
INPUT_MULTIPLE = 8
#: ``width`` never shrinks a layer below this many channels.
MIN_CHANNELS = 8
#: Paper channel counts of conv1 … conv8.
_CHANNELS = (64, 128, 256, 512, 512, 512, 512, 256)
#: Number of 3×3 convolutions in conv1 … conv7 and the dilation of each block.
_CONVS = (2, 2, 3, 3, 3, 3, 3)
_DILATION = (1, 1, 1, 1, 2, 2, 1)
#: Blocks whose last 3×3 convolution has stride 2.
_STRIDED = (True, True, True, False, False, False, False)
#: Plain 3×3 convolutions of conv8 after its transposed convolution.
_CONV8_CONVS = 2
#: Kernel of conv8's ×2 transposed convolution (stride 2, padding 1 doubles the size exactly).
_UP_KERNEL = 4
#: ab channels of the regression head.
_AB = 2


def _norm(kind: Norm, ch: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'batch' or 'none'; got {kind!r}")


def _block(cin: int, cout: int, convs: int, dilation: int, strided: bool, norm: Norm) -> nn.Sequential:
    """``convs`` × (3×3 conv + ReLU), the last one strided if ``strided``, then a norm layer."""
    layers: list[nn.Module] = []
    for i in range(convs):
        stride = 2 if strided and i == convs - 1 else 1
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride, dilation, dilation), nn.ReLU(inplace=True)]
    layers.append(_norm(norm, cout))
    return nn.Sequential(*layers)


class ZhangNet(nn.Module):
    """Zhang et al.'s colourisation network: normalised L to outputs at 1/4 resolution.

    Eight blocks ``model1`` … ``model8`` as in the port: three stride-2 blocks to 1/8, dilated
    conv5 and conv6, a ×2 transposed convolution in conv8, and a 1×1 head (``model8[6]``).

    Args:
        num_classes: ``Q``, the number of ab bins (:data:`PAPER_Q` = 313 by default;
            :func:`colorlab.abgrid.ab_gamut_bins` gives 262).
        width: multiplies every channel count (at least :data:`MIN_CHANNELS`); 0.125–0.25 for
            quick CPU runs. ``num_classes`` is not scaled.
        head: ``'class'``: logits ``(B, Q, H/4, W/4)`` for the cross-entropy losses;
            ``'regress'``: normalised ab ``(B, 2, H/4, W/4)`` (``ab / 110``), a *linear* 1×1
            output as in the paper's L2 baseline: no tanh, so the loss alone decides the range
            and the saturated blues near ``b/110 ≈ -1`` keep a useful gradient.
        norm: ``'batch'`` (the paper) or ``'none'``.

    Raises:
        ValueError: for an unknown head or norm, ``num_classes < 1`` or ``width <= 0``; in
            ``forward``, for an input that is not ``(B, 1, H, W)`` with sides multiples of
            :data:`INPUT_MULTIPLE`.

    Shape:
        - Input: ``(L - 50) / 100`` ``(B, 1, H, W)`` (:data:`colorlab.color.ZHANG`).
        - Output: logits ``(B, Q, H/4, W/4)``, or normalised ab ``(B, 2, H/4, W/4)``.

    Example:
        >>> net = ZhangNet(width=0.25)
        >>> net(torch.zeros(1, 1, 64, 64)).shape
        torch.Size([1, 313, 16, 16])
    """

    def __init__(self, num_classes: int = PAPER_Q, width: float = 1.0, head: Head = "class",
                 norm: Norm = "batch") -> None:
        super().__init__()
        if head not in ("class", "regress"):
            raise ValueError(f"head must be 'class' or 'regress'; got {head!r}")
        if num_classes < 1 or not width > 0:
            raise ValueError(f"need num_classes >= 1 and width > 0; got {num_classes}, {width}")
        _norm(norm, 1)  # validate early
        self.head_kind: Head = head
        self.num_classes = num_classes
        ch = [max(MIN_CHANNELS, round(c * width)) for c in _CHANNELS]
        cin = 1
        for i, (convs, dil, strided) in enumerate(zip(_CONVS, _DILATION, _STRIDED, strict=True)):
            setattr(self, f"model{i + 1}", _block(cin, ch[i], convs, dil, strided, norm))
            cin = ch[i]
        up: list[nn.Module] = [nn.ConvTranspose2d(cin, ch[7], _UP_KERNEL, 2, 1), nn.ReLU(inplace=True)]
        for _ in range(_CONV8_CONVS):
            up += [nn.Conv2d(ch[7], ch[7], 3, 1, 1), nn.ReLU(inplace=True)]
        up.append(nn.Conv2d(ch[7], num_classes if head == "class" else _AB, 1))
        self.model8 = nn.Sequential(*up)

    @property
    def head(self) -> nn.Conv2d:
        """The final 1×1 convolution (the last layer of ``model8``, as in the port)."""
        return self.model8[-1]

    @property
    def out_channels(self) -> int:
        """``Q`` for the class head, 2 for the regression head."""
        return self.head.out_channels

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(L - 50) / 100`` ``(B, 1, H, W)`` to logits ``(B, Q, H/4, W/4)`` or ``ab / 110``."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"ZhangNet takes normalised L as (B, 1, H, W); got {tuple(x.shape)}")
        if x.shape[-2] % INPUT_MULTIPLE or x.shape[-1] % INPUT_MULTIPLE:
            raise ValueError(f"H and W must be multiples of {INPUT_MULTIPLE}; got {tuple(x.shape[-2:])}")
        for i in range(1, 9):
            x = getattr(self, f"model{i}")(x)
        return x

