"""pix2pix's networks: the U-Net generator, the PatchGAN discriminator and their losses.

As in junyanz/pytorch-CycleGAN-and-pix2pix ``models/networks.py`` (Isola et al. 2017).
:class:`UNetGenerator` is the U-Net with skip connections and dropout, :class:`PatchDiscriminator`
the 70×70 PatchGAN, :func:`init_weights` the official ``normal`` initialisation, and
:func:`gan_loss` and :func:`patch_accuracy` the ``vanilla`` and ``lsgan`` objectives and how often
the discriminator is right. Layer by layer: ``docs/methods/pix2pix.md``.

Example:
    >>> g = UNetGenerator(1, 2, num_downs=3, ngf=4)
    >>> g(torch.rand(2, 1, 16, 24)).shape
    torch.Size([2, 2, 16, 24])
    >>> d = PatchDiscriminator(3, ndf=4)
    >>> d(torch.rand(2, 3, 64, 64)).shape, receptive_field(3)
    (torch.Size([2, 1, 6, 6]), 70)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...errors import check_choice

__all__ = ["UNetGenerator", "PatchDiscriminator", "init_weights", "receptive_field", "gan_loss", "patch_accuracy",
           "GAN_MODES", "INIT_GAIN", "DROPOUT", "LEAK", "MAX_WIDTH_MULT"]

#: The GAN objectives: ``vanilla`` (cross entropy of the logits, pix2pix's) and ``lsgan`` (least squares).
GAN_MODES = ("vanilla", "lsgan")
#: Standard deviation of the official ``normal`` initialisation.
INIT_GAIN = 0.02
#: Dropout of the generator's inner decoder levels (the official ``use_dropout``).
DROPOUT = 0.5
#: Negative slope of the LeakyReLUs (encoder and discriminator).
LEAK = 0.2
#: Widths grow ``ngf, 2 ngf, 4 ngf, 8 ngf`` and stay at ``8 ngf`` below (``ndf`` likewise).
MAX_WIDTH_MULT = 8
_KERNEL = 4


def _width(base: int, depth: int) -> int:
    return base * min(2 ** depth, MAX_WIDTH_MULT)


class _SkipBlock(nn.Module):
    """One U-Net level: down, the inner levels, up; its input concatenated to its output (but the
    outermost's)."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None, *, in_channels: int | None = None,
                 outermost: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.outermost = outermost
        down_conv = nn.Conv2d(in_channels or outer, inner, _KERNEL, 2, 1, bias=False)
        up_in = inner if sub is None else 2 * inner
        if outermost:
            down: list[nn.Module] = [down_conv]
            up: list[nn.Module] = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, _KERNEL, 2, 1), nn.Tanh()]
        elif sub is None:  # innermost: no norm on its 1x1 code
            down = [nn.LeakyReLU(LEAK, True), down_conv]
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, _KERNEL, 2, 1, bias=False), nn.BatchNorm2d(outer)]
        else:
            down = [nn.LeakyReLU(LEAK, True), down_conv, nn.BatchNorm2d(inner)]
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, _KERNEL, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            if dropout:
                up.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    """pix2pix's U-Net generator; ``num_downs = 8`` and ``ngf = 64`` is the official ``unet_256``.

    ``num_downs`` stride-2 4×4 convolutions go down to ``H / 2**num_downs``, and their mirror of
    transposed convolutions comes back up, each level's encoder features concatenated to its
    decoder's. The widths are ``ngf, 2 ngf, 4 ngf, 8 ngf, 8 ngf, ...``. LeakyReLU(0.2) down, ReLU
    up, batch norm everywhere but the outermost convolutions and the innermost encoder, tanh out.
    Levels 5 to ``num_downs - 1``, counted from the outside, carry dropout, as in the official code
    (its only noise: pix2pix has no input z).

    Args:
        in_channels: input channels (1: normalised L).
        out_channels: output channels (2: normalised ab).
        num_downs: levels, at least 2.
        ngf: the first level's width.
        dropout: dropout of the inner ``8 ngf`` decoder levels.

    Raises:
        ValueError: for ``num_downs < 2``; in ``forward``, for sides not multiples of ``2**num_downs``.

    Shape:
        - Input: ``(B, in_channels, H, W)``, ``H`` and ``W`` multiples of ``2**num_downs``.
        - Output: ``(B, out_channels, H, W)`` in ``[-1, 1]``.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 2, num_downs: int = 8, ngf: int = 64,
                 dropout: float = DROPOUT) -> None:
        super().__init__()
        if num_downs < 2:
            raise ValueError(f"num_downs must be at least 2; got {num_downs}")
        self.num_downs = num_downs
        block: _SkipBlock | None = None
        for depth in range(num_downs - 1, 0, -1):  # depth d: outer width _width(d - 1), inner _width(d)
            inner_most = block is None
            drop = dropout if depth >= 4 and not inner_most else 0.0
            block = _SkipBlock(_width(ngf, depth - 1), _width(ngf, depth), block, dropout=drop)
        self.model = _SkipBlock(out_channels, ngf, block, in_channels=in_channels, outermost=True)

    @property
    def multiple(self) -> int:
        """The multiple the input sides must be, ``2**num_downs``."""
        return 2 ** self.num_downs

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h % self.multiple or w % self.multiple:
            raise ValueError(f"UNetGenerator: input sides must be multiples of {self.multiple} "
                             f"(2**num_downs); got {h}x{w}")
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """The PatchGAN discriminator: a map of real/fake logits, one per overlapping patch.

    Each logit sees a patch of :func:`receptive_field` ``(n_layers)`` pixels: 70 for the official
    ``n_layers = 3``.

    Args:
        in_channels: input channels (3: L and ab, concatenated).
        ndf: the first layer's width; widths double up to ``8 ndf``.
        n_layers: the stride-2 4×4 convolutions, followed by two stride-1 ones; at least 1.

    Raises:
        ValueError: for ``n_layers < 1``.

    Shape:
        - Input: ``(B, in_channels, H, W)``, ``H`` and ``W`` at least ``3 · 2**n_layers`` for a map
          of at least one patch.
        - Output: ``(B, 1, h, w)`` logits.
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1; got {n_layers}")
        self.n_layers = n_layers
        seq: list[nn.Module] = [nn.Conv2d(in_channels, ndf, _KERNEL, 2, 1), nn.LeakyReLU(LEAK, True)]
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            seq += [nn.Conv2d(_width(ndf, n - 1), _width(ndf, n), _KERNEL, stride, 1, bias=False),
                    nn.BatchNorm2d(_width(ndf, n)), nn.LeakyReLU(LEAK, True)]
        seq.append(nn.Conv2d(_width(ndf, n_layers), 1, _KERNEL, 1, 1))
        self.model = nn.Sequential(*seq)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def receptive_field(n_layers: int) -> int:
    """Compute the side in pixels of the input patch each logit of :class:`PatchDiscriminator` sees.

    The discriminator has ``n_layers`` stride-2 4×4 convolutions, then two stride-1 ones; the
    field is walked back from one output pixel.

    Args:
        n_layers: the discriminator's ``n_layers``.

    Returns:
        The patch's side in pixels.

    Example:
        >>> [receptive_field(n) for n in (1, 2, 3, 4)]
        [16, 34, 70, 142]
    """
    strides = [2] * n_layers + [1, 1]
    field = 1
    for s in reversed(strides):
        field = (field - 1) * s + _KERNEL
    return field


