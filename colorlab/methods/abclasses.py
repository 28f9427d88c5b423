"""What the methods that classify colours over the shared ab grid have in common (Zhang et al.,
notebook 03; the U-Net's class head, notebook 04): the bins as a buffer, the head and
rebalancing arguments checked, and the class prior and rebalancing weights of the training split.

A subclass has the arguments ``head`` (``'class'`` or ``'regress'``), ``grid``, ``k``, ``sigma``,
``rebalance`` and ``lam`` (and optionally ``bins``: ``'gamut'``, the default, or ``'released'``,
the bins of a released model, which loading its weights fills in), calls
:meth:`AbClasses.build_classes` in its ``__init__`` after ``super().__init__`` and gets
:attr:`~AbClasses.num_classes`, :meth:`~AbClasses.prepare` and :meth:`~AbClasses.check_trainable`.

Example:
    >>> from colorlab.methods import build
    >>> m = build("zhang", "full", width=0.125)
    >>> m.num_classes, m.prior.shape
    (262, torch.Size([262]))
    >>> m.check_trainable()
    Traceback (most recent call last):
    ...
    ValueError: zhang (full) rebalances by the training prior: call prepare(train_set) first
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..abgrid import ab_gamut_bins, dataset_prior, prior_key, rebalance_weights
from ..errors import check_choice
from .base import Method

if TYPE_CHECKING:
    from ..data import ColorDataset

__all__ = ["AbClasses", "BIN_SETS"]

#: The values of a ``bins`` argument: the in-gamut cells of ``grid``, or a released model's bins.
BIN_SETS = ("gamut", "released")


class AbClasses(Method):
    """A method whose class head predicts a distribution over the in-gamut ab bins of spacing ``grid``."""

    def build_classes(self, k_means: str = "target classes per pixel", released: int | Tensor | None = None) -> int:
        """Check the head and rebalancing arguments, register ``bins`` (and, with rebalancing, the
        ``prior`` and ``class_weights`` buffers that :meth:`prepare` fills and checkpoints keep);
        return ``Q``. ``k_means`` says what ``k`` is in an error message. With ``bins='released'``,
        ``released`` gives the bins: a tensor ``(Q, 2)``, or ``Q`` for zeros that loading the
        released weights fills in (the buffer is in the ``state_dict``, so a checkpoint keeps them)."""
        a = self.args
        kind, known = a.get("bins", "gamut"), BIN_SETS if released is not None else BIN_SETS[:1]
        check_choice("bins", kind, known, owner=self.name)
        if a["head"] not in ("class", "regress"):
            raise ValueError(f"{self.name}: head must be 'class' or 'regress'; got {a['head']!r}")
        if a["rebalance"] and a["head"] != "class":
            raise ValueError(f"{self.name}: rebalancing needs the class head")
        if not 0.0 <= a["lam"] <= 1.0 or not a["sigma"] > 0:
            raise ValueError(f"{self.name}: need 0 <= lam <= 1 and sigma > 0; got lam={a['lam']}, sigma={a['sigma']}")
        if kind == "gamut":
            bins = ab_gamut_bins(a["grid"])
        else:
            bins = released.detach().clone().float() if isinstance(released, Tensor) else torch.zeros(released, 2)
        self.register_buffer("bins", bins)
        q = self.bins.shape[0]
        if not 1 <= a["k"] <= q:
            raise ValueError(f"{self.name}: k ({k_means}) must be in [1, Q={q}]; got {a['k']}")
        if a["rebalance"]:  # filled by prepare() from the training split, saved with the weights
            self.register_buffer("prior", torch.zeros(q))
            self.register_buffer("class_weights", torch.ones(q))
        return q

    @property
    def num_classes(self) -> int:
        """``Q``, the number of ab bins."""
        return self.bins.shape[0]

    def prepare(self, train_set: ColorDataset, cache_dir: str | Path | None = None) -> dict[str, Any]:
        """With rebalancing: the training split's smoothed prior over the bins (cached in
        ``cache_dir``) and the weights ``rebalance_weights(prior, lam)``."""
        if not self.args["rebalance"]:
            return {}
        self._check_bins()
        prior = dataset_prior(train_set, self.bins, sigma=self.args["sigma"], cache_dir=cache_dir)
        self.prior.copy_(prior)
        self.class_weights.copy_(rebalance_weights(prior, self.args["lam"]))
        return {"prior_key": prior_key(train_set, self.bins, sigma=self.args["sigma"]),
                "nonzero_bins": int((prior > 0).sum())}

    def _check_bins(self) -> None:
        if self.args.get("bins") == "released" and not bool(self.bins.abs().sum() > 0):
            raise ValueError(f"{self.name} ({self.variant}): bins='released' are filled by the released weights, and "
                             f"none are loaded: load them with colorlab.methods.load_released")

    def check_trainable(self) -> None:
        self._check_bins()
        if self.args["rebalance"] and not bool(self.prior.sum() > 0):
            raise ValueError(f"{self.name} ({self.variant}) rebalances by the training prior: call prepare(train_set) first")
