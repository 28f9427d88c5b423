"""A U-Net with a ResNet-50 encoder, regression on ab versus classification over about 200 ab
classes (source 001, "Image Colorization Project 2.0", Ardenghi, Giampetruzzi and Minardi;
notebook 04).

* :mod:`.network`: the U-Net (:class:`UNetResNet`): torchvision's ResNet-50 as the encoder, skips
  from each stage, transposed convolutions with batch norm as the decoder;
* :class:`UNet`: the method. Two variants on the same trunk, "the only difference between the two
  approaches was the output shape": ``regress`` (two channels ``ab / 110``, a mean squared error)
  and ``class`` (logits over the ab classes, a weighted cross entropy).

**The classes.** The source quantises ab "so that each pixel belonged to one of roughly 200
classes" without saying how. We take the in-gamut cells of the shared ab grid
(:func:`colorlab.abgrid.ab_gamut_bins`) with a spacing of :data:`CLASS_GRID` = 11.5, which gives
**Q = 201** classes for any data (a fixed class set, so a checkpoint rebuilds without its data).
Each pixel's target is its nearest class (``k = 1``, hard targets, as the source says; ``k > 1``
soft-encodes as Zhang et al.). **"Weighted"** is Zhang et al.'s class rebalancing,
``w ∝ ((1 - λ) p + λ/Q)^-1`` with λ = 0.5 over the smoothed prior ``p`` of the training split
(:func:`colorlab.abgrid.rebalance_weights`): the source names Zhang et al. as its inspiration
and gives no weights of its own. Grayscale training images are left out of both losses.

**Decodings of the class head** (the source tried "picking the mode, the expected value ..."):
the annealed mean ``softmax(z / 0.38)`` (Zhang et al.'s choice), the mode, the expectation (the
mean, ``T = 1``) and a per-pixel sample (``seed`` makes it repeatable). All at full resolution.

**The encoder's weights** (``encoder_weights``): ``"imagenet"`` (torchvision's, from the cache or
downloaded; offline without a cached copy, random initialisation said on the terminal),
``"random"``, or a local file (:func:`colorlab.backbones.backbone`). Every result row records
which ran (``encoder_weights``); :attr:`UNet.pretrained` says whether it has ImageNet semantics.

Example:
    >>> m = UNet("class", width=0.125, encoder_weights="random").eval()
    >>> m.num_classes, m.decodings
    (201, ('annealed', 'mode', 'expectation', 'sample'))
    >>> m.colorize(torch.rand(1, 3, 20, 12), "sample").shape
    torch.Size([1, 3, 20, 12])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ...abgrid import (
    REBALANCE_LAMBDA,
    SIGMA,
    decode_expectation,
    decode_mode,
    decode_sample,
    grayscale_mask,
    nearest_bin,
    pixel_weights,
    soft_cross_entropy,
    soft_encode,
)
from ...backbones import backbone
from ...color import IMAGENET_GRAY
from ..abclasses import AbClasses
from ..base import StepMode, Variant
from .network import INPUT_MULTIPLE, UNetResNet

__all__ = ["UNet", "UNetResNet", "CLASS_GRID", "ANNEALED_T", "DECODERS", "ENCODER"]

#: Spacing of the ab grid whose in-gamut cells are the classes: Q = 201, the source's "roughly 200".
CLASS_GRID = 11.5
#: Temperature of the annealed-mean decoding (Zhang et al. 2016).
ANNEALED_T = 0.38
#: Decodings of the class head, the default first.
DECODERS = ("annealed", "mode", "expectation", "sample")
#: The temperature of each decoding (the mode is the ``T -> 0`` limit; the sample draws at ``T = 1``).
TEMPERATURE = {"annealed": ANNEALED_T, "mode": 0.0, "expectation": 1.0, "sample": 1.0}
#: The torchvision network of the encoder.
ENCODER = "resnet50"


class UNet(AbClasses):
    """The source's U-Net and its two heads.

    Args (all in :attr:`defaults`): ``width`` (the decoder's channel multiplier; the encoder is
    ResNet-50 at any width), ``head`` (``'regress'`` or ``'class'``), ``encoder_weights``
    (``'imagenet'``, ``'random'`` or a file path), ``grid`` (the class grid's spacing), ``k`` and
    ``sigma`` (targets over the ``k`` nearest classes; 1 is hard), ``rebalance`` and ``lam`` (the
    class weights), Adam's ``lr``, ``betas`` and ``weight_decay``.
    """

    name = "unet"
    space = "lab"
    norm = IMAGENET_GRAY
    defaults = {"width": 1.0, "head": "regress", "encoder_weights": "imagenet", "grid": CLASS_GRID, "k": 1,
                "sigma": SIGMA, "rebalance": False, "lam": REBALANCE_LAMBDA, "lr": 1e-3, "betas": (0.9, 0.999),
                "weight_decay": 0.0}
    variants = {
        "regress": Variant("regression: two output channels ab/110, mean squared error", {"head": "regress"}),
        "class": Variant("classification over Q = 201 ab classes, cross entropy weighted by Zhang et al.'s "
                         "rebalancing (lambda = 0.5)", {"head": "class", "rebalance": True}),
    }
    smoke_args = {"width": 0.125, "encoder_weights": "random"}
    input_multiple = INPUT_MULTIPLE

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__(variant, **args)
        a = self.args
        q = self.build_classes()
        out = q if a["head"] == "class" else 2
        self.net = UNetResNet(backbone(ENCODER, a["encoder_weights"]), out_channels=out, width=a["width"])

    @property
    def encoder_weights(self) -> str:
        """How the encoder was initialised: ``"imagenet"``, ``"file:<name>@<sha1>"``, ``"random (asked)"``
        or ``"random (offline fallback)"`` (kept in the checkpoint)."""
        return self.net.encoder.weights

    @property
    def pretrained(self) -> bool:
        """Whether the encoder started from ImageNet weights (the source's setting)."""
        return self.net.encoder.semantic

    def provenance(self) -> dict[str, Any]:
        """The encoder's initial weights as loaded (:attr:`encoder_weights`): part of the checkpoint key."""
        return {"encoder_weights": self.encoder_weights}

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        return {"net": self.adam(self.net, mode, fused_on_cpu=True)}

    def loss(self, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        missing = [k for k in ("L", "ab") if k not in batch]
        if missing:
            raise KeyError(f"batch lacks {missing}; build the dataset with space='lab'")
        ab = batch["ab"].float()
        out = self.net(self.norm.encode_l(batch["L"].float())).float()
        keep = ~grayscale_mask(ab)
        if self.args["head"] == "regress":
            per_pixel = (out - self.norm.encode_chroma(ab)).square().mean(1)  # (B, H, W)
            w = keep.to(per_pixel.dtype).view(-1, 1, 1).expand_as(per_pixel)
            return {"loss": (per_pixel * w).sum() / w.sum().clamp_min(1.0), "colour_images": keep.float().mean()}
        weights = pixel_weights(ab, self.bins, self.class_weights) if self.args["rebalance"] else None
        if self.args["k"] == 1:
            target = F.one_hot(nearest_bin(ab, self.bins), self.num_classes).permute(0, 3, 1, 2).to(out.dtype)
        else:
            target = soft_encode(ab, self.bins, self.args["k"], self.args["sigma"])
        loss = soft_cross_entropy(out, target, weights, keep)
        ce = loss.detach() if weights is None else soft_cross_entropy(out.detach(), target, None, keep)
        return {"loss": loss, "ce": ce, "colour_images": keep.float().mean()}

    @property
    def decodings(self) -> tuple[str, ...]:
        return DECODERS if self.args["head"] == "class" else ("direct",)

    def row_labels(self, decode: str, **options: Any) -> dict[str, Any]:
        return {"encoder_weights": self.encoder_weights, "temperature": TEMPERATURE.get(decode)}

    def predict_chroma(self, lum: Tensor, decode: str, seed: int = 0, **options: Any) -> Tensor:
        """ab ``(B, 2, H, W)`` at full resolution: the regression head's output, or the class
        head's logits decoded by ``decode`` (``seed`` draws the sample)."""
        if options:
            raise TypeError(f"{self.name}: unknown decoding option(s) {', '.join(options)}")
        out = self.net(self.norm.encode_l(lum)).float()
        if decode == "direct":
            return self.norm.decode_chroma(out)
        if decode == "mode":
            return decode_mode(out, self.bins)
        if decode == "sample":
            return decode_sample(out, self.bins, generator=torch.Generator(out.device).manual_seed(seed))
        return decode_expectation(out, self.bins, TEMPERATURE[decode])


METHOD = UNet
