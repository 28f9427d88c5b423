"""Larsson, Maire and Shakhnarovich 2016, "Learning Representations for Automatic Colorization"
(ECCV; arXiv:1603.06668; source 004; notebook 07): VGG-16 hypercolumns predicting a colour histogram
for every pixel.

* :mod:`.network`: the fully convolutional VGG-16 (fc8 discarded, fc6 and fc7 as convolutions), the
  hypercolumn read at chosen pixels, the per-pixel head;
* :mod:`.histograms`: the binned axes (Lab at Gaussian quantiles, hue, chroma), one-hot targets and
  the decodings (sample, mode, median, expectation, the complex hue expectation, chromatic fading);

**Training** (§3.2, §3.4): the gray image through the trunk; at ``samples`` pixels per image drawn
at random (the official training net reads 128 per image) the hypercolumn is read and the head
predicts there; the loss is the KL divergence from the one-hot ground-truth histogram (``R = 1``),
i.e. ``-log p`` of the true bin. ``sampling="dense"`` reads every pixel instead, the same function
at a higher cost, for the measured comparison. Adam (the official solver is SGD with momentum
0.9, lr 1e-3, weight decay 5e-4, over two million iterations; this study's budgets are hundreds).

**Heads** (the variants, the same trunk, budget and seeds):

=============== ==================================================================== ==============================
variant         output, loss                                                         decodings (default first)
=============== ==================================================================== ==============================
``l2``          ab / 110, mean squared error (the paper's regression baseline)         direct
``lab``         a and b marginals, K = 32 each at Gaussian quantiles; KL_a + KL_b    expectation, median, mode,
                                                                                     sample
``lab_joint``   the ab joint, 16 × 16 cells at Gaussian quantiles; KL                  expectation, mode, sample
``hue_chroma``  hue and chroma marginals, K = 32 each; KL_C + λ_H · C · KL_H, λ_H = 5  median_fading, median,
                (the hue term weighted by the pixel's chroma in [0, 1])              expectation, mode, sample,
                                                                                     two fading controls, released
=============== ==================================================================== ==============================

For ``hue_chroma`` (:data:`HUE_CHROMA`), ``median`` is the chroma's median with the hue's complex
expectation, ``expectation`` the chroma's expectation with it, ``median_fading`` the first with
chromatic fading as the paper states it (η = 0.03, :func:`~.histograms.chromatic_fading`),
``released`` the released code's default decoding (gustavla/autocolorize's ``median-expectation-cf``:
the centre of the chroma's median bin, and fading with ``|z|`` averaged over the K bins, a K times
higher threshold; on Lab's hue and chroma, not its HSV-like ones); ``mode`` and ``sample`` take both
axes' mode or a draw. ``median_fading_uniform`` and ``released_uniform`` are the controls the fading
is judged against: the same share of each image's chroma taken away, evenly from every pixel.

**The trunk's weights** (``backbone_weights``): at ``width = 1``, torchvision's ImageNet VGG-16-BN
(from the cache or downloaded; offline, random initialisation said on the terminal), a local file,
or ``random``; a narrower trunk (``width < 1``, the quick profile) has no pretrained weights and
takes ``random``. Every row records which ran; :attr:`Larsson.pretrained` says whether it has
ImageNet semantics.

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
    """How a hue/chroma decoding reads the two histograms: ``chroma`` (``median``, ``median_bin``,
    ``expectation``, ``mode`` or ``sample``), ``hue`` (``expectation``, ``mode`` or ``sample``),
    chromatic ``fading`` (``None``, ``"paper"`` or ``"released"``) and whether, instead of fading
    where the hue is uncertain, the same share of each image's chroma is taken away evenly from
    every pixel (``uniform``: the control the fading is judged against)."""

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

    Args (all in :attr:`defaults`): ``width`` (the trunk's and head's channel multiplier; 1 is
    VGG-16), ``head`` (see :data:`HEADS`), ``layers`` (the hypercolumn's, :data:`LAYERS`),
    ``samples`` (pixels read per training image), ``sampling`` (``"sparse"`` or ``"dense"``),
    ``backbone_weights`` (``"imagenet"``, ``"random"`` or a file; not ``"imagenet"`` below width 1),
    ``dropout`` (fc6, fc7 and the head's hidden layer, official 0.5), ``lambda_hue`` (λ_H), ``sigma``
    (of the Lab bins' Gaussian), Adam's ``lr``, ``betas``, ``weight_decay``. Decoding options (they
    change no weights, so they are not arguments and do not key a checkpoint): ``eta`` (chromatic
    fading's η), ``chunk`` (pixels read at a time), ``seed`` (the sample's draw).
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
        """How the trunk was initialised (``"imagenet"``, ``"file:<name>@<sha1>"``, ``"random (asked)"``
        or ``"random (offline fallback)"``; kept in the checkpoint)."""
        return self.net.trunk.weights

    @property
    def pretrained(self) -> bool:
        """Whether the trunk started from ImageNet weights (the paper's setting)."""
        return self.net.trunk.semantic

    def provenance(self) -> dict[str, Any]:
        """The trunk's initial weights as loaded: part of the checkpoint key."""
        return {"backbone_weights": self.backbone_weights}

    # ------------------------------------------------------------------------- training

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        return {"net": self.adam(self.net, mode, fused_on_cpu=True)}

    def loss(self, batch: Mapping[str, Any]) -> dict[str, Tensor]:
        """The head's loss at ``samples`` random pixels per image (``sparse``) or at every pixel."""
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
        """The loss of outputs ``(B, C, h, w)`` against the ground-truth ``ab`` ``(B, 2, h, w)`` at the
        same points (a mean over them), with its parts."""
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
        """Each pixel's predicted histograms ``(B, K, H, W)`` by axis (``a``, ``b``; ``ab``; ``hue``,
        ``chroma``), or ``{"ab": ...}`` in Lab units for the L2 head, from ``L`` ``(B, 1, H, W)``
        whose sides are multiples of :data:`~.network.INPUT_MULTIPLE`, read ``chunk`` pixels at a time."""
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
        """ab ``(B, 2, H, W)`` at full resolution, the head's histograms decoded by ``decode``
        (``seed`` draws the sample, ``eta`` is chromatic fading's η)."""
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
