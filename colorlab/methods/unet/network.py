"""The simplified U-Net of source 001: a ResNet-50 encoder, a decoder and skip connections.

:class:`UNetResNet` takes torchvision's ResNet-50 as its encoder, unchanged but for its dropped
classifier, so ImageNet weights fit it. Its decoder of transposed convolutions with batch norm
rises back to full resolution, and a 1×1 head gives the output. The stage table: ``docs/methods/unet.md``.

Example:
    >>> from colorlab.backbones import backbone
    >>> net = UNetResNet(backbone("resnet50", "random"), out_channels=2, width=0.125)
    >>> net(torch.randn(2, 3, 64, 96)).shape
    torch.Size([2, 2, 64, 96])
"""

from __future__ import annotations

import torch  # noqa: F401 (the examples use it)
from torch import Tensor, nn

from ...backbones import Backbone

__all__ = ["UNetResNet", "INPUT_MULTIPLE", "MIN_CHANNELS", "DECODER_CHANNELS", "SKIP_CHANNELS"]

#: Input height and width must be multiples of this (five stride-2 stages in ResNet-50).
INPUT_MULTIPLE = 32
#: ``width`` never shrinks a decoder layer below this many channels.
MIN_CHANNELS = 8
#: Decoder channels at width 1, from the bottleneck's first block (1/16) to full resolution.
DECODER_CHANNELS = (512, 256, 128, 64, 32)
#: Channels of the encoder's skips at 1/16, 1/8, 1/4, 1/2 and full resolution (the input).
SKIP_CHANNELS = (1024, 512, 256, 64, 3)
#: Channels of ResNet-50's last stage (the bottleneck).
BOTTLENECK = 2048
#: Kernel of the ×2 transposed convolutions (stride 2, padding 1: exactly twice the size).
_UP_KERNEL = 4


class _Up(nn.Module):
    """×2 transposed convolution + BN + ReLU, concatenate the skip, 3×3 convolution + BN + ReLU."""

    def __init__(self, c_in: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.Sequential(nn.ConvTranspose2d(c_in, c_out, _UP_KERNEL, stride=2, padding=1, bias=False),
                                nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))
        self.mix = nn.Sequential(nn.Conv2d(c_out + c_skip, c_out, 3, padding=1, bias=False),
                                 nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.mix(torch.cat([self.up(x), skip], dim=1))


class UNetResNet(nn.Module):
    """The U-Net: a ResNet-50 encoder, a decoder scaled by ``width``, and a 1×1 head.

    Each decoder block doubles the resolution with a 4×4 transposed convolution of stride 2, batch
    norm and ReLU, concatenates the encoder's map of that resolution, and mixes them with a 3×3
    convolution, batch norm and ReLU. The last block's skip is the input itself.

    Args:
        encoder: a :class:`~colorlab.backbones.Backbone` holding torchvision's ResNet-50; its
            classifier is replaced by an identity.
        out_channels: the head's outputs: 2 for ``ab / 110``, ``Q`` for class logits.
        width: scales the decoder's channels (:data:`DECODER_CHANNELS`, never below
            :data:`MIN_CHANNELS`).

    Raises:
        ValueError: for ``width <= 0`` or ``out_channels < 1``; in ``forward``, for an input that is
            not ``(B, 3, H, W)`` with sides multiples of :data:`INPUT_MULTIPLE`.

    Shape:
        - Input: the gray image as an ImageNet classifier expects it, ``(B, 3, H, W)``
          (:data:`colorlab.color.IMAGENET_GRAY`).
        - Output: ``(B, out_channels, H, W)``.
    """

    def __init__(self, encoder: Backbone, out_channels: int, width: float = 1.0) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError(f"width must be positive; got {width}")
        if out_channels < 1:
            raise ValueError(f"out_channels must be positive; got {out_channels}")
        self.encoder = encoder
        encoder.net.fc = nn.Identity()  # ImageNet's classifier is not part of the U-Net (2M parameters unused)
        chans = [max(MIN_CHANNELS, round(c * width)) for c in DECODER_CHANNELS]
        ins = [BOTTLENECK, *chans[:-1]]
        self.decoder = nn.ModuleList(_Up(i, s, o) for i, s, o in zip(ins, SKIP_CHANNELS, chans, strict=True))
        self.head = nn.Conv2d(chans[-1], out_channels, 1)

    def features(self, x: Tensor) -> list[Tensor]:
        """Return the encoder's maps from full resolution (the input) to 1/32 (the bottleneck)."""
        r = self.encoder.net
        f1 = r.relu(r.bn1(r.conv1(x)))
        f2 = r.layer1(r.maxpool(f1))
        f3 = r.layer2(f2)
        f4 = r.layer3(f3)
        return [x, f1, f2, f3, f4, r.layer4(f4)]

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != SKIP_CHANNELS[-1]:
            raise ValueError(f"UNetResNet takes (B, 3, H, W); got {tuple(x.shape)}")
        if x.shape[-2] % INPUT_MULTIPLE or x.shape[-1] % INPUT_MULTIPLE:
            raise ValueError(f"UNetResNet needs H and W multiples of {INPUT_MULTIPLE}; got {tuple(x.shape[-2:])}")
        *skips, y = self.features(x)
        for block, skip in zip(self.decoder, reversed(skips), strict=True):
            y = block(y, skip)
        return self.head(y)
