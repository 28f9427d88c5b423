"""The small records around a method: a named :class:`Variant`, how a training step runs
(:class:`StepMode`), and trained weights its authors released (:class:`Released`).

Example:
    >>> StepMode()
    StepMode(amp=False, fused_adam=True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from .base import Method

__all__ = ["Variant", "StepMode", "Released"]


@dataclass(frozen=True)
class Variant:
    """One named configuration of a method: a description and the arguments it presets."""

    description: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepMode:
    """How a training step runs beyond the method's arguments (:func:`colorlab.train.step_mode`).

    Args:
        amp: bf16 autocast of the forward passes (CUDA only).
        fused_adam: PyTorch's fused Adam where the method uses it; ``False``, nowhere (the
            official recipes' plain Adam, a baseline of ``colorlab bench``).
    """

    amp: bool = False
    fused_adam: bool = True


@dataclass(frozen=True)
class Released:
    """Trained weights a source's authors released, and how a method is built from them.

    ``url`` is where ``torch.hub`` fetches them. ``build(cls, state_dict)`` maps them into a new method
    in eval mode, raising ``ValueError`` naming the keys and shapes that do not fit.
    """

    description: str
    url: str
    build: Callable[[type[Method], Mapping[str, Tensor]], Method]
