"""A U-Net with a ResNet-50 encoder: regression on ab versus classification over ab classes.

Source 001, "Image Colorization Project 2.0" (Ardenghi, Giampetruzzi and Minardi); notebook 04.
:class:`UNet` is the method, with two heads on the same trunk (:mod:`.network`): ``regress``, two
channels ``ab / 110`` with a mean squared error, and ``class``, logits over Q = 201 ab classes with
a cross entropy weighted by Zhang et al.'s rebalancing. How the classes, the weights and the
decodings were chosen: ``docs/methods/unet.md``.

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

    Grayscale training images are left out of both losses. The class head is decoded at full
    resolution by the annealed mean (``T = 0.38``), the mode, the expectation (``T = 1``) or a
    per-pixel sample.

    Args:
        variant: ``'regress'`` (the default) or ``'class'`` (with rebalancing).
        width: the decoder's channel multiplier; the encoder is ResNet-50 at any width.
        head: ``'regress'`` or ``'class'``.
        encoder_weights: ``'imagenet'`` (offline without a cached copy, a random initialisation,
            said on the terminal), ``'random'`` or a file path (:func:`colorlab.backbones.backbone`).
        grid: the spacing of the ab grid whose in-gamut cells are the classes (:data:`CLASS_GRID`).
        k: targets over the ``k`` nearest classes; 1, the default, gives hard targets.
        sigma: the soft encoding's Gaussian width, for ``k > 1``, and the prior's smoothing.
        rebalance: weight the cross entropy by Zhang et al.'s rebalancing weights.
        lam: λ of the rebalancing weights.
        lr: Adam's learning rate.
        betas: Adam's betas.
        weight_decay: Adam's weight decay.
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
        """How the encoder was initialised, as the checkpoint keeps it.

        One of ``"imagenet"``, ``"file:<name>@<sha1>"``, ``"random (asked)"`` or
        ``"random (offline fallback)"``.
        """
        return self.net.encoder.weights

    @property
    def pretrained(self) -> bool:
        """Whether the encoder started from ImageNet weights (the source's setting)."""
        return self.net.encoder.semantic

    def provenance(self) -> dict[str, Any]:
        """Return the encoder's weights as loaded (:attr:`encoder_weights`), part of the checkpoint key."""
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
        """Predict ab at full resolution: the regression head's output, or the class logits decoded.

        Args:
            lum: ``L`` ``(B, 1, H, W)`` in ``[0, 100]``, sides multiples of 32.
            decode: ``'direct'``, or ``'annealed'``, ``'mode'``, ``'expectation'`` or ``'sample'``.
            seed: the seed of the sample's draw.

        Returns:
            ab ``(B, 2, H, W)`` in ab units.

        Raises:
            TypeError: for any other decoding option.
        """
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
