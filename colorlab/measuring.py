"""How the study measures time and memory.

Each timed call has the device synchronised around it. Memory is the process's resident-set
high-water mark, and a measurement can run in a fresh Python process so that the memory it
reports is its own (:func:`in_fresh_process`).
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .device import synchronize

__all__ = ["rss_mb", "reset_peak", "peak_rss_mb", "timed", "in_fresh_process", "in_this_process", "MB"]

#: Bytes in a MiB, the unit of every memory figure.
MB = 2**20
_KB = 2**10
#: What ``/proc/self/clear_refs`` takes to reset the resident-set high-water mark (Linux 4.0+).
_RESET_HWM = "5"


def rss_mb() -> float:
    """This process's resident set now, in MiB (Linux ``/proc``; NaN elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB
    except (OSError, ValueError, IndexError):
        return float("nan")


def reset_peak() -> bool:
    """Reset this process's resident-set high-water mark to its resident set now.

    Returns:
        Whether it was reset (Linux 4.0+, through ``/proc/self/clear_refs``).
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write(_RESET_HWM)
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """The resident-set high-water mark (``VmHWM``; ``ru_maxrss`` where ``/proc`` has none), MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / _KB
    except (OSError, ValueError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / MB if sys.platform == "darwin" else peak / _KB


def timed(fn: Callable[[], Any], n: int, dev: torch.device) -> list[float]:
    """Time ``n`` calls of ``fn``, the device synchronised before and after each.

    Args:
        fn: the work to time.
        n: how many calls.
        dev: the device the work runs on (:func:`colorlab.device.synchronize`).

    Returns:
        The seconds of each call.

    Example:
        >>> len(timed(lambda: sum(range(100)), 3, torch.device("cpu")))
        3
    """
    out = []
    for _ in range(n):
        synchronize(dev)
        t0 = time.perf_counter()
        fn()
        synchronize(dev)
        out.append(time.perf_counter() - t0)
    return out


def in_this_process(function: Callable[..., dict[str, Any]], job: Mapping[str, Any]) -> dict[str, Any]:
    """Run ``function(**job)`` in this process, the caller's random numbers left as they were.

    Args:
        function: the measurement.
        job: its keyword arguments.

    Returns:
        What the function returned.
    """
    with torch.random.fork_rng(devices=[]):
        return function(**job)


def in_fresh_process(function: str, job: Mapping[str, Any], *, what: str,
                     env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``function(**job)`` in a fresh Python process with this process's number of threads.

    Args:
        function: ``"module:name"`` of a function that takes JSON values and returns a JSON object.
        job: its keyword arguments.
        what: what is measured, for the error message.
        env: variables added to the child's environment.

    Returns:
        What the function returned.

    Raises:
        RuntimeError: the process failed; the message ends with the last line it wrote to stderr.

    Example:
        >>> in_fresh_process("colorlab.measuring:_echo", {"x": 1}, what="an echo")
        {'x': 1}
    """
    full_env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "colorlab.measuring", function, json.dumps(dict(job))],
                          capture_output=True, text=True, env=full_env, check=False)
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no message"
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _echo(**job: Any) -> dict[str, Any]:
    return job


if __name__ == "__main__":
    module, name = sys.argv[1].split(":")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    print(json.dumps(getattr(importlib.import_module(module), name)(**json.loads(sys.argv[2]))))
