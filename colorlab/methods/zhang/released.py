"""Zhang et al.'s released PyTorch weights mapped into :class:`~colorlab.methods.zhang.Zhang`.

Pure functions for the two releases of ``richzhang/colorization`` (``colorizers/``): ECCV 2016
(``eccv16``), whose decoding layer becomes the 313 bins, and SIGGRAPH 2017 (``siggraph17``), whose
keys are copied as they are. Either mapping raises ``ValueError`` naming the keys that are missing
or unexpected and the shapes that do not fit. How each release maps, and what cannot be checked
offline: ``docs/methods/zhang.md``.

Example:
    >>> w = torch.zeros(2, 313, 1, 1); w[0, 0, 0, 0], w[1, 0, 0, 0] = 0.5, -0.25
    >>> state = eccv16_state({"model1.0.bias": torch.zeros(64), "model_out.weight": w})
    >>> sorted(state), state["bins"][0].tolist()
    (['bins', 'net.model1.0.bias'], [55.0, -27.5])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ...color import ZHANG
from .network import PAPER_Q
from .siggraph import SIGGRAPH_Q

if TYPE_CHECKING:
    from . import Zhang

__all__ = ["ECCV16_URL", "SIGGRAPH17_URL", "DECODING_KEY", "eccv16_state", "siggraph17_state", "siggraph_bins",
           "load_mapped", "build_eccv16", "build_siggraph17"]

#: The released ECCV 2016 weights (``colorizers.eccv16``).
ECCV16_URL = "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth"
#: The released SIGGRAPH 2017 weights (``colorizers.siggraph17``).
SIGGRAPH17_URL = "https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth"
#: The ECCV 2016 port's decoding layer: the bin centres / 110 as a 1×1 convolution 313 → 2.
DECODING_KEY = "model_out.weight"
#: Spacing and extent of the SIGGRAPH 2017 release's ab cells (ab in [-110, 110], 23 per axis).
_SIGGRAPH_QUANT = 10.0
_SIGGRAPH_AB_MAX = 110.0
#: Our networks are the method's ``net``: the released names get this prefix.
_NET = "net."
#: Buffers a released file may lack (batch norm's step counter, unused in eval).
_OPTIONAL = ("num_batches_tracked",)
#: Keys listed per kind in an error message at most.
_SHOWN = 4


def siggraph_bins() -> Tensor:
    """Return the 529 ab centres of the SIGGRAPH 2017 release's classification branch.

    They are the 23 × 23 cells of spacing 10 from -110: class ``23 i + j`` is at
    ``(-110 + 10 i, -110 + 10 j)``, the released training code's quantisation. The weights do not
    carry them.

    Returns:
        ``(529, 2)`` float32 in ab units.

    Example:
        >>> siggraph_bins()[[0, 1, 528]].tolist()
        [[-110.0, -110.0], [-110.0, -100.0], [110.0, 110.0]]
    """
    axis = torch.arange(-_SIGGRAPH_AB_MAX, _SIGGRAPH_AB_MAX + _SIGGRAPH_QUANT / 2, _SIGGRAPH_QUANT)
    bins = torch.cartesian_prod(axis, axis)
    if bins.shape[0] != SIGGRAPH_Q:
        raise AssertionError(f"expected {SIGGRAPH_Q} cells, built {bins.shape[0]}")
    return bins


def eccv16_state(released: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map the released ECCV 2016 ``state_dict`` into ours.

    The network's keys are kept as they are, under ``net.``. The decoding layer
    ``model_out.weight`` ``(2, 313, 1, 1)`` becomes the 313 bin centres ``weight[:, :, 0, 0].T × 110``.

    Args:
        released: the released ``state_dict``.

    Returns:
        Our ``state_dict``: ``net.*`` and ``bins`` ``(313, 2)`` in ab units.

    Raises:
        ValueError: when the decoding layer is missing or has the wrong shape.
    """
    if DECODING_KEY not in released:
        raise ValueError(
            f"missing {DECODING_KEY} (the decoding layer of the ECCV 2016 release): not its weights")
    w = released[DECODING_KEY]
    if tuple(w.shape) != (2, PAPER_Q, 1, 1):
        raise ValueError(f"wrong shape: {DECODING_KEY} {tuple(w.shape)} (expected {(2, PAPER_Q, 1, 1)})")
    state = {_NET + k: v for k, v in released.items() if k != DECODING_KEY}
    return {**state, "bins": w[:, :, 0, 0].T.float() * ZHANG.ab_scale}


