"""Regression of the YUV chrominance from Y (sources 000 and 002; notebook 01).

:class:`YUVNet` is a convolutional encoder–decoder that maps ``Y`` to normalised ``U, V``;
:class:`YuvRegression` trains it with an L1 or L2 loss. The variants ``l1``, ``l2`` and
``l1_instancenorm`` test whether regression desaturates and whether batch normalisation beats
instance normalisation. The network, the variants and the claims: ``docs/methods/yuv_regression.md``.

Example:
    >>> m = YuvRegression("l1", base=4)
    >>> m.net(torch.rand(2, 1, 32, 32)).shape
    torch.Size([2, 2, 32, 32])
    >>> sorted(m.variants)
    ['l1', 'l1_instancenorm', 'l2']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..color import YUV
from .base import Method, StepMode, Variant

__all__ = ["YUVNet", "YuvRegression", "REGRESSION_LOSSES"]

Norm = Literal["batch", "instance"]
#: Encoder downsamplings: H and W must be multiples of ``2 ** STAGES``.
STAGES = 3
#: The regression losses by name.
REGRESSION_LOSSES = {"l1": F.l1_loss, "l2": F.mse_loss}


def _norm(kind: Norm, ch: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=True)
    raise ValueError(f"norm must be 'batch' or 'instance'; got {kind!r}")


def _block(cin: int, cout: int, norm: Norm, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), _norm(norm, cout),
                         nn.ReLU(inplace=True))


class _Residual(nn.Module):
    def __init__(self, ch: int, norm: Norm) -> None:
        super().__init__()
        self.body = nn.Sequential(_block(ch, ch, norm), nn.Conv2d(ch, ch, 3, 1, 1, bias=False), _norm(norm, ch))

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x + self.body(x))


class YUVNet(nn.Module):
    """Encoder–decoder regressing normalised U, V from Y.

    Three stride-2 encoder stages, residual blocks at 1/8 resolution, three transposed-convolution
    decoder stages with skip connections and a tanh head.

    Args:
        base: the width: the stages have ``base, 2·base, 4·base, 8·base`` channels.
        norm: ``'batch'`` or ``'instance'`` (affine) normalisation after every convolution.
        residual_blocks: residual blocks at 1/8 resolution.

    Raises:
        ValueError: for an unknown ``norm``; in ``forward``, for an input that is not
            ``(B, 1, H, W)`` with ``H`` and ``W`` multiples of 8.

    Shape:
        - Input: ``Y`` ``(B, 1, H, W)`` in ``[0, 1]``.
        - Output: ``U/U_MAX, V/V_MAX`` ``(B, 2, H, W)`` in ``[-1, 1]`` (:data:`colorlab.color.YUV`).

    Example:
        >>> YUVNet(base=4)(torch.rand(1, 1, 16, 24)).shape
        torch.Size([1, 2, 16, 24])
    """

    def __init__(self, base: int = 32, norm: Norm = "batch", residual_blocks: int = 2) -> None:
        super().__init__()
        _norm(norm, 1)  # validate early
        chans = [base * 2**i for i in range(STAGES + 1)]
        self.stem = _block(1, chans[0], norm)
        self.down = nn.ModuleList(_block(chans[i], chans[i + 1], norm, stride=2) for i in range(STAGES))
        self.middle = nn.Sequential(*(_Residual(chans[-1], norm) for _ in range(residual_blocks)))
        self.up = nn.ModuleList(
            nn.Sequential(nn.ConvTranspose2d(chans[i + 1], chans[i], 4, 2, 1, bias=False), _norm(norm, chans[i]),
                          nn.ReLU(inplace=True))
            for i in reversed(range(STAGES))
        )
        self.fuse = nn.ModuleList(_block(2 * chans[i], chans[i], norm) for i in reversed(range(STAGES)))
        self.head = nn.Conv2d(chans[0], 2, 1)

    def forward(self, y: Tensor) -> Tensor:
        if y.ndim != 4 or y.shape[1] != 1:
            raise ValueError(f"YUVNet takes Y as (B, 1, H, W); got {tuple(y.shape)}")
        if y.shape[-1] % 2**STAGES or y.shape[-2] % 2**STAGES:
            raise ValueError(f"H and W must be multiples of {2**STAGES}; got {tuple(y.shape[-2:])}")
        x = self.stem(y)
        skips = [x]
        for down in self.down:
            x = down(x)
            skips.append(x)
        x = self.middle(skips.pop())
        for up, fuse in zip(self.up, self.fuse, strict=True):
            x = fuse(torch.cat([up(x), skips.pop()], dim=1))
        return torch.tanh(self.head(x))


class YuvRegression(Method):
    """:class:`YUVNet` regressing normalised U, V from Y with an L1 or L2 loss and Adam.

    Args:
        variant: ``'l1'`` (the default), ``'l2'`` or ``'l1_instancenorm'``.
        base: the network's width (:class:`YUVNet`).
        norm: ``'batch'`` or ``'instance'``.
        residual_blocks: residual blocks at 1/8 resolution.
        loss: ``'l1'`` or ``'l2'`` (:data:`REGRESSION_LOSSES`).
        lr: Adam's learning rate.
        betas: Adam's betas.
        weight_decay: Adam's weight decay.

    Example:
        >>> m = YuvRegression("l2", base=4).eval()
        >>> m.colorize(torch.rand(1, 3, 12, 20)).shape
        torch.Size([1, 3, 12, 20])
    """

    name = "yuv_regression"
    space = "yuv"
    norm = YUV
    defaults = {"base": 32, "norm": "batch", "residual_blocks": 2, "loss": "l1",
                "lr": 2e-3, "betas": (0.9, 0.99), "weight_decay": 0.0}
    variants = {
        "l1": Variant("L1 loss on normalised U, V; batch norm (source 002's choice)", {"loss": "l1", "norm": "batch"}),
        "l2": Variant("L2 loss on normalised U, V; batch norm", {"loss": "l2", "norm": "batch"}),
        "l1_instancenorm": Variant("L1 loss; instance norm (the style-transfer network source 002 started from)",
                                   {"loss": "l1", "norm": "instance"}),
    }
    choices = {"loss": tuple(REGRESSION_LOSSES)}
    smoke_args = {"base": 4}
    input_multiple = 2**STAGES

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__(variant, **args)
        a = self.args
        self.net = YUVNet(base=a["base"], norm=a["norm"], residual_blocks=a["residual_blocks"])

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        return {"net": self.adam(self.net, mode)}

    def loss(self, batch: Mapping[str, Any]) -> Tensor:
        """Return the L1 or L2 loss between the predicted and the true normalised U, V.

        Raises:
            KeyError: when the batch lacks ``"Y"`` or ``"uv"`` (a dataset built in Lab).
        """
        missing_keys = [k for k in ("Y", "uv") if k not in batch]
        if missing_keys:
            raise KeyError(f"batch lacks {missing_keys}; build the dataset with space='yuv'")
        x, y = self.norm.encode(batch["Y"], batch["uv"])
        pred = self.net(x)
        return REGRESSION_LOSSES[self.args["loss"]](pred.float(), y.float())

    def predict_chroma(self, lum: Tensor, decode: str, **options: Any) -> Tensor:
        return self.norm.decode_chroma(self.net(self.norm.encode_l(lum)))


METHOD = YuvRegression
