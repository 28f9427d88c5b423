"""Which device runs, and waiting for it: the floor under training and evaluation."""

from __future__ import annotations

import os

import torch

__all__ = ["pick_device", "synchronize"]


def _cuda() -> torch.device:
    """``cuda``, or under ``torchrun`` (``LOCAL_RANK`` set) this process's own GPU, ``cuda:LOCAL_RANK``."""
    local = os.environ.get("LOCAL_RANK")
    return torch.device(f"cuda:{int(local)}") if local is not None and int(os.environ.get("WORLD_SIZE", "1")) > 1 \
        else torch.device("cuda")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """The device to run on.

    Under ``torchrun`` with several processes, ``cuda`` is each process's own GPU
    (``cuda:LOCAL_RANK``).

    Args:
        device: ``"auto"`` (CUDA if available, then MPS, then the CPU), a device's name such as
            ``"cpu"`` or ``"cuda:1"``, or a :class:`torch.device` (returned as it is).

    Returns:
        The device.

    Raises:
        RuntimeError: ``cuda`` or ``mps`` was asked for and is not available.

    Example:
        >>> pick_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return _cuda()
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but CUDA is not available; use --device auto or cpu")
    if dev.type == "cuda" and dev.index is None:
        dev = _cuda()
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("device 'mps' was asked for but MPS is not available; use --device auto or cpu")
    return dev


def synchronize(dev: torch.device) -> None:
    """Wait for the work queued on an asynchronous device, so that a timing measures the work itself.

    Args:
        dev: the device; CUDA and MPS are waited for, anything else returns at once.
    """
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    elif dev.type == "mps":
        torch.mps.synchronize()
