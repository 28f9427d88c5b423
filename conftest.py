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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every notebook on one worker, in file order (02 needs 01's results).

    First of the hooks: xdist's worker turns the mark into the ``@notebooks`` suffix that groups
    items, in its own hook (registered later, so otherwise called earlier).
    """
    for item in items:
        if item.nodeid.startswith("notebooks/"):
            item.add_marker(pytest.mark.xdist_group("notebooks"))


_UNGROUPED = pytest.StashKey[bool]()


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    """Note whether xdist failed to group the notebooks' cells onto one worker."""
    grouped = all(item.nodeid.endswith("@notebooks") for item in session.items if "xdist_group" in item.keywords)
    session.config.stash[_UNGROUPED] = bool(
        os.environ.get("PYTEST_XDIST_WORKER") and session.config.getoption("loadgroup", False) and not grouped)


def pytest_runtest_setup(item):
    """Fail a notebook's cells with the cause when xdist spread them over workers.

    A notebook's cells share one kernel; a cell sent to another worker fails with ``NameError``,
    far from the cause. pytest-xdist 3.8 on pytest 9.2 drops the group silently (pytest-xdist#1386).
    """
    if item.config.stash.get(_UNGROUPED, False) and "xdist_group" in item.keywords:
        pytest.fail(
            f"pytest-xdist did not group the notebooks' cells onto one worker (pytest {pytest.__version__}, "
            "see pytest-xdist#1386): install the README's versions (pip install -e '.[dev]') or run with -n 0",
            pytrace=False)


def pytest_unconfigure(config):
    if _CREATED:
        shutil.rmtree(_CREATED, ignore_errors=True)
