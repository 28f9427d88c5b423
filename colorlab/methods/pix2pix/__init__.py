"""pix2pix, a conditional GAN, for colourisation in Lab (source 003; notebook 06).

After Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks" (CVPR 2017),
as in junyanz/pytorch-CycleGAN-and-pix2pix ``--model colorization``. :class:`Pix2Pix` trains a
U-Net generator from L to ab against a 70×70 PatchGAN discriminator (:mod:`.network`), with two
Adam optimisers. The variants ``l1``, ``l1_gan`` and ``gan`` share the generator, budget and seeds.
The training step, the variants and the two decodings: ``docs/methods/pix2pix.md``.

Example:
    >>> m = Pix2Pix("l1_gan", ngf=4, ndf=4, num_downs=3).eval()
    >>> m.colorize(torch.rand(2, 3, 20, 12)).shape, sorted(m.configure_optimizers()), m.decodings
    (torch.Size([2, 3, 20, 12]), ['d', 'g'], ('direct', 'paper'))
    >>> Pix2Pix("l1", ngf=4, num_downs=3).discriminator is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ...color import PIX2PIX
from ..base import Method, StepMode, Variant
from .network import (
    DROPOUT,
    GAN_MODES,
    PatchDiscriminator,
    UNetGenerator,
    gan_loss,
    init_weights,
    patch_accuracy,
)

__all__ = ["Pix2Pix", "L1_WEIGHT"]

#: The official weight of the L1 term (``--lambda_L1``).
L1_WEIGHT = 100.0


class Pix2Pix(Method):
    """pix2pix for colourisation: L in, ab out, ``A = L/50 − 1``, ``B = ab/110``.

    Decodings: ``'direct'`` runs the generator in eval mode. ``'paper'`` runs it as in training,
    image by image, with dropout on (seeded) and each image's own batch-norm statistics: the
    paper's inference, which the claims are judged on.

    Args:
        variant: ``'l1'`` (the default: no discriminator), ``'l1_gan'`` or ``'gan'``.
        ngf: the generator's first width (official 64).
        ndf: the discriminator's first width (official 64).
        num_downs: the generator's levels (official 8, ``unet_256``: inputs multiples of 256).
        n_layers_d: the PatchGAN's stride-2 layers; 3 gives 70×70 patches.
        dropout: dropout in the generator's inner decoder levels, in ``[0, 1)``.
        gan_mode: ``'vanilla'`` or ``'lsgan'``.
        gan_weight: the weight of the GAN term; 0 builds no discriminator.
        l1_weight: the weight of the L1 term.
        lr: Adam's learning rate (both optimisers).
        betas: Adam's betas (both optimisers).
        weight_decay: Adam's weight decay (both optimisers).

    Raises:
        ValueError: when a width or level count is not a positive integer, ``num_downs < 2``, or
            ``dropout`` is outside ``[0, 1)``.
    """

    name = "pix2pix"
    space = "lab"
    norm = PIX2PIX
    defaults = {"ngf": 64, "ndf": 64, "num_downs": 8, "n_layers_d": 3, "dropout": DROPOUT, "gan_mode": "vanilla",
                "gan_weight": 1.0, "l1_weight": L1_WEIGHT, "lr": 2e-4, "betas": (0.5, 0.999), "weight_decay": 0.0}
    variants = {
        "l1": Variant("the generator alone on L1 (λ = 100), no discriminator",
                      {"gan_weight": 0.0, "l1_weight": L1_WEIGHT}),
        "l1_gan": Variant("pix2pix: L1 (λ = 100) + the conditional GAN", {"gan_weight": 1.0, "l1_weight": L1_WEIGHT}),
        "gan": Variant("the conditional GAN alone, no L1 term", {"gan_weight": 1.0, "l1_weight": 0.0}),
    }
    choices = {"gan_mode": GAN_MODES}
    smoke_args = {"ngf": 4, "ndf": 4, "num_downs": 3, "n_layers_d": 2}
    #: no instance norm: a crop-sized test tile is padded to the multiple only, the size the generator
    #: trained on
    min_multiples = 1

    def __init__(self, variant: str | None = None, **args: Any) -> None:
        super().__init__(variant, **args)
        a = self.args
        for k in ("ngf", "ndf", "num_downs", "n_layers_d"):
            if isinstance(a[k], bool) or not isinstance(a[k], int) or a[k] < 1:
                raise ValueError(f"{self.name}: {k} must be a positive integer; got {a[k]!r}")
        if a["num_downs"] < 2:
            raise ValueError(f"{self.name}: num_downs must be at least 2; got {a['num_downs']}")
        if not 0.0 <= a["dropout"] < 1.0:
            raise ValueError(f"{self.name}: dropout must be in [0, 1); got {a['dropout']!r}")
        self.generator = init_weights(UNetGenerator(1, 2, a["num_downs"], a["ngf"], a["dropout"]))
        self.discriminator = (init_weights(PatchDiscriminator(3, a["ndf"], a["n_layers_d"]))
                              if a["gan_weight"] > 0 else None)

    @property
    def input_multiple(self) -> int:  # type: ignore[override]
        """The generator's input multiple, ``2**num_downs``."""
        return self.generator.multiple

    @classmethod
    def crop_multiple(cls, variant: str | None, args: Mapping[str, Any]) -> int:
        """``2**num_downs``: the U-Net halves its input ``num_downs`` times down to one pixel."""
        return 2 ** cls.resolve(variant, args)[1]["num_downs"]

    @property
    def adversarial(self) -> bool:
        """Whether a discriminator trains alongside (``gan_weight > 0``)."""
        return self.discriminator is not None

    @property
    def fitted_value(self) -> str:
        """The logged value that falls on a fixed batch: ``"d_loss"`` for the GAN alone, else ``"loss"``.

        The GAN alone has no reconstruction term: its generator's loss rises as the discriminator
        learns a fixed batch, and the discriminator's falls.
        """
        return "loss" if self.args["l1_weight"] > 0 else "d_loss"

    def count_parameters(self) -> int:
        """Count the generator's parameters (the discriminator does not colourise)."""
        return sum(p.numel() for p in self.generator.parameters())

    # -------------------------------------------------------------------------- training

    def configure_optimizers(self, mode: StepMode = StepMode()) -> dict[str, torch.optim.Optimizer]:
        """Build one Adam for the generator and one for the discriminator, as the official code does.

        Args:
            mode: how the training step runs (fused Adam or not).

        Returns:
            ``{"g": ..., "d": ...}``, or ``{"g": ...}`` without a discriminator.
        """
        opts = {"g": self.adam(self.generator, mode)}
        if self.discriminator is not None:
            opts["d"] = self.adam(self.discriminator, mode)
        return opts

    def _pairs(self, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        absent = [k for k in ("L", "ab") if k not in batch]
        if absent:
            raise KeyError(f"batch lacks {absent}; build the dataset with space='lab'")
        return self.norm.encode_l(batch["L"].float()), self.norm.encode_chroma(batch["ab"].float())

    def train_step(self, batch: Mapping[str, Any], optimizers: Mapping[str, torch.optim.Optimizer],
                   step: int, mode: StepMode = StepMode()) -> dict[str, Tensor]:
        """Run one pix2pix step, as the official ``optimize_parameters``.

        The discriminator is updated on ``(A, B)`` as real and ``(A, G(A))`` as fake, its loss
        halved. Then the generator is updated on ``gan_weight · GAN + l1_weight · L1`` against the
        updated discriminator, held fixed.

        Args:
            batch: a Lab training batch with ``"L"`` and ``"ab"``.
            optimizers: ``{"g", "d"}``, or ``{"g"}`` without a discriminator.
            step: the step's number.
            mode: how the step runs (autocast, fused Adam).

        Returns:
            Detached values to log: ``loss`` (the generator's objective), ``g_l1`` and, with a
            discriminator, ``g_gan``, ``d_loss``, ``d_real_acc`` and ``d_fake_acc``.

        Raises:
            KeyError: when the batch lacks ``"L"`` or ``"ab"``.
            ValueError: for the wrong optimisers, or crops too small for the PatchGAN
                (``3 · 2**n_layers_d`` pixels a side).
        """
        expected = {"g", "d"} if self.adversarial else {"g"}
        if set(optimizers) != expected:
            raise ValueError(
                f"{self.name} ({self.variant}) takes the optimisers {sorted(expected)}; got {sorted(optimizers)}")
        a = self.args
        real_a, real_b = self._pairs(batch)
        if self.discriminator is not None and min(real_a.shape[-2:]) < (least := 3 * 2 ** a["n_layers_d"]):
            raise ValueError(f"{self.name}: the PatchGAN with n_layers_d={a['n_layers_d']} needs crops of at least "
                             f"{least} pixels a side; got {tuple(real_a.shape[-2:])}")
        logs: dict[str, Tensor] = {}
        with self.autocast(mode):
            fake_b = self.generator(real_a)
        d = self.discriminator
        if d is None:
            return self._generator_step(optimizers["g"], real_a, real_b, fake_b, logs, mode)
        d.requires_grad_(True)
        with self.autocast(mode):
            pred_fake = d(torch.cat([real_a, fake_b.detach()], 1)).float()
            pred_real = d(torch.cat([real_a, real_b], 1)).float()
            d_loss = 0.5 * (gan_loss(pred_fake, False, a["gan_mode"]) + gan_loss(pred_real, True, a["gan_mode"]))
        self.update(optimizers["d"], d_loss)
        logs |= {"d_loss": d_loss.detach(), "d_real_acc": patch_accuracy(pred_real, True, a["gan_mode"]),
                 "d_fake_acc": patch_accuracy(pred_fake, False, a["gan_mode"])}
        d.requires_grad_(False)  # the generator's step leaves the discriminator's gradients alone
        try:
            return self._generator_step(optimizers["g"], real_a, real_b, fake_b, logs, mode)
        finally:
            d.requires_grad_(True)

    def _generator_step(self, opt: torch.optim.Optimizer, real_a: Tensor, real_b: Tensor, fake_b: Tensor,
                        logs: dict[str, Tensor], mode: StepMode) -> dict[str, Tensor]:
        a, d = self.args, self.discriminator
        with self.autocast(mode):
            l1 = F.l1_loss(fake_b.float(), real_b)
            g_loss = a["l1_weight"] * l1
            if d is not None:
                g_gan = gan_loss(d(torch.cat([real_a, fake_b], 1)).float(), True, a["gan_mode"])
                g_loss = g_loss + a["gan_weight"] * g_gan
                logs["g_gan"] = g_gan.detach()
        self.update(opt, g_loss)
        return {"loss": g_loss.detach(), "g_l1": l1.detach(), **logs}

    # ------------------------------------------------------------------------ colourising

    def row_labels(self, decode: str, **options: Any) -> dict[str, Any]:
        a = self.args
        return {"l1_weight": a["l1_weight"], "gan_weight": a["gan_weight"],
                "gan_mode": a["gan_mode"] if self.adversarial else None}

    @property
    def decodings(self) -> tuple[str, ...]:
        return ("direct", "paper")

    def _as_in_training(self, x: Tensor, seed: int) -> Tensor:
        """The generator run as in training, one image at a time, its dropout seeded; the batch-norm
        running statistics (which a forward pass in train mode updates) put back afterwards."""
        g = self.generator
        kept = {k: v.clone() for k, v in g.state_dict().items() if "running_" in k or "num_batches" in k}
        was_training = g.training
        try:
            g.train()
            with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
                torch.manual_seed(seed)
                return torch.cat([g(x[i:i + 1]) for i in range(len(x))])
        finally:
            g.load_state_dict(kept, strict=False)
            g.train(was_training)

    def predict_chroma(self, lum: Tensor, decode: str, seed: int = 0, **options: Any) -> Tensor:
        """Predict ``ab = 110 · G(L/50 − 1)``.

        Args:
            lum: ``L`` ``(B, 1, H, W)`` in ``[0, 100]``, sides multiples of ``2**num_downs``.
            decode: ``'direct'`` (eval mode) or ``'paper'`` (as in training: dropout drawn with
                ``seed``, each image's own batch-norm statistics, running statistics untouched).
            seed: the seed of the dropout for ``'paper'``.

        Returns:
            ab ``(B, 2, H, W)`` in ab units.

        Raises:
            TypeError: for any other decoding option.
        """
        if options:
            raise TypeError(f"{self.name}: unknown decoding option(s) {', '.join(options)}")
        x = self.norm.encode_l(lum)
        out = self._as_in_training(x, seed) if decode == "paper" else self.generator(x)
        return self.norm.decode_chroma(out.float())


METHOD = Pix2Pix
