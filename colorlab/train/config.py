"""The settings of one training run (:class:`TrainConfig`), and how a method's steps run under them on a device."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from ..methods import StepMode

__all__ = ["TrainConfig", "step_mode", "SYNC_EVERY_ASYNC", "RANK_STREAMS"]

#: Steps between two reads of the logged values on an asynchronous device (CUDA, MPS).
SYNC_EVERY_ASYNC = 25
#: Seeds of the other processes' random streams: ``seed * RANK_STREAMS + rank``.
RANK_STREAMS = 1_000_003


@dataclass
class TrainConfig:
    """Settings of one training run; a bad value raises ``ValueError``.

    Args:
        steps: the number of steps, at most.
        seconds: the wall time, at most (``None``: no budget).
        seed: seeds every random number generator when the run starts afresh.
        device: ``"auto"`` (CUDA, then MPS, then the CPU) or a device's name.
        amp: bf16 autocast of the forward passes on CUDA.
        fused_adam: PyTorch's fused Adam where the method uses it (``False``: the plain recipe).
        channels_last: the channels_last memory format on CUDA.
        checkpoint: where checkpoints go, and whence a run resumes (``None``: none).
        checkpoint_every: steps between two checkpoints.
        resume: ``False`` refuses a checkpoint path that exists.
        progress: a progress bar.
        sync_every: steps between two reads of the logged values (``None``: every step on the CPU,
            every :data:`SYNC_EVERY_ASYNC` on an asynchronous device).
        compile: the method's networks through :func:`torch.compile`.
        extra: the run beyond the method (batch size, data); must match for a checkpoint to resume.
    """

    steps: int = 100
    seconds: float | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    fused_adam: bool = True
    channels_last: bool = True
    checkpoint: str | None = None
    checkpoint_every: int = 50
    resume: bool = True
    progress: bool = True
    sync_every: int | None = None
    compile: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"steps must be an integer >= 0; got {self.steps!r}")
        if self.seconds is not None and not self.seconds > 0:
            raise ValueError(f"seconds must be positive; got {self.seconds}")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1; got {self.checkpoint_every}")
        if self.sync_every is not None and self.sync_every < 1:
            raise ValueError(f"sync_every must be >= 1 or None; got {self.sync_every}")


def step_mode(config: TrainConfig, device: torch.device) -> StepMode:
    """How a method's steps run on a device under a run's settings.

    Args:
        config: the run's settings.
        device: the device.

    Returns:
        bf16 autocast on CUDA only, when ``config.amp``; fused Adam as ``config.fused_adam`` says.

    Example:
        >>> step_mode(TrainConfig(), torch.device("cpu"))
        StepMode(amp=False, fused_adam=True)
    """
    return StepMode(amp=device.type == "cuda" and config.amp, fused_adam=config.fused_adam)
