"""Test-session set-up shared by the unit tests, the doctests and nbval.

Notebooks executed by nbval (and by the runner tests) write their results into a temporary
folder, never into the committed ``results/``; it is removed when the session ends. The unit
tests draw with matplotlib's off-screen Agg backend (set here for this process only, so kernels
keep their inline backend).

The suite runs in parallel (pytest-xdist, ``-n auto`` in ``pyproject.toml``; ``-n 0`` runs it in
one process): the notebooks all go to one worker, in order, because notebook 02 reuses the models
notebook 01 saved, and each worker (with the kernels it starts) gets its share of the CPU's
threads, so two workers on two cores do not fight over four.
"""

import os
import shutil
import tempfile

import matplotlib
import pytest

matplotlib.use("Agg")
_CREATED = None
if "COLORLAB_RESULTS" not in os.environ:
    _CREATED = os.environ["COLORLAB_RESULTS"] = tempfile.mkdtemp(prefix="colorlab-test-results-")


_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
if os.environ.get("PYTEST_XDIST_WORKER") and _WORKERS > 1:
    _CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    _THREADS = str(max(1, _CPUS // _WORKERS))
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = _THREADS  # kernels and subprocesses too
    import torch

    torch.set_num_threads(int(_THREADS))


def pytest_collection_modifyitems(config, items):
    """Every notebook on one worker, in file order (02 needs 01's results)."""
    for item in items:
        if item.nodeid.startswith("notebooks/"):
            item.add_marker(pytest.mark.xdist_group("notebooks"))


def pytest_unconfigure(config):
    if _CREATED:
        shutil.rmtree(_CREATED, ignore_errors=True)
