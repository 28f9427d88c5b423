"""The contract of a method: one reproduction's networks, normalisation, training step,
decodings, variants, claims and published values, behind one interface.

A :class:`Method` is an :class:`~torch.nn.Module` (its state is its networks and buffers, so
``state_dict``, ``.to(device)`` and ``train()``/``eval()`` work as usual) built from plain
constructor arguments, ``Method(variant, **args)``; ``method.args`` holds every argument,
resolved against the class's :attr:`~Method.defaults` and the variant's presets, and is what a
checkpoint stores to rebuild it (:mod:`colorlab.checkpoint`). What the training loop
(:func:`colorlab.train.fit`) and the evaluation (:mod:`colorlab.evaluate`) call:

* :meth:`~Method.prepare` ``(train_set)``: state computed from the training data before training
  (a class prior, say); a no-op by default;
* :meth:`~Method.configure_optimizers` ``() -> {name: optimizer}``: the method's own optimisers;
* :meth:`~Method.train_step` ``(batch, optimizers, step) -> {"loss": ..., ...}``: one update; the
  default runs :meth:`~Method.loss` under :meth:`~Method.autocast` and steps the single
  optimiser, a GAN overrides it to alternate its two;
* :meth:`~Method.colorize` ``(batch, decode=...) -> rgb``: RGB ``(B, 3, H, W)`` in ``[0, 1]`` for
  any image size (inputs are padded to the network's multiple and cropped back), by one of the
  method's :attr:`~Method.decodings`; subclasses implement :meth:`~Method.predict_chroma`.

A subclass sets the class attributes (``name``, ``title``, ``source``, ``space``, ``norm``,
``defaults``, ``variants``, ``smoke_args``, ``claims``, ``published``), builds its networks in
``__init__`` after ``super().__init__(variant, **args)``, and implements ``loss`` (or
``train_step``), ``configure_optimizers`` and ``predict_chroma``. A method whose authors released
trained weights declares them in :attr:`~Method.released` (:class:`Released`, loaded by
:func:`colorlab.methods.load_released`).

Example:
    >>> from colorlab.methods import build
    >>> m = build("yuv_regression", "l2", base=4)
    >>> m.args["loss"], m.variant, m.decodings
    ('l2', 'l2', ('direct',))
    >>> m.eval().colorize(torch.rand(1, 3, 5, 7)).shape
    torch.Size([1, 3, 5, 7])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
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

if TYPE_CHECKING:
    from pathlib import Path

    from ..data import ColorDataset

__all__ = ["Variant", "StepMode", "Released", "Method", "Trained"]

Batch = Mapping[str, Any]
#: The luminance key of a batch in each colour space (:class:`colorlab.data.ColorDataset` items).
LUMINANCE = {"lab": "L", "yuv": "Y"}
#: The chroma key of a batch in each colour space.
CHROMA = {"lab": "ab", "yuv": "uv"}


@dataclass(frozen=True)
class Variant:
    """One named configuration of a method: a description and the arguments it presets."""

    description: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepMode:
    """How a training step runs, beyond the method's own arguments: what
    :class:`colorlab.train.TrainConfig` asks for on this device (:func:`colorlab.train.step_mode`).

    Args:
        amp: bf16 autocast of the forward passes (CUDA only).
        fused_adam: PyTorch's fused Adam where the method uses it; ``False``, nowhere (the
            official recipes' plain Adam, a baseline of ``colorlab bench``).
    """

    amp: bool = False
    fused_adam: bool = True


@dataclass(frozen=True)
class Released:
    """Trained weights a source's authors released: what they are, where ``torch.hub`` fetches
    them, and ``build(cls, state_dict)``, which maps them into a new method of the class that
    declares them, in eval mode (raising ``ValueError`` naming the keys and shapes that do not fit)."""

    description: str
    url: str
    build: Callable[[type[Method], Mapping[str, Tensor]], Method]


class Method(nn.Module):
    """Base class of the study's methods; see the module docstring."""

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
        """``(variant, args)`` with every argument filled in: the defaults, then the variant's
        presets, then ``args``. An unknown variant raises ``KeyError`` listing the known ones, an
        unknown argument ``TypeError``, an argument contradicting the variant ``ValueError``.

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

    def key_args(self) -> dict[str, Any]:
        """:attr:`args` as a checkpoint's key has them: without the :attr:`unkeyed_defaults` at their value.

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
        """Compute state from the training split before training (a prior, say); return what to
        record about it. The default has none."""
        return {}

    def provenance(self) -> dict[str, Any]:
        """How the initial state came about beyond :attr:`args` (a pretrained backbone's weights
        actually loaded: ImageNet, a file with its hash, or a random fallback). Part of a
        checkpoint's key in :class:`colorlab.study.Study`, so a model initialised one way is never
        reused for a run initialised another; recorded with the model. By default :attr:`origin`:
        empty, unless released weights were loaded (:func:`colorlab.methods.load_released`)."""
        return dict(self.origin)

    def check_trainable(self) -> None:
        """Raise ``ValueError`` saying what is missing when the method cannot train yet."""

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        """The method's optimisers by name (saved and resumed with the checkpoint)."""
        raise NotImplementedError

    def adam(self, module: nn.Module | Iterable[nn.Parameter], mode: StepMode = StepMode(), *,
             fused_on_cpu: bool = False) -> torch.optim.Adam:
        """Adam over ``module``'s parameters (or the parameters given) with the method's ``lr``,
        ``betas`` and ``weight_decay``; PyTorch's fused kernel (one kernel for every parameter's
        update, instead of several per parameter) on CUDA, also on the CPU with ``fused_on_cpu``,
        nowhere when ``mode.fused_adam`` is false."""
        a = self.args
        params = list(module.parameters()) if isinstance(module, nn.Module) else list(module)
        dev = params[0].device
        use = mode.fused_adam and (dev.type == "cuda" or (fused_on_cpu and dev.type == "cpu"))
        return torch.optim.Adam(params, lr=a["lr"], betas=tuple(a["betas"]), weight_decay=a["weight_decay"],
                                **({"fused": True} if use else {}))

    def loss(self, batch: Batch) -> Tensor | dict[str, Tensor]:
        """The training loss of a batch (on the device), or a dict with ``"loss"`` and values to log."""
        raise NotImplementedError

    def autocast(self, mode: StepMode) -> AbstractContextManager:
        """bf16 autocast on CUDA when ``mode.amp`` is set, else nothing."""
        dev = next(self.parameters()).device
        return torch.autocast("cuda", dtype=torch.bfloat16) if mode.amp and dev.type == "cuda" else nullcontext()

    @staticmethod
    def update(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
        """One optimiser step on ``loss``: zero the gradients, backpropagate, average the gradients
        over the training processes when there are several (:func:`colorlab.distributed.average_gradients`,
        what DDP computes), step."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(p for group in optimizer.param_groups for p in group["params"])
        optimizer.step()

    def train_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer], step: int,
                   mode: StepMode = StepMode()) -> dict[str, Tensor]:
        """One training step: the default computes :meth:`loss` under :meth:`autocast` and updates
        the single optimiser. Returns the values to log (``"loss"`` first, detached)."""
        with self.autocast(mode):
            out = self.loss(batch)
        out = {"loss": out} if isinstance(out, Tensor) else dict(out)
        if "loss" not in out:
            raise KeyError(f"{self.name}.loss must return a tensor or a dict with the key 'loss'")
        if len(optimizers) != 1:
            raise ValueError(f"{self.name}: the default train_step takes one optimiser; got {', '.join(optimizers)}")
        self.update(next(iter(optimizers.values())), out["loss"])
        return {k: v.detach() for k, v in out.items()}

    @property
    def fitted_value(self) -> str:
        """The logged value that falls while the method fits one fixed batch (the contract test's
        check that it learns): ``"loss"``; a GAN without a reconstruction term names its
        discriminator's loss, since its generator's rises as the discriminator learns."""
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
        """Chroma in natural units (Lab ``ab`` or YUV ``uv``), ``(B, 2, h, w)`` at the network's
        output resolution, from luminance ``(B, 1, H, W)`` in natural units (``L`` in
        ``[0, 100]`` or ``Y`` in ``[0, 1]``) whose sides are multiples of :attr:`input_multiple`."""
        raise NotImplementedError

    def luminance(self, batch: Batch | Tensor) -> Tensor:
        """The luminance ``(B, 1, H, W)`` of a batch in the method's space: the batch's own
        ``"L"``/``"Y"`` when it has it, else computed from its ``"rgb"`` (a tensor is RGB)."""
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
        """RGB in the sRGB gamut from luminance and chroma in natural units of the method's space."""
        return lab_to_rgb(lum, chroma) if self.space == "lab" else yuv_to_rgb(lum, chroma, clip=True)

    def check_decode(self, decode: str | None) -> str:
        """``decode`` or the default; an unknown one raises ``ValueError`` listing the known ones."""
        if decode is None:
            return self.decodings[0]
        if decode not in self.decodings:
            raise ValueError(f"{self.name} ({self.variant}): unknown decoding {decode!r}; known: {', '.join(self.decodings)}")
        return decode

    @torch.no_grad()
    def colorize(self, batch: Batch | Tensor, decode: str | None = None, **options: Any) -> Tensor:
        """RGB ``(B, 3, H, W)`` in ``[0, 1]`` from a batch (a dict with the method's luminance key or
        ``"rgb"``, or an RGB tensor; colour inputs are reduced to their luminance first).

        The luminance is padded (edge pixels repeated) up to a multiple of :attr:`input_multiple`
        and at least twice it on each side, the predicted chroma is resized bilinearly to the padded size when the network's output
        is smaller, cropped back and joined with the input's own full-resolution luminance.
        Call ``eval()`` first (a loaded checkpoint and a finished training run are in eval mode).
        Colourising runs in float32 whatever the training step's mode, so a model scores the same whether it
        was just trained or loaded from its checkpoint.
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
        """``lum`` padded at the bottom and right (edge pixels repeated) to a multiple of
        :attr:`input_multiple` and at least :attr:`min_multiples` times it on each side: by default
        twice, so the coarsest feature map has more than one pixel (instance norm needs that; a
        1-pixel image would reach it as 1x1). A method without instance norm sets 1, so a test tile
        of the crop size the network trained on stays that size."""
        h, w = lum.shape[-2:]
        m, least = self.input_multiple, self.min_multiples * self.input_multiple
        pad_h, pad_w = max(-h % m, least - h), max(-w % m, least - w)
        return F.pad(lum, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else lum

    def count_parameters(self) -> int:
        """Parameters of the networks that colourise, frozen ones included (all of the method's,
        unless it says otherwise: a GAN's discriminator does not colourise)."""
        return sum(p.numel() for p in self.parameters())


@dataclass
class Trained:
    """A method after training (or loaded read-only from a checkpoint), its loss history and
    where its checkpoint is."""

    method: Method
    history: pd.DataFrame
    checkpoint: Path | None = None

    def labels(self) -> dict[str, Any]:
        """The bookkeeping columns of its result rows: ``params``, ``steps``, ``train_seconds``."""
        return {"params": self.method.count_parameters(), "steps": int(self.history.attrs.get("steps", len(self.history))),
                "train_seconds": float(self.history.attrs.get("train_seconds", float("nan")))}
