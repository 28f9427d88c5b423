"""Global features fused into a colourisation CNN; RGB versus YUV output (notebook 05).

Source 002 is "colorize" by P. Saikko, after Iizuka et al. 2016 and Baldassarre et al. 2017.
:class:`Fusion` trains the source's CNN (:mod:`.network`) with a mean squared error and Adam, on Y,
with R, G, B or U, V out, and optionally a fusion layer of global features from a network trained
jointly or from ResNet-50. The global branch sees the whole photo. The variants table and how the
frozen features are computed once: ``docs/methods/fusion.md``.

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

    Args:
        name: the convention's name.

    Example:
        >>> RGB_TANH.decode(RGB_TANH.encode(torch.tensor([0.0, 0.25, 1.0]))).tolist()
        [0.0, 0.25, 1.0]
    """

    name: str = "rgb_tanh"

    def encode(self, rgb: Tensor) -> Tensor:
        """Map RGB in ``[0, 1]`` to ``[-1, 1]``."""
        return rgb * 2.0 - 1.0

    def decode(self, y: Tensor) -> Tensor:
        """Map ``[-1, 1]`` back to RGB in ``[0, 1]``."""
        return (y + 1.0) / 2.0


RGB_TANH = RgbTanh()


class Fusion(Method):
    """Source 002's CNN with RGB or UV output and an optional fusion layer.

    The RGB network has two decodings: ``'chroma'``, its U, V joined with the input's own Y like
    every other method, and ``'rgb'``, its RGB as it is (what the source showed). A UV network has
    ``'direct'``.

    Args:
        variant: ``'rgb'`` (the default), ``'uv'``, ``'uv_fusion'`` or ``'uv_fusion_resnet'``.
        base: the width: ``base, 2·base, 4·base`` channels.
        residual_blocks: residual blocks at 1/4 resolution.
        output: ``'uv'`` or ``'rgb'`` (:data:`OUTPUTS`).
        fusion: the global branch: ``'none'``, ``'joint'`` or ``'resnet'`` (:data:`GLOBAL_BRANCHES`).
        backbone_weights: the ResNet-50 branch's weights: ``'imagenet'``, ``'random'`` or a file
            (:func:`colorlab.backbones.backbone`).
        freeze_backbone: keep the ResNet-50 branch frozen (the source's feature extractor).
        global_size: the side the global branch sees the photo at (Iizuka et al.: 224).
        joint_dim: features of the joint branch.
        lr: Adam's learning rate.
        betas: Adam's betas.
        weight_decay: Adam's weight decay.

    Raises:
        ValueError: when ``base``, ``global_size`` or ``joint_dim`` is not a positive integer.
    """

    name = "fusion"
    space = "yuv"
    norm = YUV
    defaults = {"base": 32, "residual_blocks": RESIDUAL_BLOCKS, "output": "uv", "fusion": "none",
                "backbone_weights": "imagenet", "freeze_backbone": True, "global_size": 224, "joint_dim": 256,
                "lr": 1e-3, "betas": (0.9, 0.999), "weight_decay": 0.0}
    variants = {
        "rgb": Variant("R, G, B out, no global features (the source's first network)",
                       {"output": "rgb", "fusion": "none"}),
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
        """How the ResNet-50 branch was initialised, as the checkpoint keeps it; ``None`` without one.

        One of ``imagenet``, ``file:...``, ``random (asked)`` or ``random (offline fallback)``.
        """
        return self.glob.backbone.weights if isinstance(self.glob, ResNetGlobal) else None

    @property
    def pretrained(self) -> bool:
        """Whether the global features have ImageNet semantics (a ResNet-50 branch from ImageNet weights)."""
        return isinstance(self.glob, ResNetGlobal) and self.glob.backbone.semantic

    def provenance(self) -> dict[str, Any]:
        """Return the ResNet-50 branch's weights as loaded (part of the checkpoint key); ``{}`` without one."""
        return {"backbone_weights": self.backbone_weights} if self.backbone_weights is not None else {}

    @property
    def precomputes(self) -> bool:
        """Whether the global features are computed once per training photo (a frozen ResNet-50)."""
        return isinstance(self.glob, ResNetGlobal) and self.glob.frozen

    # -------------------------------------------------------------------------- training

    def prepare(self, train_set: ColorDataset, cache_dir: str | Path | None = None) -> dict[str, Any]:
        """Remember the training photos, so that their frozen features are computed once.

        The first training step computes them. Only with a frozen ResNet-50 and a training set whose
        items carry the whole photo (``context``); otherwise the features are computed every step.

        Args:
            train_set: the training split.
            cache_dir: unused.

        Returns:
            ``{"global_features": how they are computed}``, or ``{}`` without a frozen ResNet-50.
        """
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
        """Compute the global branch's features of the whole photo.

        Args:
            context: luminance ``(B, 1, h, w)`` in ``[0, 1]``, scaled to ``global_size²`` first.

        Returns:
            ``(B, D)``.

        Raises:
            ValueError: when the method has no global branch.
        """
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
        """Return the mean squared error of the normalised output.

        The output is U, V (``U/U_MAX``, ``V/V_MAX``) or ``2·rgb − 1``.

        Raises:
            KeyError: when the batch lacks ``"Y"``, ``"uv"`` or ``"rgb"`` (a dataset built in Lab).
        """
        absent = [k for k in ("Y", "uv", "rgb") if k not in batch]
        if absent:
            raise KeyError(f"batch lacks {absent}; build the dataset with space='yuv'")
        out = self.net(batch["Y"].float(), self._batch_features(batch)).float()
        target = (RGB_TANH.encode(batch["rgb"].float()) if self.args["output"] == "rgb"
                  else self.norm.encode_chroma(batch["uv"].float()))
        return F.mse_loss(out, target)

    # ------------------------------------------------------------------------ colourising

    @property
    def decodings(self) -> tuple[str, ...]:
        return ("chroma", "rgb") if self.args["output"] == "rgb" else ("direct",)

    def row_labels(self, decode: str, **options: Any) -> dict[str, Any]:
        return {"output": self.args["output"], "fusion": self.args["fusion"],
                "backbone_weights": self.backbone_weights}

    def _output(self, lum: Tensor, context: Tensor | None) -> Tensor:
        g = None if self.glob is None else self.global_features(lum if context is None else context)
        return self.net(lum, g).float()

    def predict_chroma(self, lum: Tensor, decode: str, context: Tensor | None = None, **options: Any) -> Tensor:
        """Predict U, V: the UV head's, or the U, V of the RGB head's colours.

        Args:
            lum: ``Y`` ``(B, 1, H, W)`` in ``[0, 1]``, sides multiples of 4.
            decode: the decoding (the same U, V for each).
            context: the whole photo's luminance for the global branch; ``None`` gives it ``lum``.

        Returns:
            U, V ``(B, 2, H, W)`` in natural units.

        Raises:
            TypeError: for any other decoding option.
        """
        if options:
            raise TypeError(f"{self.name}: unknown decoding option(s) {', '.join(options)}")
        out = self._output(lum, context)
        if self.args["output"] == "rgb":
            return rgb_to_yuv(RGB_TANH.decode(out).clamp(0.0, 1.0))[1]
        return self.norm.decode_chroma(out)

    @torch.no_grad()
    def colorize(self, batch: Mapping[str, Any] | Tensor, decode: str | None = None, **options: Any) -> Tensor:
        """Colourise as :meth:`Method.colorize` does, the global branch seeing the whole photos.

        Args:
            batch: as :meth:`Method.colorize` takes it; its ``"context"``, when it has one, is what
                the global branch sees, else the input.
            decode: one of :attr:`decodings`; ``'rgb'`` returns the RGB head's colours as they are,
                luminance included.
            **options: none are taken.

        Returns:
            RGB ``(B, 3, H, W)`` in ``[0, 1]``.

        Raises:
            ValueError: for an unknown decoding.
            TypeError: for any decoding option.
        """
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
