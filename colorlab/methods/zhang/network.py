"""The network of Zhang, Isola, Efros (2016), "Colorful Image Colorization" (ECCV).

The VGG-style fully convolutional network of the official Caffe model
(``colorization_deploy_v2.prototxt``) and its PyTorch port (``eccv16``):

====== ===================== ======== ========== ==========================
block  3×3 convs             channels dilation   resolution after the block
====== ===================== ======== ========== ==========================
conv1  2 (2nd has stride 2)  64       1          1/2
conv2  2 (2nd has stride 2)  128      1          1/4
conv3  3 (3rd has stride 2)  256      1          1/8
conv4  3                     512      1          1/8
conv5  3                     512      2          1/8
conv6  3                     512      2          1/8
conv7  3                     512      1          1/8
conv8  4×4 transposed ×2 + 2 256      1          1/4
====== ===================== ======== ========== ==========================

Every convolution is followed by a ReLU; conv1–conv7 end with a batch norm, conv8 has none
(as in the official model, whose batch norms are also only after the last ReLU of a block).
A 1×1 convolution maps conv8 to ``num_classes`` logits at 1/4 resolution (``head='class'``),
or to two normalised ab channels (``head='regress'``, the paper's L2 baseline). At
``width=1, num_classes=313`` the class network has 32,235,385 parameters: the Caffe model's
32,230,393 plus the 4,992 affine parameters of PyTorch's batch norms (Caffe's have none).
Modules are named and indexed as in the port (``model1`` … ``model8``, the 1×1 head being
``model8[6]``), so at ``width=1, num_classes=313`` its ``state_dict`` keys and shapes match the
released PyTorch weights (load with ``strict=False``: the port's extra ``model_out`` is the
fixed bin-centre expectation, :func:`colorlab.abgrid.decode_expectation` at ``T = 1``).

Input: normalised luminance ``(L - 50) / 100`` (:data:`colorlab.color.ZHANG`), ``(B, 1, H, W)``
with ``H`` and ``W`` multiples of :data:`INPUT_MULTIPLE`.

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
    """Zhang et al.'s colourisation network: normalised L ``(B, 1, H, W)`` to 1/4-resolution outputs.

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

    Example:
        >>> net = ZhangNet(width=0.25)
        >>> net(torch.zeros(1, 1, 64, 64)).shape
        torch.Size([1, 313, 16, 16])
    """

    def __init__(self, num_classes: int = PAPER_Q, width: float = 1.0, head: Head = "class", norm: Norm = "batch") -> None:
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
        """Normalised L ``(B, 1, H, W)`` to logits ``(B, Q, H/4, W/4)`` or normalised ab ``(B, 2, H/4, W/4)``."""
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"ZhangNet takes normalised L as (B, 1, H, W); got {tuple(x.shape)}")
        if x.shape[-2] % INPUT_MULTIPLE or x.shape[-1] % INPUT_MULTIPLE:
            raise ValueError(f"H and W must be multiples of {INPUT_MULTIPLE}; got {tuple(x.shape[-2:])}")
        for i in range(1, 9):
            x = getattr(self, f"model{i}")(x)
        return x