def siggraph17_state(released: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Map the released SIGGRAPH 2017 ``state_dict`` into ours: every key as it is, under ``net.``."""
    return {_NET + k: v for k, v in released.items()}


def _shown(keys: Sequence[str]) -> str:
    names = [k.removeprefix(_NET) for k in keys]
    return ", ".join(names[:_SHOWN]) + (f" (and {len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


def load_mapped(method: Zhang, state: Mapping[str, Tensor], keep: Sequence[str] = ()) -> Zhang:
    """Load a mapped ``state_dict`` into a method.

    Args:
        method: the method to load into.
        state: the mapped ``state_dict`` (:func:`eccv16_state`, :func:`siggraph17_state`).
        keep: the method's own keys that stay as built (its training buffers).

    Returns:
        ``method``, in eval mode.

    Raises:
        ValueError: naming the missing or unexpected keys and the wrong shapes, in the release's
            names (``net.`` dropped). Batch norms' ``num_batches_tracked`` may be absent.
    """
    own = method.state_dict()
    missing = [k for k in own if k not in state and k not in keep and not k.endswith(_OPTIONAL)]
    extra = [k for k in state if k not in own]
    shapes = [f"{k.removeprefix(_NET)} {tuple(state[k].shape)} (expected {tuple(own[k].shape)})"
              for k in state if k in own and state[k].shape != own[k].shape]
    problems = [f"missing {_shown(missing)}" if missing else "", f"unexpected {_shown(extra)}" if extra else "",
                f"wrong shape: {', '.join(shapes[:_SHOWN])}" if shapes else ""]
    if any(problems):
        raise ValueError(f"not {method.name}/{method.variant} weights in the released layout: "
                         + "; ".join(p for p in problems if p))
    method.load_state_dict(dict(state), strict=False)
    return method.eval()


def build_eccv16(cls: type[Zhang], released: Mapping[str, Tensor]) -> Zhang:
    """Build the ECCV 2016 release as ``cls("full", width=1, bins="released")``.

    The model is the ``full`` variant, the paper's rebalanced model. Its rebalancing buffers
    (``prior`` zero, ``class_weights`` one) matter only for training and are left as built.

    Args:
        cls: :class:`~colorlab.methods.zhang.Zhang`.
        released: the released ``state_dict``.

    Returns:
        The method, in eval mode.

    Raises:
        ValueError: when the weights do not fit (:func:`load_mapped`).
    """
    state = eccv16_state(released)
    with torch.random.fork_rng(devices=[]):  # the weights are about to be overwritten: draw none of the caller's
        method = cls("full", width=1.0, bins="released")
    return load_mapped(method, state, keep=("prior", "class_weights"))


def build_siggraph17(cls: type[Zhang], released: Mapping[str, Tensor]) -> Zhang:
    """Build the SIGGRAPH 2017 release as ``cls("siggraph17", width=1, bins="released")``.

    Args:
        cls: :class:`~colorlab.methods.zhang.Zhang`.
        released: the released ``state_dict``.

    Returns:
        The method, in eval mode, decoded ``direct``.

    Raises:
        ValueError: when the weights do not fit (:func:`load_mapped`).
    """
    with torch.random.fork_rng(devices=[]):
        method = cls("siggraph17", width=1.0, bins="released")
    return load_mapped(method, siggraph17_state(released), keep=("bins",))
