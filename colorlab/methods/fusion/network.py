"""Source 002's colourisation CNN, the fusion layer and the two global branches.

:class:`Colorizer` is the source's network (psaikko/colorize, after Johnson et al.'s
style-transfer network, with batch norm). :class:`FusionLayer` tiles a global feature vector onto
every pixel of its middle layer (Iizuka et al. 2016). The global vector comes from
:class:`ResNetGlobal` (ResNet-50's pooled features) or :class:`JointGlobal` (a small network trained
jointly). Both see the whole photo, scaled by :func:`scale_context`. The layers in detail:
``docs/methods/fusion.md``.

Example:
    >>> net = Colorizer(base=4, out_channels=2, residual_blocks=1, global_dim=8)
    >>> net(torch.rand(2, 1, 16, 24), torch.rand(2, 8)).shape
    torch.Size([2, 2, 16, 24])
    >>> JointGlobal(base=4, dim=8)(torch.rand(2, 1, 32, 32)).shape
    torch.Size([2, 8])
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...backbones import backbone
from ...color import imagenet_gray

__all__ = ["INPUT_MULTIPLE", "RESIDUAL_BLOCKS", "RESNET_DIM", "FusionLayer", "Colorizer", "JointGlobal",
           "ResNetGlobal"]

#: The encoder's two stride-2 convolutions: H and W must be multiples of 4.
INPUT_MULTIPLE = 4
#: Residual blocks of the source's network.
RESIDUAL_BLOCKS = 5
#: Features of ResNet-50's global average pool.
RESNET_DIM = 2048
#: Kernel of the first and last convolutions (the style-transfer network's).
WIDE_KERNEL = 9


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1, mode: str = "zeros") -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False, padding_mode=mode), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(ch, ch, mode="reflect"),
                                  nn.Conv2d(ch, ch, 3, 1, 1, bias=False, padding_mode="reflect"), nn.BatchNorm2d(ch))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class FusionLayer(nn.Module):
    """The fusion layer: ``relu(bn(conv1x1(cat(x, tile(g)))))``, computed without tiling.

    It is computed as ``W_x x + W_g g`` broadcast over the pixels: the same function as the 1×1
    convolution over the concatenation, without building the tiled tensor (:meth:`as_conv` gives
    that convolution).

    Args:
        channels: ``C``, the local features' channels, in and out.
        global_dim: ``D``, the global vector's length.

    Raises:
        ValueError: in ``forward``, when ``g`` is not ``(B, D)``.

    Shape:
        - Input: local features ``x`` ``(B, C, h, w)`` and a global vector ``g`` ``(B, D)``.
        - Output: ``(B, C, h, w)``.

    Example:
        >>> f = FusionLayer(4, 3).eval()
        >>> x, g = torch.rand(2, 4, 5, 6), torch.rand(2, 3)
        >>> tiled = torch.cat([x, g[:, :, None, None].expand(-1, -1, 5, 6)], dim=1)
        >>> torch.allclose(f(x, g), torch.relu(f.norm(f.as_conv()(tiled))), atol=1e-6)
        True
    """

    def __init__(self, channels: int, global_dim: int) -> None:
        super().__init__()
        self.local = nn.Conv2d(channels, channels, 1, bias=False)
        self.glob = nn.Linear(global_dim, channels)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor, g: Tensor) -> Tensor:
        if g.ndim != 2 or g.shape[0] != x.shape[0] or g.shape[1] != self.glob.in_features:
            raise ValueError(
                f"fusion: global features must be ({x.shape[0]}, {self.glob.in_features}); got {tuple(g.shape)}")
        return torch.relu(self.norm(self.local(x) + self.glob(g.to(x.dtype))[:, :, None, None]))

    def as_conv(self) -> nn.Conv2d:
        """Return the 1×1 convolution over ``cat(x, tile(g))`` that this layer computes (a copy)."""
        c, d = self.local.out_channels, self.glob.in_features
        conv = nn.Conv2d(c + d, c, 1).to(self.local.weight)
        with torch.no_grad():
            conv.weight.copy_(torch.cat([self.local.weight, self.glob.weight[:, :, None, None]], dim=1))
            conv.bias.copy_(self.glob.bias)
        return conv


class Colorizer(nn.Module):
    """The source's CNN, with a fusion layer in the middle when built with ``global_dim``.

    A 9×9 convolution, two stride-2 3×3 convolutions to 1/4 resolution, the fusion layer, residual
    blocks, two stride-2 transposed 3×3 convolutions back to full resolution, and a 9×9 convolution
    with batch norm and tanh. The other convolutions are followed by batch norm and ReLU (the second
    of each residual block by batch norm alone). The residual convolutions pad by reflection.

    Args:
        base: the width: ``base, 2·base, 4·base`` channels.
        out_channels: 2 (U, V) or 3 (R, G, B).
        residual_blocks: residual blocks at 1/4 resolution (:data:`RESIDUAL_BLOCKS` in the source).
        global_dim: ``D``, the global features' length; ``None`` for no fusion layer.

    Raises:
        ValueError: for ``base < 1``, ``residual_blocks < 0`` or ``out_channels`` not 2 or 3; in
            ``forward``, for a bad input shape, or global features given without a fusion layer
            or missing with one.

    Shape:
        - Input: ``Y`` ``(B, 1, H, W)`` in ``[0, 1]``, ``H`` and ``W`` multiples of
          :data:`INPUT_MULTIPLE`; global features ``(B, D)`` with a fusion layer.
        - Output: ``(B, out_channels, H, W)`` in ``[-1, 1]``.
    """

    def __init__(self, base: int = 32, out_channels: int = 2, residual_blocks: int = RESIDUAL_BLOCKS,
                 global_dim: int | None = None) -> None:
        super().__init__()
        if base < 1 or residual_blocks < 0 or out_channels not in (2, 3):
            raise ValueError(f"Colorizer: base >= 1, residual_blocks >= 0 and 2 or 3 outputs; got base={base}, "
                             f"residual_blocks={residual_blocks}, out_channels={out_channels}")
        b = base
        self.encoder = nn.Sequential(_conv(1, b, WIDE_KERNEL), _conv(b, 2 * b, stride=2),
                                     _conv(2 * b, 4 * b, stride=2))
        self.fusion = FusionLayer(4 * b, global_dim) if global_dim else None
        self.middle = nn.Sequential(*(_Residual(4 * b) for _ in range(residual_blocks)))
        self.decoder = nn.Sequential(_up(4 * b, 2 * b), _up(2 * b, b))
        self.head = nn.Sequential(nn.Conv2d(b, out_channels, WIDE_KERNEL, 1, WIDE_KERNEL // 2, bias=False),
                                  nn.BatchNorm2d(out_channels), nn.Tanh())

    def forward(self, y: Tensor, g: Tensor | None = None) -> Tensor:
        if y.ndim != 4 or y.shape[1] != 1:
            raise ValueError(f"Colorizer takes Y as (B, 1, H, W); got {tuple(y.shape)}")
        if y.shape[-1] % INPUT_MULTIPLE or y.shape[-2] % INPUT_MULTIPLE:
            raise ValueError(f"H and W must be multiples of {INPUT_MULTIPLE}; got {tuple(y.shape[-2:])}")
        if (g is None) != (self.fusion is None):
            raise ValueError("global features are needed with a fusion layer, and only with one")
        x = self.encoder(y)
        if self.fusion is not None:
            x = self.fusion(x, g)
        return self.head(self.decoder(self.middle(x)))


def scale_context(context: Tensor, size: int) -> Tensor:
    """Scale a luminance image to the global branch's view, bilinearly with antialiasing.

    Args:
        context: luminance ``(B, 1, h, w)``.
        size: the side of the view.

    Returns:
        ``(B, 1, size, size)``; ``context`` itself when it already has that size.

    Raises:
        ValueError: for an input that is not ``(B, 1, h, w)``.

    Example:
        >>> scale_context(torch.rand(2, 1, 40, 60), 32).shape
        torch.Size([2, 1, 32, 32])
    """
    if context.ndim != 4 or context.shape[1] != 1:
        raise ValueError(f"a global branch takes the luminance as (B, 1, H, W); got {tuple(context.shape)}")
    if tuple(context.shape[-2:]) == (size, size):
        return context
    return F.interpolate(context, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


class JointGlobal(nn.Module):
    """Global features learnt with the colouriser, from scratch (Iizuka et al.).

    Four stride-2 3×3 convolutions with batch norm and ReLU, average pooled, then a linear layer
    and ReLU. It needs no pretrained weights.

    Args:
        base: the width: ``base, 2·base, 4·base, 8·base`` channels.
        dim: the features' length.

    Shape:
        - Input: luminance ``(B, 1, S, S)`` in ``[0, 1]``.
        - Output: ``(B, dim)``.
    """

    def __init__(self, base: int = 32, dim: int = 256) -> None:
        super().__init__()
        chans = [1, base, 2 * base, 4 * base, 8 * base]
        self.convs = nn.Sequential(*(_conv(chans[i], chans[i + 1], stride=2) for i in range(4)))
        self.fc = nn.Sequential(nn.Linear(chans[-1], dim), nn.ReLU(inplace=True))
        self.dim = dim

    def forward(self, y: Tensor) -> Tensor:
        return self.fc(self.convs(y).mean((-2, -1)))


class ResNetGlobal(nn.Module):
    """ResNet-50's pooled features of the gray image, its classifier dropped.

    The gray image is replicated to three channels and normalised by ImageNet's mean and std
    (:func:`colorlab.color.imagenet_gray`), as the pretrained weights expect.

    Args:
        weights: ``'imagenet'``, ``'random'`` or a file, as :func:`colorlab.backbones.backbone`
            takes them.
        frozen: no gradients, and batch norm in eval mode whatever the module's mode.

    Shape:
        - Input: luminance ``(B, 1, S, S)`` in ``[0, 1]`` (a YUV ``Y``, the gray's sRGB value).
        - Output: ``(B, 2048)``.
    """

    dim = RESNET_DIM

    def __init__(self, weights: str = "imagenet", frozen: bool = True) -> None:
        super().__init__()
        self.backbone = backbone("resnet50", weights)
        self.backbone.net.fc = nn.Identity()  # the pooled features, not ImageNet's classes
        self.frozen = frozen
        if frozen:
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    def train(self, mode: bool = True) -> ResNetGlobal:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, y: Tensor) -> Tensor:
        return self.backbone(imagenet_gray(y))
