"""Larsson, Maire and Shakhnarovich (2016), "Learning Representations for Automatic Colorization".

ECCV 2016, arXiv:1603.06668; source 004; notebook 07. VGG-16 hypercolumns predict a colour
histogram for every pixel. :class:`Larsson` is the method; :mod:`.network` holds the trunk, the
hypercolumn and the head, and :mod:`.histograms` the binned axes and every decoding. The heads
(``l2``, ``lab``, ``lab_joint``, ``hue_chroma``) share the trunk, budget and seeds. The training,
the heads table and the decodings: ``docs/methods/larsson.md``.

Example:
    >>> m = Larsson("hue_chroma", width=1 / 16, backbone_weights="random").eval()
    >>> m.decodings  # doctest: +NORMALIZE_WHITESPACE
    ('median_fading', 'median', 'expectation', 'mode', 'sample', 'median_fading_uniform', 'released',
     'released_uniform')
    >>> m.colorize(torch.rand(1, 3, 20, 12), "median").shape
    torch.Size([1, 3, 20, 12])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ...abgrid import decode_expectation as joint_expectation
from ...abgrid import decode_mode as joint_mode
from ...abgrid import decode_sample as joint_sample
from ...backbones import backbone, untrained
from ...color import IMAGENET_GRAY
from ..base import Method, StepMode, Variant
from .histograms import (
    CHROMA_MAX,
    FADING_ETA,
    K_JOINT,
    K_MARGINAL,
    LAB_SIGMA,
    Axis,
    ab_from_hue_chroma,
    chromatic_fading,
    decode_expectation,
    decode_median,
    decode_mode,
    decode_sample,
    hue_chroma,
    hue_expectation,
    joint_centres,
    joint_index,
    one_hot_kl,
)
from .network import (
    CHUNK,
    INPUT_MULTIPLE,
    LAYERS,
    HypercolumnNet,
    VGGTrunk,
    read_at,
    sample_points,
)

__all__ = ["Larsson", "HEADS", "DECODINGS", "HUE_CHROMA", "Reading", "LAMBDA_HUE", "SAMPLES", "CHUNK", "TRUNK"]

#: The torchvision network of the trunk (VGG-16 with batch norm).
TRUNK = "vgg16_bn"
#: λ_H, the weight of the hue term (Larsson et al. §3.2).
LAMBDA_HUE = 5.0
#: Pixels read per training image (the official training net's 128 per image).
SAMPLES = 128
#: head -> output channels.
HEADS = {"l2": 2, "lab": 2 * K_MARGINAL, "lab_joint": K_JOINT * K_JOINT, "hue_chroma": 2 * K_MARGINAL}


class Reading(NamedTuple):
    """How a hue/chroma decoding reads the two histograms.

    Args:
        chroma: how the chroma is read: ``median``, ``median_bin``, ``expectation``, ``mode`` or
            ``sample``.
        hue: how the hue is read: ``expectation`` (the complex one), ``mode`` or ``sample``.
        fading: chromatic fading: ``None``, ``"paper"`` or ``"released"`` (``|z| / K``).
        uniform: instead of fading where the hue is uncertain, take the same share of each image's
            chroma away evenly from every pixel: the control the fading is judged against.

    Example:
        >>> HUE_CHROMA["median_fading"]
        Reading(chroma='median', hue='expectation', fading='paper', uniform=False)
    """

    chroma: str
    hue: str
    fading: str | None = None
    uniform: bool = False


#: hue/chroma decoding -> how it reads the histograms, the default (the paper's choice) first.
HUE_CHROMA = {
    "median_fading": Reading("median", "expectation", "paper"),
    "median": Reading("median", "expectation"),
    "expectation": Reading("expectation", "expectation"),
    "mode": Reading("mode", "mode"),
    "sample": Reading("sample", "sample"),
    "median_fading_uniform": Reading("median", "expectation", "paper", uniform=True),
    "released": Reading("median_bin", "expectation", "released"),
    "released_uniform": Reading("median_bin", "expectation", "released", uniform=True),
}
#: head -> its decodings, the default (the paper's choice) first.
DECODINGS = {"l2": ("direct",), "lab": ("expectation", "median", "mode", "sample"),
             "lab_joint": ("expectation", "mode", "sample"), "hue_chroma": tuple(HUE_CHROMA)}
_READ = {"median": decode_median, "expectation": decode_expectation, "mode": decode_mode,
         "median_bin": lambda p, axis: decode_median(p, axis, interpolate=False)}


def _read(how: str, p: Tensor, axis: Axis, generator: torch.Generator | None) -> Tensor:
    """One axis's histogram read by ``how`` (a key of ``_READ``, or ``sample``, drawn with ``generator``)."""
    return decode_sample(p, axis, generator) if how == "sample" else _READ[how](p, axis)


