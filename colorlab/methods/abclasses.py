"""What the methods that classify colours over the shared ab grid have in common.

Zhang et al. (notebook 03) and the U-Net's class head (notebook 04) both predict a distribution
over in-gamut ab bins. :class:`AbClasses` holds the bins as a buffer, checks the head and
rebalancing arguments, and computes the class prior and rebalancing weights of the training split.

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
    """Base class of a method whose class head predicts a distribution over in-gamut ab bins.

    The bins are the in-gamut cells of the ab grid of spacing ``grid``. A subclass has the
    arguments ``head`` (``'class'`` or ``'regress'``), ``grid``, ``k``, ``sigma``, ``rebalance`` and
    ``lam``, and optionally ``bins``: ``'gamut'`` (the default) or ``'released'``, the bins of a
    released model, which loading its weights fills in. It calls :meth:`build_classes` in its
    ``__init__`` after ``super().__init__``, and gets :attr:`num_classes`, :meth:`prepare` and
    :meth:`check_trainable`.
    """

    def build_classes(self, k_means: str = "target classes per pixel", released: int | Tensor | None = None) -> int:
        """Check the head and rebalancing arguments and register the bins.

        Registers the buffer ``bins`` ``(Q, 2)`` in ab units and, with rebalancing, the buffers
        ``prior`` and ``class_weights`` ``(Q,)`` that :meth:`prepare` fills and checkpoints keep.

        Args:
            k_means: what ``k`` is, for the error message.
            released: with ``bins='released'``, the bins: a tensor ``(Q, 2)``, or ``Q`` for zeros
                that loading the released weights fills in (the buffer is in the ``state_dict``,
                so a checkpoint keeps them). ``None`` allows only ``bins='gamut'``.

        Returns:
            ``Q``, the number of bins.

        Raises:
            ValueError: for a ``bins`` value not allowed, a head other than ``'class'`` or
                ``'regress'``, rebalancing without the class head, ``lam`` outside ``[0, 1]``,
                ``sigma <= 0``, or ``k`` outside ``[1, Q]``.
        """
        a = self.args
        kind, known = a.get("bins", "gamut"), BIN_SETS if released is not None else BIN_SETS[:1]
        check_choice("bins", kind, known, owner=self.name)
        if a["head"] not in ("class", "regress"):
            raise ValueError(f"{self.name}: head must be 'class' or 'regress'; got {a['head']!r}")
        if a["rebalance"] and a["head"] != "class":
            raise ValueError(f"{self.name}: rebalancing needs the class head")
        if not 0.0 <= a["lam"] <= 1.0 or not a["sigma"] > 0:
            raise ValueError(
                f"{self.name}: need 0 <= lam <= 1 and sigma > 0; got lam={a['lam']}, sigma={a['sigma']}")
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
        """Fill the rebalancing buffers from the training split; nothing without rebalancing.

        The prior is the training split's smoothed distribution over the bins
        (:func:`colorlab.abgrid.dataset_prior`, cached in ``cache_dir``); the weights are
        :func:`colorlab.abgrid.rebalance_weights` of it with ``lam``.

        Args:
            train_set: the training split.
            cache_dir: where the prior is cached.

        Returns:
            ``{"prior_key", "nonzero_bins"}`` with rebalancing, else ``{}``.

        Raises:
            ValueError: when ``bins='released'`` and no released weights are loaded.
        """
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
        """Raise ``ValueError`` when the released bins are empty or the prior is still to compute."""
        self._check_bins()
        if self.args["rebalance"] and not bool(self.prior.sum() > 0):
            raise ValueError(
                f"{self.name} ({self.variant}) rebalances by the training prior: call prepare(train_set) first")
