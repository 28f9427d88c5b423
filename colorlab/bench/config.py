"""What :mod:`colorlab.bench` measures with.

The settings, the peak-FLOP/s table, the device's folder name, and each method's configuration.
"""

from __future__ import annotations

import os
import re
from typing import Any

import torch

from ..backbones import skip_weights
from ..errors import check_choice

__all__ = ["SETTINGS", "PEAK_FLOPS", "SIZE", "INFER_SIZES", "peak_flops", "device_label", "method_config"]

#: ``paper``: the network each source trains; ``tiny``: the smoke test's.
SETTINGS = ("paper", "tiny")
#: Dense bf16 tensor-core peak FLOP/s by GPU name (vendors' spec sheets, without sparsity). The
#: first pattern that matches ``torch.cuda.get_device_name`` counts; a GPU not listed has no MFU.
PEAK_FLOPS: tuple[tuple[str, float], ...] = (
    (r"GH200", 989.4e12),
    (r"H200 NVL", 835.5e12),
    (r"H200", 989.4e12),
    (r"H100 NVL", 835.0e12),
    (r"H100.*(SXM|HBM3)", 989.4e12),
    (r"H100", 756.0e12),  # PCIe
    (r"GB200", 2500.0e12),
    (r"B200", 2250.0e12),
    (r"A100", 312.0e12),
    (r"A10G", 70.0e12),
    (r"L40S", 362.0e12),
    (r"\bL4\b", 121.0e12),
    (r"RTX 4090", 165.2e12),
    (r"RTX 3090", 71.0e12),
    (r"V100", 125.0e12),  # fp16: V100 has no bf16
    (r"\bT4\b", 65.0e12),  # fp16
)
#: Training crop sizes measured besides each method's own.
SIZE = 256
#: Inference photo sides.
INFER_SIZES = (256, 1024)


def peak_flops(device: torch.device) -> float | None:
    """The peak FLOP/s of a device, for MFU.

    Args:
        device: the device.

    Returns:
        The first match in :data:`PEAK_FLOPS` for a GPU's name; ``None`` for a CPU or a GPU not listed.

    Example:
        >>> peak_flops(torch.device("cpu")) is None
        True
    """
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for pattern, peak in PEAK_FLOPS if re.search(pattern, name)), None)


def device_label(device: torch.device) -> str:
    """A folder name for a device's results.

    Args:
        device: the device.

    Returns:
        The GPU's name (characters other than letters, digits, ``.`` and ``-`` made ``-``), or
        ``<type>-<N>cores`` with the CPUs this process may use (``cpu-2cores``).

    Example:
        >>> device_label(torch.device("cpu")).startswith("cpu-")
        True
    """
    if device.type == "cuda":
        return re.sub(r"[^A-Za-z0-9.-]+", "-", torch.cuda.get_device_name(device)).strip("-")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{device.type}-{cpus}cores"


def method_config(name: str, setting: str) -> tuple[str, dict[str, Any], int]:
    """How a method is built and trained at a setting.

    Args:
        name: the method's registered name.
        setting: ``paper``: the arguments and crop of the network its source trains
            (:func:`colorlab.papers.source_network`); ``tiny``: its ``smoke_args`` and a crop of
            twice its input multiple.

    Returns:
        ``(variant, args, own crop)``; the variant is the one its source trains, else its first.

    Raises:
        ValueError: an unknown setting.
        KeyError: an unknown method.

    Example:
        >>> method_config("zhang", "paper")[1]["width"], method_config("zhang", "tiny")[1]["width"]
        (1.0, 0.125)
    """
    from ..methods import get
    from ..papers import source_network

    check_choice("setting", setting, SETTINGS)
    cls, network = get(name), source_network(name)
    variant = network.variant or next(iter(cls.variants))
    args = dict(network.args) if setting == "paper" else dict(cls.smoke_args)
    with torch.random.fork_rng(devices=[]), skip_weights():
        multiple = cls(variant, **args).input_multiple
    crop = network.crop if setting == "paper" else 2 * multiple
    return variant, args, crop
