"""Zhang et al.'s released PyTorch weights (``richzhang/colorization``, ``colorizers/``) mapped
into :class:`~colorlab.methods.zhang.Zhang`, as pure functions.

ECCV 2016 (``eccv16``, ``colorization_release_v2``)
    ``model1`` … ``model8`` have our :class:`~.network.ZhangNet`'s names and shapes at
    ``width=1, num_classes=313`` and are copied as they are (under ``net.``). The port then
    applies ``model_out``, a bias-free 1×1 convolution 313 → 2, to ``softmax(conv8 logits)``,
    multiplies by 110 and upsamples ×4 bilinearly: the expectation of fixed ab points under the
    predicted distribution. Those points are the **313 bins**: ``model_out.weight[:, :, 0, 0].T ×
    110`` becomes our ``bins`` buffer (``(313, 2)``, ab units, in the release's class order), so
    the port's whole forward is our ``mean`` decoding (:func:`colorlab.abgrid.decode_expectation`
    at ``T = 1``, then the same ×4 bilinear upsampling in :meth:`~colorlab.methods.Method.colorize`),
    and the annealed mean (``T = 0.38``) and the mode decode the same logits. **Not checkable
    offline**: the Caffe deploy model multiplies the logits by 2.606
    (:data:`~.recipe.OFFICIAL_LOGIT_SCALE`) before its softmax; the port has no such step, and
    whether it was folded into conv8's 1×1 when the weights were converted cannot be told from
    here (if it was, the port's ``mean`` is the Caffe demo's annealed mean and our ``annealed``
    anneals twice). The model is built as variant ``full``, since this release is the paper's
    rebalanced model; its rebalancing buffers (``prior`` zero, ``class_weights`` one) matter
    only for training and are left as built (:meth:`Zhang.prepare` fills them to fine-tune).
SIGGRAPH 2017 (``siggraph17``)
    every key of the release is a key of :class:`~.siggraph.SiggraphNet` at ``width=1,
    num_classes=529`` and is copied as it is; the output is the regression branch
    (``model_out``, tanh, ×110, full resolution), decoded ``direct``. The classification branch
    ``model_class`` is loaded but unused; its 529 bins are the 23 × 23 ab cells of spacing 10
    from -110 (:func:`siggraph_bins`, class ``23 i + j`` at ``(-110 + 10 i, -110 + 10 j)``, the
    released training code's quantisation; the weights do not carry them).

Either mapping raises ``ValueError`` naming the keys that are missing or unexpected and the
shapes that do not fit (in the release's names); batch norms' ``num_batches_tracked`` may be absent.

Example:
    >>> w = torch.zeros(2, 313, 1, 1); w[0, 0, 0, 0], w[1, 0, 0, 0] = 0.5, -0.25
    >>> state = eccv16_state({"model1.0.bias": torch.zeros(64), "model_out.weight": w})
    >>> sorted(state), state["bins"][0].tolist()
    (['bins', 'net.model1.0.bias'], [55.0, -27.5])
    >>> siggraph_bins()[[0, 1, 528]].tolist()
    [[-110.0, -110.0], [-110.0, -100.0], [110.0, 110.0]]
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
    """The 529 ab centres ``(529, 2)`` of the SIGGRAPH 2017 release's classification branch."""
    axis = torch.arange(-_SIGGRAPH_AB_MAX, _SIGGRAPH_AB_MAX + _SIGGRAPH_QUANT / 2, _SIGGRAPH_QUANT)
    bins = torch.cartesian_prod(axis, axis)
    if bins.shape[0] != SIGGRAPH_Q:
        raise AssertionError(f"expected {SIGGRAPH_Q} cells, built {bins.shape[0]}")
    return bins


def eccv16_state(released: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Our ``state_dict`` (``net.*`` and ``bins``) from the released ECCV 2016 one: the network's
    keys as they are, the decoding layer ``model_out.weight`` ``(2, 313, 1, 1)`` as the 313 bin
    centres ``weight[:, :, 0, 0].T × 110`` (module docstring)."""
    if DECODING_KEY not in released:
        raise ValueError(f"missing {DECODING_KEY} (the decoding layer of the ECCV 2016 release): not its weights")
    w = released[DECODING_KEY]
    if tuple(w.shape) != (2, PAPER_Q, 1, 1):
        raise ValueError(f"wrong shape: {DECODING_KEY} {tuple(w.shape)} (expected {(2, PAPER_Q, 1, 1)})")
    state = {_NET + k: v for k, v in released.items() if k != DECODING_KEY}
    return {**state, "bins": w[:, :, 0, 0].T.float() * ZHANG.ab_scale}


def siggraph17_state(released: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Our ``state_dict`` (``net.*``) from the released SIGGRAPH 2017 one: every key as it is."""
    return {_NET + k: v for k, v in released.items()}


def _shown(keys: Sequence[str]) -> str:
    names = [k.removeprefix(_NET) for k in keys]
    return ", ".join(names[:_SHOWN]) + (f" (and {len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


def load_mapped(method: Zhang, state: Mapping[str, Tensor], keep: Sequence[str] = ()) -> Zhang:
    """Load a mapped ``state`` into ``method`` and return it in eval mode; the method's keys in
    ``keep`` (its own training buffers) stay as built. Missing or unexpected keys and wrong
    shapes raise ``ValueError`` naming them (``net.`` dropped: the release's names)."""
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
    """The ECCV 2016 release as ``cls("full", width=1, bins="released")`` (``cls``: :class:`Zhang`), in eval mode."""
    state = eccv16_state(released)
    with torch.random.fork_rng(devices=[]):  # the weights are about to be overwritten: draw none of the caller's
        method = cls("full", width=1.0, bins="released")
    return load_mapped(method, state, keep=("prior", "class_weights"))


def build_siggraph17(cls: type[Zhang], released: Mapping[str, Tensor]) -> Zhang:
    """The SIGGRAPH 2017 release as ``cls("siggraph17", width=1, bins="released")``, in eval mode."""
    with torch.random.fork_rng(devices=[]):
        method = cls("siggraph17", width=1.0, bins="released")
    return load_mapped(method, siggraph17_state(released), keep=("bins",))
