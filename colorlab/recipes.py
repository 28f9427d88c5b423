"""Each source's training recipe as one function, shared by the notebook that introduces it
and the later notebooks that reuse its model (loading the checkpoint, or retraining with the
same seed when it is missing).

Example:
    >>> train = data.load_dataset("samples", "train", crop=32, image_size=96, space="yuv")
    >>> model, hist = yuv_regression(train, loss="l1", steps=2, base=4, progress=False)
"""

from __future__ import annotations

import os
from typing import Literal

import pandas as pd
import torch
from torch import Tensor, nn

from . import data
from .color import YUV
from .losses import chroma_regression
from .models import YUVNet
from .train import TrainConfig, fit

__all__ = ["yuv_regression", "yuv_colorize"]


def yuv_regression(
    train_set: data.ColorDataset,
    *,
    loss: Literal["l1", "l2"] = "l1",
    norm: Literal["batch", "instance"] = "batch",
    base: int = 16,
    steps: int = 100,
    batch_size: int = 8,
    lr: float = 2e-3,
    seed: int = 0,
    device: str = "auto",
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
) -> tuple[YUVNet, pd.DataFrame]:
    """Notebook 01's recipe: :class:`~colorlab.models.YUVNet` regressing normalised U, V from Y
    with an L1 or L2 loss, Adam, ``steps`` steps of ``batch_size`` random crops."""
    if train_set.space != "yuv":
        raise ValueError(f"yuv_regression needs a dataset built with space='yuv'; got {train_set.space!r}")
    torch.manual_seed(seed)
    model = YUVNet(base=base, norm=norm)
    cfg = TrainConfig(
        steps=steps, lr=lr, seed=seed, device=device, progress=progress,
        checkpoint=str(checkpoint) if checkpoint else None,
        checkpoint_every=max(1, min(100, steps)),
        extra={"model": "yuv", "base": base, "norm": norm, "loss": loss, "batch_size": batch_size,
               "data": train_set.data_path, "crop": train_set.crop,
               "image_size": train_set.images.image_size},
    )
    hist = fit(
        model, chroma_regression(YUV, loss),
        lambda start: data.make_loader(train_set, batch_size, train=True, seed=seed, start_step=start),
        cfg,
    )
    return model, hist


def yuv_colorize(model: nn.Module, batch: dict) -> Tensor:
    """RGB from a batch's ``Y`` and the model's normalised U, V (clipped to the sRGB gamut)."""
    return YUV.to_rgb(batch["Y"], model(batch["Y"]))
