"""Larsson et al.'s network: VGG-16 hypercolumns feeding a small per-pixel head.

:class:`VGGTrunk` is VGG-16 with batch norm, fc6 and fc7 made convolutional and fc8 discarded; it
returns the maps of the named :data:`LAYERS`. :class:`Hypercolumn` reads every layer at the
points asked for and applies the head's first, linear layer, in whichever order is cheaper per
layer. :class:`HypercolumnNet` joins them with the rest of the head. How the hypercolumn is read,
sparsely and densely: ``docs/methods/larsson.md``.

Example:
    >>> net = HypercolumnNet(VGGTrunk.build(width=1 / 16), out_channels=64, width=1 / 16).eval()
    >>> x = torch.randn(2, 3, 64, 32)
    >>> net(x).shape, net(x, pixel_grid(2, 64, 32)[:, :1, :5]).shape
    (torch.Size([2, 64, 64, 32]), torch.Size([2, 64, 1, 5]))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.vgg import cfgs, make_layers

__all__ = ["LAYERS", "INPUT_MULTIPLE", "FC_CHANNELS", "HIDDEN", "CHUNK", "VGGTrunk", "Hypercolumn", "HypercolumnNet",
           "pixel_grid", "sample_points", "read_at"]

#: Every layer the paper's hypercolumn reads (the official ``columns`` layer): the input, the 13
#: convolutions and the convolutional fc6 and fc7; the input multiple of each is its stride.
LAYERS = ("data", "conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3", "conv4_1", "conv4_2",
          "conv4_3", "conv5_1", "conv5_2", "conv5_3", "fc6", "fc7")
#: Inputs are multiples of this (five 2×2 max-pools).
INPUT_MULTIPLE = 32
#: Channels of fc6 and fc7 at ``width = 1``.
FC_CHANNELS = 4096
#: Channels of the head's hidden layer at ``width = 1`` (the official ``colorize_fc1``).
HIDDEN = 1024
#: Pixels read at a time when every pixel is read: bounds the memory of a large image.
CHUNK = 1 << 16
#: VGG-16's convolution channels (configuration "D"), 'M' a 2×2 max-pool.
_CFG = cfgs["D"]


def _conv_names() -> list[str]:
    names, stage, i = [], 1, 1
    for v in _CFG:
        if v == "M":
            stage, i = stage + 1, 1
        else:
            names.append(f"conv{stage}_{i}")
            i += 1
    return names


def scaled(channels: int, width: float) -> int:
    """Return ``channels × width``, rounded, at least 1."""
    return max(1, round(channels * width))


class VGGTrunk(nn.Module):
    """VGG-16-BN's convolutions and its fc6 and fc7 as convolutions; returns the maps of ``layers``.

    The official training net (gustavla/autocolorize ``train/train_vgg16.prototxt``) also puts a
    batch norm after every convolution. Use :meth:`build` for a random trunk of any width and
    :meth:`from_torchvision` for one with torchvision's weights.

    Args:
        features: torchvision's ``vgg16_bn`` ``features`` (its layout and indices).
        fc6: a 7×7 convolution (the classifier's fc6).
        fc7: a 1×1 convolution (the classifier's fc7); each is followed by batch norm, ReLU and
            dropout.
        layers: the layers to return, a non-empty subset of :data:`LAYERS`.
        dropout: dropout after fc6 and fc7.

    Raises:
        ValueError: for an empty ``layers`` or an unknown layer.

    Shape:
        - Input: ImageNet-normalised ``(B, 3, H, W)``, ``H`` and ``W`` multiples of :data:`INPUT_MULTIPLE`.
        - Output: a list of maps, one per layer in network order, each after its ReLU, from ``data``
          (the input's first channel) at full resolution to ``fc7`` at 1/32.
    """

    def __init__(self, features: nn.Sequential, fc6: nn.Conv2d, fc7: nn.Conv2d, layers: Sequence[str] = LAYERS,
                 dropout: float = 0.5) -> None:
        super().__init__()
        unknown = [n for n in layers if n not in LAYERS]
        if unknown or not layers:
            raise ValueError(
                f"hypercolumn layers must be a non-empty subset of {', '.join(LAYERS)}; got {list(layers)}")
        self.layers = tuple(n for n in LAYERS if n in layers)  # in network order
        self.features = features
        self.fc = nn.Sequential(fc6, nn.BatchNorm2d(fc6.out_channels), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                fc7, nn.BatchNorm2d(fc7.out_channels), nn.ReLU(inplace=True), nn.Dropout(dropout))
        # the index in `features` after whose ReLU each convolution's map is read
        convs = [i for i, m in enumerate(features) if isinstance(m, nn.Conv2d)]
        self._after = {name: i + 2 for name, i in zip(_conv_names(), convs, strict=True)}  # conv, bn, relu
        self.channels = tuple(self._channels(n) for n in self.layers)

    def _channels(self, name: str) -> int:
        if name == "data":
            return 1
        if name in ("fc6", "fc7"):
            return self.fc[0 if name == "fc6" else 4].out_channels
        return self.features[self._after[name] - 2].out_channels

    @classmethod
    def build(cls, width: float = 1.0, layers: Sequence[str] = LAYERS, dropout: float = 0.5) -> VGGTrunk:
        """Build a randomly initialised trunk ``width`` times as wide as VGG-16.

        The weights are initialised as torchvision's VGG does.

        Args:
            width: the channel multiplier; no pretrained weights fit below 1.
            layers: the layers to return.
            dropout: dropout after fc6 and fc7.

        Returns:
            The trunk.
        """
        cfg = [v if v == "M" else scaled(v, width) for v in _CFG]
        features = make_layers(cfg, batch_norm=True)
        last, fc = cfg[-2], scaled(FC_CHANNELS, width)
        trunk = cls(features, nn.Conv2d(last, fc, 7, padding=3), nn.Conv2d(fc, fc, 1), layers, dropout)
        for m in trunk.modules():  # as torchvision's VGG._initialize_weights
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
        return trunk

    @classmethod
    def from_torchvision(cls, vgg: nn.Module, layers: Sequence[str] = LAYERS, dropout: float = 0.5) -> VGGTrunk:
        """Build the trunk of a torchvision ``vgg16_bn``, its weights kept.

        fc6's and fc7's linear weights are reshaped into a 7×7 and a 1×1 convolution; fc8 is dropped.

        Args:
            vgg: torchvision's ``vgg16_bn``.
            layers: the layers to return.
            dropout: dropout after fc6 and fc7.

        Returns:
            The trunk.
        """
        fc6_lin, fc7_lin = vgg.classifier[0], vgg.classifier[3]
        last = [m for m in vgg.features if isinstance(m, nn.Conv2d)][-1].out_channels
        fc6 = nn.Conv2d(last, fc6_lin.out_features, 7, padding=3)
        fc7 = nn.Conv2d(fc7_lin.in_features, fc7_lin.out_features, 1)
        with torch.no_grad():
            fc6.weight.copy_(fc6_lin.weight.view(fc6.weight.shape))
            fc6.bias.copy_(fc6_lin.bias)
            fc7.weight.copy_(fc7_lin.weight.view(fc7.weight.shape))
            fc7.bias.copy_(fc7_lin.bias)
        return cls(vgg.features, fc6, fc7, layers, dropout)

    def forward(self, x: Tensor) -> list[Tensor]:
        """Return the maps of :attr:`layers` for ImageNet-normalised input ``(B, 3, H, W)``.

        ``H`` and ``W`` are multiples of :data:`INPUT_MULTIPLE`; ``data`` is the input's first
        channel. The network runs no deeper than the deepest layer asked for.
        """
        wanted = set(self.layers)
        out = {"data": x[:, :1]}
        reading = {i: n for n, i in self._after.items() if n in wanted}
        fc = bool(wanted & {"fc6", "fc7"})
        stop = len(self.features) if fc else max(reading, default=-1) + 1  # no deeper than needed
        h = x
        for i in range(stop):
            h = self.features[i](h)
            if i in reading:
                out[reading[i]] = h
        if fc:
            out["fc6"] = self.fc[:4](h)
            out["fc7"] = self.fc[4:](out["fc6"])
        return [out[n] for n in self.layers]


def _centre(i: Tensor, n: int) -> Tensor:
    """The ``grid_sample`` coordinate (``align_corners=False``) of the centre of pixel ``i`` of ``n``."""
    return (i.float() * 2 + 1) / n - 1


def pixel_grid(batch: int, h: int, w: int, device: torch.device | str | None = None) -> Tensor:
    """Return every pixel centre of an ``h × w`` image as ``grid_sample`` coordinates.

    Args:
        batch: ``B``, the batch size.
        h: the image's height.
        w: the image's width.
        device: where the grid is.

    Returns:
        ``(B, h, w, 2)``: ``(x, y)`` in ``[-1, 1]`` (``align_corners=False``).

    Example:
        >>> pixel_grid(1, 1, 2)[0, 0].tolist()
        [[-0.5, 0.0], [0.5, 0.0]]
    """
    ys, xs = _centre(torch.arange(h, device=device), h), _centre(torch.arange(w, device=device), w)
    g = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)  # (h, w, 2) as (x, y)
    return g.unsqueeze(0).expand(batch, h, w, 2)


def sample_points(batch: int, h: int, w: int, n: int, device: torch.device | str | None = None,
                  generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Draw ``n`` pixels per image uniformly, with replacement.

    Args:
        batch: ``B``, the batch size.
        h: the image's height.
        w: the image's width.
        n: pixels per image.
        device: where the draws are.
        generator: the generator to draw with; ``None`` for the global one.

    Returns:
        ``(grid, flat)``: the pixels' ``grid_sample`` coordinates ``(B, 1, n, 2)`` and their flat
        indices ``(B, n)`` into the ``h × w`` image (``y · w + x``).

    Example:
        >>> grid, flat = sample_points(2, 8, 8, 5)
        >>> grid.shape, flat.shape
        (torch.Size([2, 1, 5, 2]), torch.Size([2, 5]))
    """
    flat = torch.randint(0, h * w, (batch, n), device=device, generator=generator)
    ys, xs = flat // w, flat % w
    grid = torch.stack([_centre(xs, w), _centre(ys, h)], -1)
    return grid.unsqueeze(1), flat


def read_at(x: Tensor, flat: Tensor) -> Tensor:
    """Read ``x`` at flat pixel indices.

    Args:
        x: ``(B, C, H, W)``.
        flat: flat pixel indices ``(B, n)`` (``y · W + x``).

    Returns:
        ``(B, C, 1, n)``.

    Example:
        >>> read_at(torch.arange(4.0).view(1, 1, 2, 2), torch.tensor([[3, 0]])).tolist()
        [[[[3.0, 0.0]]]]
    """
    b, c = x.shape[:2]
    return x.flatten(2).gather(2, flat.unsqueeze(1).expand(b, c, -1)).unsqueeze(2)


def _bilinear(x: Tensor, grid: Tensor) -> Tensor:
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)


class Hypercolumn(nn.Module):
    """The head's first, linear layer over the hypercolumn: ``h(p) = b + Σ_l W_l f_l(p)``.

    ``f_l(p)`` is layer ``l`` bilinearly interpolated at the point ``p``. The layer is initialised
    as one ``nn.Linear`` over the whole hypercolumn would be.

    Args:
        channels: each layer's channels.
        hidden: the hidden layer's channels.
    """

    def __init__(self, channels: Sequence[int], hidden: int) -> None:
        super().__init__()
        self.project = nn.ModuleList(nn.Conv2d(c, hidden, 1, bias=False) for c in channels)
        self.bias = nn.Parameter(torch.zeros(hidden))
        bound = 1.0 / sum(channels) ** 0.5  # the fan-in of the whole hypercolumn, as one nn.Linear would have
        for p in self.project:
            nn.init.uniform_(p.weight, -bound, bound)

    def prepare(self, feats: Sequence[Tensor], points: int, order: str = "auto") -> list[Tensor | None]:
        """Project the layers that are cheaper to project before reading.

        Args:
            feats: the trunk's maps.
            points: how many points will be read.
            order: ``"auto"`` projects a layer first when it has fewer pixels than ``points``;
                ``"gather"`` or ``"project"`` forces one order for every layer.

        Returns:
            Each layer's ``W_l f_l``, or ``None`` where it is read first and projected afterwards.

        Raises:
            ValueError: for an unknown order.
        """
        if order not in ("auto", "gather", "project"):
            raise ValueError(f"order must be auto, gather or project; got {order!r}")
        return [proj(f) if order == "project" or (order == "auto" and f.shape[-2] * f.shape[-1] < points) else None
                for proj, f in zip(self.project, feats, strict=True)]

    def read(self, feats: Sequence[Tensor], prepared: Sequence[Tensor | None], grid: Tensor) -> Tensor:
        """Return the hidden layer ``(B, hidden, gh, gw)`` at the points ``grid`` ``(B, gh, gw, 2)``."""
        out = self.bias.view(1, -1, 1, 1)
        for proj, f, m in zip(self.project, feats, prepared, strict=True):
            out = out + (_bilinear(m, grid) if m is not None else proj(_bilinear(f, grid)))
        return out

    def forward(self, feats: Sequence[Tensor], grid: Tensor, order: str = "auto") -> Tensor:
        """Return the hidden layer ``(B, hidden, gh, gw)`` at the points ``grid`` ``(B, gh, gw, 2)``.

        Either order of reading and projecting gives the same values.
        """
        return self.read(feats, self.prepare(feats, grid.shape[1] * grid.shape[2], order), grid)

    def bands(self, feats: Sequence[Tensor], size: tuple[int, int], rows: int | None = None) -> Iterator[Tensor]:
        """Yield the hidden layer at every pixel of an ``H × W`` image, in bands of rows.

        Each band is ``(B, hidden, rows, W)``, top to bottom; they hold the values :meth:`forward`
        gives at :func:`pixel_grid`. The projections of the layers that share a resolution are
        summed at that resolution, and the coarser sums upsampled to the band. One band (``rows``
        ``None`` or at least ``H``) upsamples with ``F.interpolate`` (bilinear,
        ``align_corners=False``, channels-last). Several bands read the coarser sums with
        ``grid_sample`` and project the full-resolution layers band by band, so only the coarser
        projections (about a third of the hidden layer's size) are ever held whole.

        Args:
            feats: the trunk's maps.
            size: ``(H, W)``, the image's size.
            rows: rows per band; ``None`` for one band.

        Yields:
            ``(B, hidden, rows, W)`` bands (the last may be shorter).
        """
        h, w = size
        full, coarse = [], {}
        for proj, f in zip(self.project, feats, strict=True):
            key = (f.shape[-2], f.shape[-1])
            if key == (h, w):
                full.append((proj, f))
            else:  # one memory format throughout: mixed ones add slowly
                m = proj(f).contiguous(memory_format=torch.channels_last)
                coarse[key] = coarse[key] + m if key in coarse else m
        if rows is None or rows >= h:
            out = self.bias.view(1, -1, 1, 1)
            for proj, f in full:
                out = out + proj(f).contiguous(memory_format=torch.channels_last)
            for m in coarse.values():
                out = out + F.interpolate(m, size=size, mode="bilinear", align_corners=False)
            yield out
            return
        grid = pixel_grid(feats[0].shape[0], h, w, feats[0].device)
        for r in range(0, h, rows):
            out = self.bias.view(1, -1, 1, 1)
            for proj, f in full:
                out = out + proj(f[..., r:r + rows, :])
            for m in coarse.values():
                out = out + _bilinear(m, grid[:, r:r + rows])
            yield out


class HypercolumnNet(nn.Module):
    """Larsson et al.'s network: the trunk, the hypercolumn and a per-pixel head.

    The head is the hypercolumn's linear layer (``HIDDEN × width`` channels), ReLU, dropout and a
    1×1 output layer.

    Args:
        trunk: a :class:`VGGTrunk`, or a :class:`~colorlab.backbones.Backbone` holding one.
        out_channels: outputs per pixel.
        width: scales the hidden layer's channels.
        dropout: dropout before the output layer.
    """

    def __init__(self, trunk: nn.Module, out_channels: int, width: float = 1.0, dropout: float = 0.5) -> None:
        super().__init__()
        self.trunk = trunk
        channels = trunk.net.channels if hasattr(trunk, "net") else trunk.channels
        hidden = scaled(HIDDEN, width)
        self.columns = Hypercolumn(channels, hidden)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Conv2d(hidden, out_channels, 1))

    def forward(self, x: Tensor, grid: Tensor | None = None, chunk: int = CHUNK) -> Tensor:
        """Compute the outputs at the points ``grid``, or at every pixel.

        Args:
            x: ImageNet-normalised input ``(B, 3, H, W)``, sides multiples of :data:`INPUT_MULTIPLE`.
            grid: points ``(B, gh, gw, 2)`` as ``grid_sample`` coordinates; ``None`` for every pixel.
            chunk: pixels read at a time when every pixel is read.

        Returns:
            ``(B, out, gh, gw)``, or ``(B, out, H, W)`` without ``grid``.
        """
        feats = self.trunk(x)
        if grid is not None:
            return self.head(self.columns(feats, grid))
        h, w = x.shape[-2:]
        return torch.cat([self.head(band) for band in self.columns.bands(feats, (h, w), max(1, chunk // w))], 2)
