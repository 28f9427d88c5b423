"""Test-session set-up shared by the unit tests, the doctests and nbval.

Notebooks executed by nbval (and by the runner tests) write their results into a temporary
folder, never into the committed ``results/``; it is removed when the session ends. The unit
tests draw with matplotlib's off-screen Agg backend (set here for this process only, so kernels
keep their inline backend).
"""

import os
import shutil
import tempfile

import matplotlib

matplotlib.use("Agg")
_CREATED = None
if "COLORLAB_RESULTS" not in os.environ:
    _CREATED = os.environ["COLORLAB_RESULTS"] = tempfile.mkdtemp(prefix="colorlab-test-results-")


def pytest_unconfigure(config):
    if _CREATED:
        shutil.rmtree(_CREATED, ignore_errors=True)
