"""Global features fused into a colourisation CNN, RGB versus YUV output (source 002, "colorize",
P. Saikko, after Iizuka et al. 2016 and Baldassarre et al. 2017; notebook 05).

* :mod:`.network`: the source's CNN (:class:`~.network.Colorizer`), the fusion layer and the two
  global branches (ResNet-50 features, or a small network trained jointly from scratch).

**Variants**, all with the source's mean squared error and Adam, Y in:

============== ======= ============================================================
variant        output  global features fused in the middle
============== ======= ============================================================
``rgb``        R, G, B none (the source's first network)
``uv``         U, V    none
``uv_fusion``  U, V    a global network trained jointly from scratch (Iizuka et al.)
``uv_fusion_resnet`` U, V ResNet-50's pooled features, frozen (the source's)
============== ======= ============================================================

Normalisations have names: Y as is in ``[0, 1]`` and ``U/U_MAX, V/V_MAX`` out
(:data:`colorlab.color.YUV`); the RGB output ``2·rgb − 1`` (:data:`RGB_TANH`, the tanh range). The
RGB network is decoded two ways: ``chroma`` (its U, V joined with the input's own Y, like every
other method) and ``rgb`` (its RGB as it is, what the source showed).

**The global branches see the whole photo** (a dataset item's ``context``, its luminance scaled to
``global_size²``; without one, the input itself scaled). With the ResNet-50 frozen its features of a
training photo never change, so they are **computed once per training image** at the first
training step after :meth:`Fusion.prepare` (the source's to-do: "precompute feature vectors") and
looked up by the batch's image index; the tests check they equal computing them every step.
``backbone_weights`` is ``imagenet`` (torchvision's; offline without a cached copy, random
initialisation said on the terminal), ``random`` or a local file (:func:`colorlab.backbones.backbone`);
every row records what ran (``backbone_weights``).

Example:
    >>> m = Fusion("uv_fusion", base=4, residual_blocks=1, global_size=32).eval()
    >>> m.colorize(torch.rand(2, 3, 20, 12)).shape
    torch.Size([2, 3, 20, 12])
    >>> Fusion("rgb", base=4).decodings
    ('chroma', 'rgb')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import progress
from ...color import YUV, rgb_to_yuv
from ..base import Method, StepMode, Variant
from .network import (
    INPUT_MULTIPLE,
    RESIDUAL_BLOCKS,
    Colorizer,
    JointGlobal,
    ResNetGlobal,
    scale_context,
)

if TYPE_CHECKING:
    from ...data import ColorDataset

__all__ = ["Fusion", "RgbTanh", "RGB_TANH", "OUTPUTS", "GLOBAL_BRANCHES", "PRECOMPUTE_BATCH"]

#: Output channels of each output space.
OUTPUTS = {"uv": 2, "rgb": 3}
#: The global branches: none, trained jointly, ResNet-50.
GLOBAL_BRANCHES = ("none", "joint", "resnet")
#: Photos per forward pass when the frozen ResNet-50's features are computed once per photo.
PRECOMPUTE_BATCH = 16


@dataclass(frozen=True)
class RgbTanh:
    """The RGB output convention: ``y = 2·rgb − 1`` in the tanh range ``[-1, 1]``.

    Example:
        >>> RGB_TANH.decode(RGB_TANH.encode(torch.tensor([0.0, 0.25, 1.0]))).tolist()
        [0.0, 0.25, 1.0]
    """

    name: str = "rgb_tanh"

    def encode(self, rgb: Tensor) -> Tensor:
        return rgb * 2.0 - 1.0

    def decode(self, y: Tensor) -> Tensor:
        return (y + 1.0) / 2.0


RGB_TANH = RgbTanh()


class Fusion(Method):
    """Source 002's CNN with RGB or UV output and an optional fusion layer.

    Args (all in :attr:`defaults`): ``base`` (width: ``base, 2·base, 4·base`` channels),
    ``residual_blocks``, ``output`` (``'uv'`` or ``'rgb'``), ``fusion`` (``'none'``, ``'joint'``,
    ``'resnet'``), ``backbone_weights`` and ``freeze_backbone`` (the ResNet-50 branch),
    ``global_size`` (the side the global branch sees the photo at; Iizuka et al.: 224),
    ``joint_dim`` (features of the joint branch), Adam's ``lr``, ``betas``, ``weight_decay``.
    """

    name = "fusion"
    space = "yuv"
    norm = YUV
    defaults = {"base": 32, "residual_blocks": RESIDUAL_BLOCKS, "output": "uv", "fusion": "none",
                "backbone_weights": "imagenet", "freeze_backbone": True, "global_size": 224, "joint_dim": 256,
                "lr": 1e-3, "betas": (0.9, 0.999), "weight_decay": 0.0}
    variants = {
        "rgb": Variant("R, G, B out, no global features (the source's first network)", {"output": "rgb", "fusion": "none"}),
        "uv": Variant("U, V out, no global features", {"output": "uv", "fusion": "none"}),
        "uv_fusion": Variant("U, V out, fused with a global network trained jointly from scratch (Iizuka et al.)",
                             {"output": "uv", "fusion": "joint"}),
        "uv_fusion_resnet": Variant("U, V out, fused with ResNet-50's pooled features, frozen (the source's)",
                                    {"output": "uv", "fusion": "resnet"}),
    }
    choices = {"output": tuple(OUTPUTS), "fusion": GLOBAL_BRANCHES}
    smoke_args = {"base": 4, "residual_blocks": 1, "global_size": 32, "joint_dim": 16, "backbone_weights": "random"}
    input_multiple = INPUT_MULTIPLE

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__(variant, **args)
        a = self.args
        for k in ("base", "global_size", "joint_dim"):
            if isinstance(a[k], bool) or not isinstance(a[k], int) or a[k] < 1:
                raise ValueError(f"{self.name}: {k} must be a positive integer; got {a[k]!r}")
        self.glob: nn.Module | None = None
        if a["fusion"] == "joint":
            self.glob = JointGlobal(a["base"], a["joint_dim"])
        elif a["fusion"] == "resnet":
            self.glob = ResNetGlobal(a["backbone_weights"], frozen=bool(a["freeze_backbone"]))
        dim = getattr(self.glob, "dim", None)
        self.net = Colorizer(a["base"], OUTPUTS[a["output"]], a["residual_blocks"], global_dim=dim)
        self._pending: ColorDataset | None = None  # training photos whose frozen features are still to compute
        self._table: Tensor | None = None  # their features, by image index

    # ------------------------------------------------------------------------ provenance

    @property
    def backbone_weights(self) -> str | None:
        """How the ResNet-50 branch was initialised (``imagenet``, ``file:...``, ``random (asked)``,
        ``random (offline fallback)``; kept in the checkpoint), ``None`` without one."""
        return self.glob.backbone.weights if isinstance(self.glob, ResNetGlobal) else None

    @property
    def pretrained(self) -> bool:
        """Whether the global features have ImageNet semantics (a ResNet-50 branch from ImageNet weights)."""
        return isinstance(self.glob, ResNetGlobal) and self.glob.backbone.semantic

    def provenance(self) -> dict[str, Any]:
        return {"backbone_weights": self.backbone_weights} if self.backbone_weights is not None else {}

    @property
    def precomputes(self) -> bool:
        """Whether the global features are computed once per training photo (a frozen ResNet-50)."""
        return isinstance(self.glob, ResNetGlobal) and self.glob.frozen

    # -------------------------------------------------------------------------- training

    def prepare(self, train_set: ColorDataset, cache_dir: str | Path | None = None) -> dict[str, Any]:
        """With a frozen ResNet-50 and a training set whose items carry the whole photo
        (``context``): remember it, so the first training step computes each photo's features once."""
        self._pending, self._table = None, None
        if not self.precomputes:
            return {}
        if getattr(train_set, "context", None) is None:
            return {"global_features": "computed every step (the training items carry no context)"}
        self._pending = train_set
        return {"global_features": f"computed once per training photo ({len(train_set.images)} photos)"}

    @torch.no_grad()
    def _precompute(self, ds: ColorDataset) -> Tensor:
        dev = next(self.parameters()).device
        n, feats = len(ds.images), []
        progress.phase(f"global features of {n} training photos")
        for start in range(0, n, PRECOMPUTE_BATCH):
            ctx = torch.stack([ds.context_of(i) for i in range(start, min(n, start + PRECOMPUTE_BATCH))])
            feats.append(self.global_features(ctx.to(dev)).float())
        progress.phase(f"train {self.name}/{self.variant}")
        return torch.cat(feats)

    def global_features(self, context: Tensor) -> Tensor:
        """The global branch's features ``(B, D)`` of luminance ``(B, 1, h, w)`` (the whole photo),
        scaled to ``global_size²`` first."""
        if self.glob is None:
            raise ValueError(f"{self.name} ({self.variant}) has no global branch")
        return self.glob(scale_context(context.float(), self.args["global_size"]))

    def _batch_features(self, batch: Mapping[str, Any]) -> Tensor | None:
        if self.glob is None:
            return None
        if self._pending is not None:
            self._table, self._pending = self._precompute(self._pending), None
        if self._table is not None and "image" in batch:
            return self._table[batch["image"].to(self._table.device)]
        return self.global_features(batch["context"] if "context" in batch else batch["Y"])

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        return {"net": self.adam((p for p in self.parameters() if p.requires_grad), mode)}

    def loss(self, batch: Mapping[str, Any]) -> Tensor:
        """Mean squared error of the normalised output: U, V (``U/U_MAX``, ``V/V_MAX``) or ``2·rgb − 1``."""
        absent = [k for k in ("Y", "uv", "rgb") if k not in batch]
        if absent:
            raise KeyError(f"batch lacks {absent}; build the dataset with space='yuv'")
        out = self.net(batch["Y"].float(), self._batch_features(batch)).float()
        target = RGB_TANH.encode(batch["rgb"].float()) if self.args["output"] == "rgb" else self.norm.encode_chroma(batch["uv"].float())
        return F.mse_loss(out, target)

    # ------------------------------------------------------------------------ colourising

    @property
    def decodings(self) -> tuple[str, ...]:
        return ("chroma", "rgb") if self.args["output"] == "rgb" else ("direct",)

    def row_labels(self, decode: str, **options: Any) -> dict[str, Any]:
        return {"output": self.args["output"], "fusion": self.args["fusion"], "backbone_weights": self.backbone_weights}

    def _output(self, lum: Tensor, context: Tensor | None) -> Tensor:
        g = None if self.glob is None else self.global_features(lum if context is None else context)
        return self.net(lum, g).float()

    def predict_chroma(self, lum: Tensor, decode: str, context: Tensor | None = None, **options: Any) -> Tensor:
        """U, V ``(B, 2, H, W)``: the UV head's, or the U, V of the RGB head's colours; the global
        branch sees ``context`` (the whole photo), else ``lum``."""
        if options:
            raise TypeError(f"{self.name}: unknown decoding option(s) {', '.join(options)}")
        out = self._output(lum, context)
        if self.args["output"] == "rgb":
            return rgb_to_yuv(RGB_TANH.decode(out).clamp(0.0, 1.0))[1]
        return self.norm.decode_chroma(out)

    @torch.no_grad()
    def colorize(self, batch: Mapping[str, Any] | Tensor, decode: str | None = None, **options: Any) -> Tensor:
        """As :meth:`Method.colorize`; the global branch sees the batch's ``context`` (its photos,
        whole) when it has one, else the input. ``decode='rgb'`` returns the RGB head's colours as
        they are, luminance included."""
        decode = self.check_decode(decode)
        lum = self.luminance(batch)
        context = batch["context"].float() if isinstance(batch, Mapping) and "context" in batch else lum
        if decode != "rgb":
            return super().colorize(batch, decode, context=context, **options)
        if options:
            raise TypeError(f"{self.name}: unknown decoding option(s) {', '.join(options)}")
        h, w = lum.shape[-2:]
        return RGB_TANH.decode(self._output(self.pad_input(lum), context))[..., :h, :w].clamp(0.0, 1.0)


METHOD = Fusion
