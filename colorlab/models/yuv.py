"""The convolutional encoder–decoder of the YUV notebooks (sources 000 and 002).

Input ``Y`` ``(B, 1, H, W)`` in ``[0, 1]``; output ``U/U_MAX, V/V_MAX`` ``(B, 2, H, W)`` in
``[-1, 1]`` (:data:`colorlab.color.YUV`). Three stride-2 encoder stages, two residual blocks at
1/8 resolution, three transposed-convolution decoder stages with skip connections, a tanh
head. ``norm`` selects batch normalisation (source 002's choice, because "we care about the
relative brightness of images") or instance normalisation (the style-transfer network it
started from), for the ablation row.

Example:
    >>> net = YUVNet(base=8)
    >>> net(torch.rand(2, 1, 32, 32)).shape
    torch.Size([2, 2, 32, 32])
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = ["YUVNet"]

Norm = Literal["batch", "instance"]
_STAGES = 3  # encoder downsamplings: H and W must be multiples of 2**_STAGES


def _norm(kind: Norm, ch: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=True)
    raise ValueError(f"norm must be 'batch' or 'instance'; got {kind!r}")


def _block(cin: int, cout: int, norm: Norm, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), _norm(norm, cout), nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, ch: int, norm: Norm) -> None:
        super().__init__()
        self.body = nn.Sequential(_block(ch, ch, norm), nn.Conv2d(ch, ch, 3, 1, 1, bias=False), _norm(norm, ch))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x + self.body(x))


class YUVNet(nn.Module):
    """Encoder–decoder regressing normalised U, V from Y; ``base`` sets the width (channels
    ``base, 2·base, 4·base, 8·base``)."""

    def __init__(self, base: int = 32, norm: Norm = "batch", residual_blocks: int = 2) -> None:
        super().__init__()
        _norm(norm, 1)  # validate early
        chans = [base * 2**i for i in range(_STAGES + 1)]
        self.stem = _block(1, chans[0], norm)
        self.down = nn.ModuleList(_block(chans[i], chans[i + 1], norm, stride=2) for i in range(_STAGES))
        self.middle = nn.Sequential(*(_Residual(chans[-1], norm) for _ in range(residual_blocks)))
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(chans[i + 1], chans[i], 4, 2, 1, bias=False), _norm(norm, chans[i]), nn.ReLU(inplace=True))
            for i in reversed(range(_STAGES))
        )
        self.fuse = nn.ModuleList(_block(2 * chans[i], chans[i], norm) for i in reversed(range(_STAGES)))
        self.head = nn.Conv2d(chans[0], 2, 1)

    def forward(self, y: Tensor) -> Tensor:
        if y.ndim != 4 or y.shape[1] != 1:
            raise ValueError(f"YUVNet takes Y as (B, 1, H, W); got {tuple(y.shape)}")
        if y.shape[-1] % 2**_STAGES or y.shape[-2] % 2**_STAGES:
            raise ValueError(f"H and W must be multiples of {2**_STAGES}; got {tuple(y.shape[-2:])}")
        x = self.stem(y)
        skips = [x]
        for down in self.down:
            x = down(x)
            skips.append(x)
        x = self.middle(skips.pop())
        for up, fuse in zip(self.up, self.fuse, strict=True):
            x = fuse(torch.cat([up(x), skips.pop()], dim=1))
        return torch.tanh(self.head(x))