class Larsson(Method):
    """Larsson et al.'s hypercolumn network and its heads.

    The decoding options ``eta`` (chromatic fading's η), ``chunk`` (pixels read at a time) and
    ``seed`` (the sample's draw) change no weights, so they are not arguments and do not key a
    checkpoint. Each head's decodings are in :data:`DECODINGS`, the paper's choice first.

    Args:
        variant: ``'l2'`` (the default), ``'lab'``, ``'lab_joint'`` or ``'hue_chroma'``.
        width: the trunk's and head's channel multiplier; 1 is VGG-16.
        head: one of :data:`HEADS`.
        layers: the layers the hypercolumn reads (:data:`~.network.LAYERS`).
        samples: pixels read per training image (sparse sampling).
        sampling: ``"sparse"`` or ``"dense"`` (every pixel).
        backbone_weights: ``"imagenet"``, ``"random"`` or a file; only ``"random"`` below width 1.
        dropout: dropout of fc6, fc7 and the head's hidden layer (official 0.5), in ``[0, 1)``.
        lambda_hue: λ_H, the weight of the hue term, ``>= 0``.
        sigma: the Gaussian of the Lab bins, ``> 0``.
        lr: Adam's learning rate.
        betas: Adam's betas.
        weight_decay: Adam's weight decay.

    Raises:
        ValueError: for an unknown ``sampling``, ``samples`` not a positive integer, an argument out
            of its range, or weights other than ``"random"`` below width 1.
    """

    name = "larsson"
    space = "lab"
    norm = IMAGENET_GRAY
    defaults = {"width": 1.0, "head": "lab", "layers": list(LAYERS), "samples": SAMPLES, "sampling": "sparse",
                "backbone_weights": "imagenet", "dropout": 0.5, "lambda_hue": LAMBDA_HUE, "sigma": LAB_SIGMA,
                "lr": 1e-3, "betas": (0.9, 0.999), "weight_decay": 0.0}
    variants = {
        "l2": Variant("L2 regression on ab / 110 (the paper's baseline)", {"head": "l2"}),
        "lab": Variant("Lab marginal histograms, K = 32 per axis at Gaussian quantiles", {"head": "lab"}),
        "lab_joint": Variant("the Lab joint histogram, 16 x 16 cells at Gaussian quantiles", {"head": "lab_joint"}),
        "hue_chroma": Variant("hue and chroma marginals, K = 32 each, the hue term weighted by chroma (lambda_H = 5)",
                              {"head": "hue_chroma"}),
    }
    choices = {"head": tuple(HEADS)}
    smoke_args = {"width": 1 / 16, "backbone_weights": "random", "samples": 16}
    input_multiple = INPUT_MULTIPLE
    #: batch norm, no instance norm: a crop-sized test tile is not padded beyond the multiple
    min_multiples = 1

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__(variant, **args)
        a = self.args
        if a["sampling"] not in ("sparse", "dense"):
            raise ValueError(f"{self.name}: sampling must be 'sparse' or 'dense'; got {a['sampling']!r}")
        if isinstance(a["samples"], bool) or not isinstance(a["samples"], int) or a["samples"] < 1:
            raise ValueError(f"{self.name}: samples must be a positive integer; got {a['samples']!r}")
        if not (a["width"] > 0 and 0.0 <= a["dropout"] < 1.0 and a["lambda_hue"] >= 0 and a["sigma"] > 0):
            raise ValueError(f"{self.name}: need width > 0, 0 <= dropout < 1, lambda_hue >= 0, sigma > 0; got "
                             f"{ {k: a[k] for k in ('width', 'dropout', 'lambda_hue', 'sigma')} }")
        if a["width"] == 1.0:
            trunk = backbone(TRUNK, a["backbone_weights"])
            trunk.net = VGGTrunk.from_torchvision(trunk.net, a["layers"], a["dropout"])
        else:
            trunk = untrained(TRUNK, VGGTrunk.build(a["width"], a["layers"], a["dropout"]), a["backbone_weights"],
                              f"ImageNet weights fit VGG-16 at width 1 only (width={a['width']})")
        self.net = HypercolumnNet(trunk, HEADS[a["head"]], a["width"], a["dropout"])
        self.lab_axis = Axis.gaussian(K_JOINT if a["head"] == "lab_joint" else K_MARGINAL, a["sigma"])
        self.hue_axis, self.chroma_axis = Axis.hue(K_MARGINAL), Axis.chroma(K_MARGINAL)

    @property
    def backbone_weights(self) -> str:
        """How the trunk was initialised, as the checkpoint keeps it.

        One of ``"imagenet"``, ``"file:<name>@<sha1>"``, ``"random (asked)"`` or
        ``"random (offline fallback)"``.
        """
        return self.net.trunk.weights

    @property
    def pretrained(self) -> bool:
        """Whether the trunk started from ImageNet weights (the paper's setting)."""
        return self.net.trunk.semantic

    def provenance(self) -> dict[str, Any]:
        """Return the trunk's initial weights as loaded, part of the checkpoint key."""
        return {"backbone_weights": self.backbone_weights}

    # ------------------------------------------------------------------------- training

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        return {"net": self.adam(self.net, mode, fused_on_cpu=True)}

    def loss(self, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        """Compute the head's loss at ``samples`` random pixels per image (``sparse``) or at every pixel.

        Raises:
            KeyError: when the batch lacks ``"L"`` or ``"ab"``.
            ValueError: in training with fc6 or fc7 read, when the batch has fewer than two values
                per channel at 1/32 resolution (batch norm needs two).
        """
        absent = [k for k in ("L", "ab") if k not in batch]
        if absent:
            raise KeyError(f"batch lacks {absent}; build the dataset with space='lab'")
        ab = batch["ab"].float()
        x = self.norm.encode_l(batch["L"].float())
        b, _, h, w = ab.shape
        coarsest = b * (h // INPUT_MULTIPLE) * (w // INPUT_MULTIPLE)
        if self.training and coarsest < 2 and {"fc6", "fc7"} & set(self.args["layers"]):
            raise ValueError(f"{self.name}: fc6's batch norm needs more than one value per channel at 1/32 "
                             f"resolution: batch_size x (crop/32)^2 >= 2; got {b} crop(s) of {h}x{w}")
        if self.args["sampling"] == "sparse":
            grid, flat = sample_points(b, h, w, self.args["samples"], device=ab.device)
            out, target = self.net(x, grid), read_at(ab, flat)
        else:
            out, target = self.net(x, chunk=h * w), ab
        return self.head_loss(out.float(), target)

    def head_loss(self, out: Tensor, ab: Tensor) -> dict[str, Tensor]:
        """Compute the head's loss at given points, with its parts.

        ``l2``: the mean squared error on ``ab / 110``. ``lab``: ``KL_a + KL_b``. ``lab_joint``: the
        joint's KL. ``hue_chroma``: ``KL_C + λ_H · C · KL_H``, the hue term weighted by the pixel's
        chroma over :data:`~.histograms.CHROMA_MAX`, clamped to ``[0, 1]``. Each KL is from the
        one-hot ground truth (:func:`~.histograms.one_hot_kl`).

        Args:
            out: the head's outputs ``(B, C, h, w)`` at the points.
            ab: the ground truth ``(B, 2, h, w)`` in ab units at the same points.

        Returns:
            ``{"loss", ...}``: the mean over the points, and its parts (``kl_a`` and ``kl_b``, or
            ``kl_hue`` and ``kl_chroma``), detached.
        """
        head, k = self.args["head"], K_MARGINAL
        if head == "l2":
            return {"loss": F.mse_loss(out, self.norm.encode_chroma(ab))}
        if head == "lab":
            kl_a = one_hot_kl(out[:, :k], self.lab_axis.index(ab[:, :1])).mean()
            kl_b = one_hot_kl(out[:, k:], self.lab_axis.index(ab[:, 1:])).mean()
            return {"loss": kl_a + kl_b, "kl_a": kl_a.detach(), "kl_b": kl_b.detach()}
        if head == "lab_joint":
            return {"loss": one_hot_kl(out, joint_index(ab, self.lab_axis)).mean()}
        hue, chroma = hue_chroma(ab)
        kl_h = one_hot_kl(out[:, :k], self.hue_axis.index(hue))
        kl_c = one_hot_kl(out[:, k:], self.chroma_axis.index(chroma))
        weight = (chroma / CHROMA_MAX).clamp(0.0, 1.0).squeeze(1)  # y_C: hue is unstable where chroma is small
        loss = (kl_c + self.args["lambda_hue"] * weight * kl_h).mean()
        return {"loss": loss, "kl_hue": kl_h.mean().detach(), "kl_chroma": kl_c.mean().detach()}

    # ---------------------------------------------------------------------- colourising

    @property
    def decodings(self) -> tuple[str, ...]:
        return DECODINGS[self.args["head"]]

    def row_labels(self, decode: str, **options: Any) -> dict[str, Any]:
        fading = HUE_CHROMA[decode].fading if self.args["head"] == "hue_chroma" else None
        return {"backbone_weights": self.backbone_weights, "head": self.args["head"],
                "eta": options.get("eta", FADING_ETA) if fading else None}

    def _outputs(self, lum: Tensor, chunk: int = CHUNK) -> Tensor:
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise ValueError(f"{self.name}: chunk must be a positive integer; got {chunk!r}")
        return self.net(self.norm.encode_l(lum), chunk=chunk).float()

    @torch.no_grad()
    def histograms(self, lum: Tensor, chunk: int = CHUNK) -> dict[str, Tensor]:
        """Predict each pixel's histograms, by axis.

        Args:
            lum: ``L`` ``(B, 1, H, W)`` in ``[0, 100]``, sides multiples of :data:`~.network.INPUT_MULTIPLE`.
            chunk: pixels read at a time.

        Returns:
            ``{"a", "b"}`` (``lab``), ``{"ab"}`` (``lab_joint``, ``K²`` cells) or ``{"hue", "chroma"}``
            (``hue_chroma``), each ``(B, K, H, W)`` summing to 1 over ``K``; for the L2 head,
            ``{"ab": ...}`` ``(B, 2, H, W)`` in ab units.

        Raises:
            ValueError: when ``chunk`` is not a positive integer.
        """
        return self._histograms(self._outputs(lum, chunk))

    def _histograms(self, out: Tensor) -> dict[str, Tensor]:
        head, k = self.args["head"], K_MARGINAL
        if head == "l2":
            return {"ab": self.norm.decode_chroma(out)}
        if head == "lab_joint":
            return {"ab": out.softmax(1)}
        names = ("a", "b") if head == "lab" else ("hue", "chroma")
        return {names[0]: out[:, :k].softmax(1), names[1]: out[:, k:].softmax(1)}

    def predict_chroma(self, lum: Tensor, decode: str, seed: int = 0, eta: float = FADING_ETA, chunk: int = CHUNK,
                       **options: Any) -> Tensor:
        """Predict ab at full resolution: the head's histograms decoded by ``decode``.

        Args:
            lum: ``L`` ``(B, 1, H, W)`` in ``[0, 100]``, sides multiples of 32.
            decode: one of the head's :data:`DECODINGS`.
            seed: the seed of the sample's draw.
            eta: chromatic fading's η, ``> 0``.
            chunk: pixels read at a time.

        Returns:
            ab ``(B, 2, H, W)`` in ab units.

        Raises:
            TypeError: for any other decoding option.
            ValueError: for ``eta <= 0`` or a bad ``chunk``.
        """
        if options:
            raise TypeError(f"{self.name}: unknown decoding option(s) {', '.join(options)}")
        if not eta > 0:
            raise ValueError(f"{self.name}: eta must be > 0; got {eta!r}")
        out, head = self._outputs(lum, chunk), self.args["head"]
        gen = torch.Generator(lum.device).manual_seed(seed) if decode == "sample" else None
        if head == "lab_joint":
            bins = joint_centres(self.lab_axis).to(lum.device)
            return (joint_expectation(out, bins) if decode == "expectation" else joint_mode(out, bins)
                    if decode == "mode" else joint_sample(out, bins, generator=gen))
        p = self._histograms(out)
        if head == "l2":
            return p["ab"]
        if head == "lab":
            return torch.cat([_read(decode, p[k], self.lab_axis, gen) for k in ("a", "b")], 1)
        how = HUE_CHROMA[decode]
        chroma = _read(how.chroma, p["chroma"], self.chroma_axis, gen)
        if how.hue != "expectation":
            return ab_from_hue_chroma(_read(how.hue, p["hue"], self.hue_axis, gen), chroma)
        hue, certainty = hue_expectation(p["hue"], self.hue_axis)
        if how.fading:  # the released code reads |z| averaged over the K bins, |z| / K
            faded = chromatic_fading(chroma, certainty / (self.hue_axis.K if how.fading == "released" else 1), eta)
            if how.uniform:  # the same share of each image's chroma, taken from every pixel alike
                share = faded.flatten(1).sum(1) / chroma.flatten(1).sum(1).clamp_min(1e-12)
                faded = chroma * share.view(-1, 1, 1, 1)
            chroma = faded
        return ab_from_hue_chroma(hue, chroma)


METHOD = Larsson
