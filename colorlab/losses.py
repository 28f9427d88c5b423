"""Training losses, as ``loss_fn(model, batch)`` factories for :func:`colorlab.train.fit`.

* :func:`chroma_regression` – L1 or L2 between the predicted and true normalised chroma
  (YUV ``U/U_MAX, V/V_MAX`` or Lab ``ab/110``) at the network's output resolution.

Example:
    >>> from colorlab.models import YUVNet
    >>> from colorlab.color import YUV
    >>> loss_fn = chroma_regression(YUV, "l1")
    >>> batch = {"Y": torch.rand(2, 1, 16, 16), "uv": torch.zeros(2, 2, 16, 16)}
    >>> loss_fn(YUVNet(base=4), batch).shape
    torch.Size([])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

from .color import LabNorm, YuvNorm

__all__ = ["REGRESSION_LOSSES", "regression_loss", "chroma_regression", "batch_channels"]

REGRESSION_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {"l1": F.l1_loss, "l2": F.mse_loss}


def regression_loss(kind: Literal["l1", "l2"]) -> Callable[[Tensor, Tensor], Tensor]:
    """``F.l1_loss`` or ``F.mse_loss`` by name; unknown names raise ``KeyError`` listing the known ones."""
    if kind not in REGRESSION_LOSSES:
        raise KeyError(f"unknown regression loss {kind!r}; known: {', '.join(REGRESSION_LOSSES)}")
    return REGRESSION_LOSSES[kind]


def batch_channels(batch: dict, norm: LabNorm | YuvNorm) -> tuple[Tensor, Tensor]:
    """The (luminance, chroma) pair of a batch in the space of ``norm``: ``L, ab`` or ``Y, uv``."""
    keys = ("Y", "uv") if norm.space == "yuv" else ("L", "ab")
    missing = [k for k in keys if k not in batch]
    if missing:
        raise KeyError(f"batch lacks {missing} for the {norm.name} convention; build the dataset with space={norm.space!r}")
    return batch[keys[0]], batch[keys[1]]


def chroma_regression(norm: LabNorm | YuvNorm, kind: Literal["l1", "l2"]) -> Callable[[nn.Module, dict], Tensor]:
    """``loss_fn(model, batch)``: the model maps normalised luminance to normalised chroma; the
    target is resized (area) to the output's resolution if they differ."""
    loss = regression_loss(kind)

    def loss_fn(model: nn.Module, batch: dict) -> Tensor:
        lum, chroma = batch_channels(batch, norm)
        x, y = norm.encode(lum, chroma)
        pred = model(x)
        if pred.shape[-2:] != y.shape[-2:]:
            y = F.adaptive_avg_pool2d(y, pred.shape[-2:])
        return loss(pred.float(), y.float())

    return loss_fn


