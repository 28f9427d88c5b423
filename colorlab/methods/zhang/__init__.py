"""Zhang, Isola and Efros (2016), "Colorful Image Colorization" (source 000; notebooks 00 and 03).

Colourisation as classification over quantised ab bins, with class rebalancing. :class:`Zhang` is
the method; :mod:`.network` holds the ECCV 2016 network, :mod:`.siggraph` the SIGGRAPH 2017
generator of the same authors, :mod:`.recipe` the paper's constants and losses, and
:mod:`.released` the mapping of the authors' released weights. Variants, decodings and the
released models: ``docs/methods/zhang.md``.

Example:
    >>> m = Zhang("class", width=0.125).eval()
    >>> m.decodings, m.args["k"]
    (('annealed', 'mode', 'mean'), 5)
    >>> m.colorize(torch.rand(1, 3, 20, 12), "mode").shape
    torch.Size([1, 3, 20, 12])
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ...abgrid import (
    GRID,
    SIGMA,
    ab_gamut_bins,
    dataset_prior,
    decode_expectation,
    decode_mode,
)
from ...color import ZHANG
from ..abclasses import AbClasses
from ..base import Released, StepMode, Variant
from .network import INPUT_MULTIPLE, PAPER_Q, ZhangNet
from .recipe import (
    ADAM_BETAS,
    ANNEALED_T,
    DECODERS,
    K_OFFICIAL,
    K_PAPER,
    LAMBDA,
    PAPER_TEMPERATURES,
    WEIGHT_DECAY,
    class_loss,
    l2_loss,
    rebalance_weights,
)
from .released import ECCV16_URL, SIGGRAPH17_URL, build_eccv16, build_siggraph17, siggraph_bins
from .siggraph import SIGGRAPH_Q, SiggraphNet, huber_loss

if TYPE_CHECKING:
    from ...data import ColorDataset

__all__ = [
    "Zhang", "ZhangNet", "SiggraphNet", "ARCHS", "PAPER_Q", "SIGGRAPH_Q", "ANNEALED_T", "K_PAPER", "K_OFFICIAL",
    "LAMBDA", "ADAM_BETAS", "WEIGHT_DECAY", "PAPER_TEMPERATURES", "DECODERS", "rebalance_weights",
]

#: The temperature of each decoding of the class head (the mode is the ``T -> 0`` limit).
TEMPERATURE = {"annealed": ANNEALED_T, "mode": 0.0, "mean": 1.0}
#: The networks: Zhang et al. 2016 (ECCV) and Zhang et al. 2017 (SIGGRAPH, without user hints).
ARCHS = ("eccv16", "siggraph17")


class Zhang(AbClasses):
    """Zhang et al.'s network and training recipe.

    The class head is decoded by the annealed mean (``'annealed'``, ``T = 0.38``), the mode or the
    mean, each at 1/4 resolution; :meth:`~colorlab.methods.base.Method.colorize` then upsamples the
    ab image bilinearly, never the logits. A regression head has the one decoding ``'direct'``.

    Args:
        variant: ``'full'`` (the default: classification with rebalancing), ``'class'`` (no
            rebalancing), ``'l2'`` (a regression head) or ``'siggraph17'``.
        width: channel multiplier; 1 is the paper's 32M-parameter network.
        head: ``'class'`` or ``'regress'``.
        rebalance: weight each pixel by its bin's rebalancing weight.
        lam: λ of the weights ``((1 - λ) p + λ/Q)^-1``.
        k: nearest bins of the soft encoding.
        sigma: the soft encoding's Gaussian width in ab units; it also smooths the prior.
        grid: the ab bin spacing.
        norm_layer: ``'batch'`` or ``'none'``.
        lr: Adam's learning rate.
        betas: Adam's betas (the official solver's by default).
        weight_decay: Adam's weight decay (the official solver's by default).
        arch: ``'eccv16'`` (:class:`ZhangNet`) or ``'siggraph17'`` (:class:`SiggraphNet`,
            regression head only).
        bins: ``'gamut'``, the in-gamut cells of ``grid``; or ``'released'``, the released
            model's: 313 for ``eccv16``, filled in by loading its weights, 529 for ``siggraph17``.

    Raises:
        ValueError: for ``arch='siggraph17'`` with a class head, and the argument checks of
            :meth:`~colorlab.methods.abclasses.AbClasses.build_classes`.
    """

    name = "zhang"
    space = "lab"
    norm = ZHANG
    defaults = {"width": 0.25, "head": "class", "rebalance": True, "lam": LAMBDA, "k": K_PAPER, "sigma": SIGMA,
                "grid": GRID, "norm_layer": "batch", "lr": 1e-3, "betas": ADAM_BETAS, "weight_decay": WEIGHT_DECAY,
                "arch": "eccv16", "bins": "gamut"}
    variants = {
        "full": Variant("classification with class rebalancing, lambda = 0.5 (the paper's full method)",
                        {"head": "class", "rebalance": True}),
        "class": Variant("classification over the ab bins, soft-encoded targets, no rebalancing",
                         {"head": "class", "rebalance": False}),
        "l2": Variant("regression head, L2 loss on ab/110 (the paper's 'L2' baseline)",
                      {"head": "regress", "rebalance": False}),
        "siggraph17": Variant("the SIGGRAPH 2017 network (Zhang, Zhu et al., 'Real-Time User-Guided Image "
                              "Colorization') without user hints: its regression branch, Huber loss on ab/110 at full "
                              "resolution", {"arch": "siggraph17", "head": "regress", "rebalance": False}),
    }
    #: added after the first checkpoints: left out of their keys at these values, so those keep
    #: their names
    unkeyed_defaults = {"arch": "eccv16", "bins": "gamut"}
    released = {
        "zhang2016-released": Released("Zhang et al. 2016 (ECCV), the released colorization_release_v2 weights (class "
                                       "rebalancing, 313 bins; decodings annealed, mode, mean)",
                                       ECCV16_URL, build_eccv16),
        "zhang2017-released": Released("Zhang et al. 2017 (SIGGRAPH), the released siggraph17 weights without user "
                                       "hints (regression branch, decoding direct)",
                                       SIGGRAPH17_URL, build_siggraph17),
    }
    choices = {"arch": ARCHS}
    smoke_args = {"width": 0.125, "lr": 3e-3}
    input_multiple = INPUT_MULTIPLE

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__(variant, **args)
        a = self.args
        if a["arch"] == "siggraph17" and a["head"] != "regress":
            raise ValueError(f"{self.name}: arch='siggraph17' has the regression head only (its output); got "
                             f"head={a['head']!r}")
        eccv = a["arch"] == "eccv16"
        q = self.build_classes("soft-encoding neighbours", released=PAPER_Q if eccv else siggraph_bins())
        if eccv:
            self.net = ZhangNet(num_classes=q, width=a["width"], head=a["head"], norm=a["norm_layer"])
        else:
            self.net = SiggraphNet(width=a["width"], num_classes=q, norm=a["norm_layer"])

    @classmethod
    def training_prior(cls, train_set: ColorDataset, cache_dir: str | Path | None = None,
                       **args: Any) -> tuple[Tensor, Tensor]:
        """Compute the bins and the smoothed prior of a training split for these arguments.

        It is what :meth:`prepare` rebalances by, and what a notebook scores the rebalanced AuC
        with, computed once and cached in ``cache_dir``.

        Args:
            train_set: the training split.
            cache_dir: where the prior is cached.
            **args: the method's arguments; ``grid`` sets the bins, ``sigma`` the smoothing.

        Returns:
            ``(bins, prior)``: the bins ``(Q, 2)`` in ab units and the prior ``(Q,)``.
        """
        a = {**cls.defaults, **args}
        bins = ab_gamut_bins(a["grid"])
        return bins, dataset_prior(train_set, bins, sigma=a["sigma"], cache_dir=cache_dir)

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        return {"net": self.adam(self.net, mode)}

    def loss(self, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        missing = [k for k in ("L", "ab") if k not in batch]
        if missing:
            raise KeyError(f"batch lacks {missing}; build the dataset with space='lab'")
        out = self.net(self.norm.encode_l(batch["L"])).float()
        if self.args["arch"] == "siggraph17":
            return huber_loss(out, batch["ab"])
        if self.args["head"] == "regress":
            return l2_loss(out, batch["ab"])
        weights = self.class_weights if self.args["rebalance"] else None
        return class_loss(out, batch["ab"], self.bins, k=self.args["k"], sigma=self.args["sigma"],
                          class_weights=weights)

    @property
    def decodings(self) -> tuple[str, ...]:
        return DECODERS if self.args["head"] == "class" else ("direct",)

    def count_parameters(self) -> int:
        """The network's parameters, less the SIGGRAPH network's unused classification branch."""
        unused = self.net.model_class if isinstance(self.net, SiggraphNet) else None
        return super().count_parameters() - (sum(p.numel() for p in unused.parameters()) if unused else 0)

    def row_labels(self, decode: str, temperature: float | None = None, **options: Any) -> dict[str, Any]:
        if decode == "annealed" and temperature is not None:
            return {"temperature": float(temperature)}
        return {"temperature": TEMPERATURE.get(decode)}

    def predict_chroma(self, lum: Tensor, decode: str, temperature: float | None = None, **options: Any) -> Tensor:
        """Predict ab: the regression head's output, or the class head's logits decoded by ``decode``.

        Args:
            lum: ``L`` ``(B, 1, H, W)`` in ``[0, 100]``, ``H`` and ``W`` multiples of 8.
            decode: ``'annealed'``, ``'mode'``, ``'mean'`` or ``'direct'``.
            temperature: overrides the annealed mean's 0.38.

        Returns:
            ab ``(B, 2, H/4, W/4)`` in ab units; ``(B, 2, H, W)`` from the SIGGRAPH network.

        Raises:
            ValueError: for a ``temperature`` with a decoding other than ``'annealed'``.
        """
        if temperature is not None and decode != "annealed":
            raise ValueError(f"temperature applies to the annealed mean only; decode={decode!r} has its own")
        out = self.net(self.norm.encode_l(lum)).float()
        if decode == "direct":
            return self.norm.decode_chroma(out)
        if decode == "mode":
            return decode_mode(out, self.bins)
        T = 1.0 if decode == "mean" else (ANNEALED_T if temperature is None else temperature)
        return decode_expectation(out, self.bins, T)


METHOD = Zhang
