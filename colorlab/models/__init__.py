"""The networks of the study, from an explicit registry.

Example:
    >>> net = build("yuv", base=8)
    >>> build("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown model 'nope'; known: yuv, zhang"
"""

from __future__ import annotations

from torch import nn

from .yuv import YUVNet
from .zhang import ZhangNet

__all__ = ["MODELS", "build", "count_parameters", "YUVNet", "ZhangNet"]

#: name -> constructor
MODELS: dict[str, type[nn.Module]] = {
    "yuv": YUVNet,
    "zhang": ZhangNet,
}


def build(name: str, **kwargs) -> nn.Module:
    """Construct a registered model by name; unknown names raise ``KeyError`` listing the known ones."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