def init_weights(net: nn.Module, gain: float = INIT_GAIN) -> nn.Module:
    """Initialise a network as the official ``init_type='normal'`` does, drawing from the global RNG.

    Convolution and linear weights are drawn from N(0, ``gain``), batch-norm scales from
    N(1, ``gain``), and every bias is 0.

    Args:
        net: the network, initialised in place.
        gain: the standard deviation.

    Returns:
        ``net``.

    Example:
        >>> net = init_weights(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
        >>> net[0].bias.tolist(), net[1].bias.tolist()
        ([0.0, 0.0], [0.0, 0.0])
    """
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net


def gan_loss(pred: Tensor, real: bool, mode: str = "vanilla") -> Tensor:
    """Compute the GAN objective of a discriminator's output against a label.

    ``vanilla`` is the binary cross entropy of the logits; ``lsgan`` the squared distance to 1
    (real) or 0 (fake). Both are averaged over the patches.

    Args:
        pred: the discriminator's map of patch logits ``(B, 1, h, w)``.
        real: the label: real (``True``) or fake.
        mode: ``'vanilla'`` or ``'lsgan'`` (:data:`GAN_MODES`).

    Returns:
        A scalar.

    Raises:
        ValueError: for an unknown mode.

    Example:
        >>> x = torch.zeros(1, 1, 2, 2)
        >>> round(gan_loss(x, True).item(), 4), gan_loss(x, False, "lsgan").item()
        (0.6931, 0.0)
    """
    check_choice("gan_mode", mode, GAN_MODES)
    target = torch.full_like(pred, 1.0 if real else 0.0)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(pred, target)
    return F.mse_loss(pred, target)


def patch_accuracy(pred: Tensor, real: bool, mode: str = "vanilla") -> Tensor:
    """Compute the share of patches the discriminator calls right.

    A patch is called real when its logit is above 0 (``vanilla``) or its output above 0.5
    (``lsgan``).

    Args:
        pred: the discriminator's output ``(B, 1, h, w)``.
        real: whether the pairs shown were real.
        mode: ``'vanilla'`` or ``'lsgan'``.

    Returns:
        A scalar in ``[0, 1]``, detached.

    Example:
        >>> patch_accuracy(torch.tensor([[-1.0, 2.0, 3.0, 0.5]]), True).item()
        0.75
    """
    threshold = 0.0 if mode == "vanilla" else 0.5
    said_real = pred.detach().float() > threshold
    return (said_real if real else ~said_real).float().mean()
