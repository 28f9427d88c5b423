"""The contract every method of the study follows.

A :class:`Method` is a :class:`torch.nn.Module` built from plain constructor arguments,
``Method(variant, **args)``. It bundles one reproduction's networks, normalisation, training step,
decodings and variants behind one interface, which the training loop (:func:`colorlab.train.fit`)
and the evaluation (:mod:`colorlab.evaluate`) call. :class:`Variant`, :class:`Released`,
:class:`StepMode` and :class:`Trained` are the small records around it.

Example:
    >>> from colorlab.methods import build
    >>> m = build("yuv_regression", "l2", base=4)
    >>> m.args["loss"], m.variant, m.decodings
    ('l2', 'l2', ('direct',))
    >>> m.eval().colorize(torch.rand(1, 3, 5, 7)).shape
    torch.Size([1, 3, 5, 7])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..color import (
    ImageNetGrayNorm,
    LabNorm,
    YuvNorm,
    check_image,
    lab_to_rgb,
    rgb_to_lab,
    rgb_to_yuv,
    yuv_to_rgb,
)
from ..distributed import average_gradients
from ..errors import check_choice
from ..files import plain
from .records import Released, StepMode, Variant

if TYPE_CHECKING:
    from pathlib import Path

    from ..data import ColorDataset

__all__ = ["Variant", "StepMode", "Released", "Method", "Trained"]

Batch = Mapping[str, Any]
#: The luminance key of a batch in each colour space (:class:`colorlab.data.ColorDataset` items).
LUMINANCE = {"lab": "L", "yuv": "Y"}
#: The chroma key of a batch in each colour space.
CHROMA = {"lab": "ab", "yuv": "uv"}


class Method(nn.Module):
    """Base class of the study's methods.

    Its state is its networks and buffers, so ``state_dict``, ``.to(device)`` and ``train()``/``eval()``
    work as usual. ``method.args`` holds every constructor argument, resolved against :attr:`defaults`
    and the variant's presets: what a checkpoint stores to rebuild it (:mod:`colorlab.checkpoint`).
    The training loop calls :meth:`prepare`, :meth:`configure_optimizers` and :meth:`train_step`; the
    evaluation calls :meth:`colorize`. A subclass sets the class attributes, builds its networks in
    ``__init__`` after ``super().__init__(variant, **args)``, and implements :meth:`loss` (or
    :meth:`train_step`), :meth:`configure_optimizers` and :meth:`predict_chroma`.

    Args:
        variant: one of :attr:`variants`; ``None`` takes the first.
        **args: constructor arguments over :attr:`defaults` and the variant's presets.

    Raises:
        KeyError, TypeError, ValueError: for a bad variant or argument, as :meth:`resolve` says.
    """

    #: registry name (the ``method`` column of the results)
    name: ClassVar[str] = ""
    #: ``"lab"`` or ``"yuv"``: the dataset items it trains on
    space: ClassVar[str] = "lab"
    #: its named normalisation convention (:mod:`colorlab.color`)
    norm: ClassVar[LabNorm | YuvNorm | ImageNetGrayNorm]
    #: every constructor argument with its default
    defaults: ClassVar[dict[str, Any]] = {}
    #: variant name -> presets; the first is the default variant
    variants: ClassVar[dict[str, Variant]] = {}
    #: argument name -> the values it may take (checked by :meth:`resolve`)
    choices: ClassVar[dict[str, tuple[Any, ...]]] = {}
    #: small arguments for tests and smoke runs (seconds on a CPU)
    smoke_args: ClassVar[dict[str, Any]] = {}
    #: network input height and width must be multiples of this; :meth:`colorize` pads to it
    input_multiple: ClassVar[int] = 1
    #: :meth:`pad_input` pads each side to at least this many times :attr:`input_multiple`
    min_multiples: ClassVar[int] = 2
    #: released trained weights by name (``zhang2016-released``): :func:`colorlab.methods.load_released`
    released: ClassVar[dict[str, Released]] = {}
    #: arguments added after checkpoints were first named: at these values they are left out of a
    #: checkpoint's key (:meth:`key_args`), so the checkpoints trained before they came keep their names
    unkeyed_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__()
        self.variant, self.args = self.resolve(variant, args)
        #: where weights loaded from outside came from (a released model's name, file and URL); empty otherwise
        self.origin: dict[str, Any] = {}

    # ------------------------------------------------------------------------ arguments

    @classmethod
    def resolve(cls, variant: str | None, args: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Fill in every argument: the defaults, then the variant's presets, then ``args``.

        Returns:
            ``(variant, args)``, ``None`` replaced by the first variant and the arguments as plain values.

        Raises:
            KeyError: for an unknown variant, listing the known ones.
            TypeError: for an unknown argument.
            ValueError: for an argument that contradicts the variant, or one outside :attr:`choices`.

        Example:
            >>> from colorlab.methods import get
            >>> get("yuv_regression").resolve("l1_instancenorm", {"base": 8})[1]["norm"]
            'instance'
        """
        variant = next(iter(cls.variants)) if variant is None else variant
        if variant not in cls.variants:
            raise KeyError(f"{cls.name}: unknown variant {variant!r}; known: {', '.join(cls.variants)}")
        unknown = sorted(set(args) - set(cls.defaults))
        if unknown:
            raise TypeError(f"{cls.name}: unknown argument(s) {', '.join(unknown)}; known: {', '.join(cls.defaults)}")
        preset = cls.variants[variant].args
        clash = {k: v for k, v in args.items() if k in preset and plain(v) != plain(preset[k])}
        if clash:
            k = next(iter(clash))
            raise ValueError(f"{cls.name}: variant {variant!r} sets {k}={preset[k]!r}; got {k}={clash[k]!r} "
                             f"(choose the variant that has it: {', '.join(cls.variants)})")
        resolved = plain({**cls.defaults, **preset, **args})
        for name, allowed in cls.choices.items():
            check_choice(name, resolved[name], allowed, owner=cls.name)
        return variant, resolved

    @classmethod
    def crop_multiple(cls, variant: str | None, args: Mapping[str, Any]) -> int:
        """The multiple a training crop's side must be for these arguments, without building a network.

        Example:
            >>> from colorlab.methods import get
            >>> get("pix2pix").crop_multiple(None, {"num_downs": 5}), get("unet").crop_multiple("class", {})
            (32, 32)
        """
        cls.resolve(variant, args)  # an unknown variant or argument is refused as the constructor would
        return cls.input_multiple

    def key_args(self) -> dict[str, Any]:
        """Return :attr:`args` as a checkpoint's key has them: without :attr:`unkeyed_defaults` at their value.

        Example:
            >>> from colorlab.methods import build
            >>> m = build("zhang", "l2", width=0.125)
            >>> "arch" in m.args, "arch" in m.key_args()
            (True, False)
        """
        late = self.unkeyed_defaults
        return {k: v for k, v in self.args.items() if not (k in late and plain(v) == plain(late[k]))}

    def extra_repr(self) -> str:
        return f"variant={self.variant!r}, args={self.args}"

    # ------------------------------------------------------------------------- training

    def prepare(self, train_set: ColorDataset, cache_dir: str | Path | None = None) -> dict[str, Any]:
        """Compute state from the training split before training (a prior, say); return what to record."""
        return {}

    def provenance(self) -> dict[str, Any]:
        """Say how the initial state came about beyond :attr:`args`: part of a checkpoint's key.

        A pretrained backbone's weights as loaded, say (ImageNet, a file with its hash, a random fallback),
        so a model initialised one way is never reused for a run initialised another. By default a copy of
        :attr:`origin`: empty, unless released weights were loaded.
        """
        return dict(self.origin)

    def check_trainable(self) -> None:
        """Raise ``ValueError`` saying what is missing when the method cannot train yet."""

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        """Build the method's optimisers, ``{name: optimizer}`` (saved and resumed with the checkpoint)."""
        raise NotImplementedError

    def adam(self, module: nn.Module | Iterable[nn.Parameter], mode: StepMode = StepMode(), *,
             fused_on_cpu: bool = False) -> torch.optim.Adam:
        """Build Adam with the method's ``lr``, ``betas`` and ``weight_decay`` over ``module``'s parameters.

        PyTorch's fused kernel (one kernel for every parameter's update) is used on CUDA, and on the CPU
        too with ``fused_on_cpu``; nowhere when ``mode.fused_adam`` is false. ``module`` may also be the
        parameters themselves.
        """
        a = self.args
        params = list(module.parameters()) if isinstance(module, nn.Module) else list(module)
        dev = params[0].device
        use = mode.fused_adam and (dev.type == "cuda" or (fused_on_cpu and dev.type == "cpu"))
        return torch.optim.Adam(params, lr=a["lr"], betas=tuple(a["betas"]), weight_decay=a["weight_decay"],
                                **({"fused": True} if use else {}))

    def loss(self, batch: Batch) -> Tensor | dict[str, Tensor]:
        """Compute a batch's training loss: a tensor, or a dict with ``"loss"`` and other values to log."""
        raise NotImplementedError

    def autocast(self, mode: StepMode) -> AbstractContextManager:
        """bf16 autocast on CUDA when ``mode.amp`` is set, else nothing."""
        dev = next(self.parameters()).device
        return torch.autocast("cuda", dtype=torch.bfloat16) if mode.amp and dev.type == "cuda" else nullcontext()

    @staticmethod
    def update(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        """Take one optimiser step on ``loss``: zero the gradients, backpropagate, average, step.

        The gradients are averaged over the training processes when there are several
        (:func:`colorlab.distributed.average_gradients`, what DDP computes).
        """
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(p for group in optimizer.param_groups for p in group["params"])
        optimizer.step()

    def train_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer], step: int,
                   mode: StepMode = StepMode()) -> dict[str, Tensor]:
        """Run one training step and return the values to log, ``"loss"`` first, detached.

        The default computes :meth:`loss` under :meth:`autocast` and updates the single optimiser.

        Raises:
            KeyError: when :meth:`loss` returns a dict without ``"loss"``.
            ValueError: when the default step is given more than one optimiser.
        """
        with self.autocast(mode):
            out = self.loss(batch)
        out = {"loss": out} if isinstance(out, Tensor) else dict(out)
        if "loss" not in out:
            raise KeyError(f"{self.name}.loss must return a tensor or a dict with the key 'loss'")
        if len(optimizers) != 1:
            raise ValueError(
                f"{self.name}: the default train_step takes one optimiser; got {', '.join(optimizers)}")
        self.update(next(iter(optimizers.values())), out["loss"])
        return {k: v.detach() for k, v in out.items()}

    @property
    def fitted_value(self) -> str:
        """The logged value that falls while the method fits one fixed batch: ``"loss"`` by default.

        The contract test checks that the method learns by it. A GAN without a reconstruction term
        names its discriminator's loss, since its generator's rises as the discriminator learns.
        """
        return "loss"

    # ---------------------------------------------------------------------- colourising

    @property
    def decodings(self) -> tuple[str, ...]:
        """The ways this instance turns network outputs into chroma; the first is the default."""
        return ("direct",)

    def row_labels(self, decode: str, **options: Any) -> dict[str, Any]:
        """Extra columns for a result row of this decoding (a temperature, a boost factor)."""
        return {}

    def predict_chroma(self, lum: Tensor, decode: str, **options: Any) -> Tensor:
        """Predict chroma ``(B, 2, h, w)`` in natural units, at the network's output size.

        Args:
            lum: luminance ``(B, 1, H, W)`` (``L`` in ``[0, 100]``, ``Y`` in ``[0, 1]``), sides multiples
                of :attr:`input_multiple`.
            decode: one of :attr:`decodings`.
            **options: the decoding options the method takes (a temperature, a seed).
        """
        raise NotImplementedError

    def luminance(self, batch: Batch | Tensor) -> Tensor:
        """Return a batch's luminance ``(B, 1, H, W)`` in the method's space, float32.

        Its own ``"L"``/``"Y"`` when it has it, else computed from its ``"rgb"`` (a tensor is RGB); neither
        raises ``KeyError``.
        """
        key = LUMINANCE[self.space]
        if isinstance(batch, Tensor):
            batch = {"rgb": batch}
        if key in batch:
            return batch[key].float()
        if "rgb" not in batch:
            raise KeyError(f"{self.name}: a batch needs {key!r} or 'rgb'; got keys {sorted(batch)}")
        rgb = batch["rgb"]
        check_image(rgb, 3, "rgb")
        return (rgb_to_lab if self.space == "lab" else rgb_to_yuv)(rgb.float())[0]

    def to_rgb(self, lum: Tensor, chroma: Tensor) -> Tensor:
        """Join luminance and chroma, in natural units of the method's space, into RGB in the sRGB gamut."""
        return lab_to_rgb(lum, chroma) if self.space == "lab" else yuv_to_rgb(lum, chroma, clip=True)

    def check_decode(self, decode: str | None) -> str:
        """Return ``decode``, or the default for ``None``; an unknown one raises ``ValueError``."""
        if decode is None:
            return self.decodings[0]
        if decode not in self.decodings:
            raise ValueError(
                f"{self.name} ({self.variant}): unknown decoding {decode!r}; known: {', '.join(self.decodings)}")
        return decode

    @torch.no_grad()
    def colorize(self, batch: Batch | Tensor, decode: str | None = None, **options: Any) -> Tensor:
        """Colourise a batch of any image size.

        The luminance is padded (:meth:`pad_input`); the predicted chroma is resized bilinearly to the
        padded size when smaller, cropped back, and joined with the input's own luminance. Call ``eval()``
        first. It runs in float32 whatever the training step's mode, so a model scores the same whether it
        was just trained or loaded from its checkpoint.

        Args:
            batch: a dict with the method's luminance key (``"L"``, ``"Y"``) or ``"rgb"``, or an RGB tensor
                ``(B, 3, H, W)`` in ``[0, 1]``; colour inputs are reduced to their luminance first.
            decode: one of :attr:`decodings`; ``None`` takes the first.
            **options: decoding options for :meth:`predict_chroma`.

        Returns:
            RGB ``(B, 3, H, W)`` in ``[0, 1]``, the input's size.
        """
        decode = self.check_decode(decode)
        lum = self.luminance(batch)
        h, w = lum.shape[-2:]
        x = self.pad_input(lum)
        chroma = self.predict_chroma(x, decode, **options).float()
        if chroma.shape[-2:] != x.shape[-2:]:
            chroma = F.interpolate(chroma, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
        return self.to_rgb(lum, chroma[..., :h, :w])

    def pad_input(self, lum: Tensor) -> Tensor:
        """Pad luminance at the bottom and right (edge pixels repeated) to a size the network takes.

        Each side becomes a multiple of :attr:`input_multiple` and at least :attr:`min_multiples` times it:
        by default twice, so the coarsest feature map has more than one pixel (instance norm needs that). A
        method without instance norm sets 1, so a test tile of the training crop's size stays that size.

        Example:
            >>> from colorlab.methods import build
            >>> build("yuv_regression", base=4).pad_input(torch.zeros(1, 1, 5, 17)).shape
            torch.Size([1, 1, 16, 24])
        """
        h, w = lum.shape[-2:]
        m, least = self.input_multiple, self.min_multiples * self.input_multiple
        pad_h, pad_w = max(-h % m, least - h), max(-w % m, least - w)
        return F.pad(lum, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else lum

    def count_parameters(self) -> int:
        """Count the parameters that colourise, frozen ones included (not a GAN's discriminator's)."""
        return sum(p.numel() for p in self.parameters())


@dataclass
class Trained:
    """A method after training, or loaded read-only from a checkpoint.

    It holds the ``method``, its loss ``history`` and where its ``checkpoint`` is, if it has one.
    """

    method: Method
    history: pd.DataFrame
    checkpoint: Path | None = None

    def labels(self) -> dict[str, Any]:
        """Return the bookkeeping columns of its result rows: ``params``, ``steps``, ``train_seconds``."""
        return {"params": self.method.count_parameters(),
                "steps": int(self.history.attrs.get("steps", len(self.history))),
                "train_seconds": float(self.history.attrs.get("train_seconds", float("nan")))}
