"""Test-session set-up shared by the unit tests and nbval.

Notebooks executed by nbval (and by the runner test) write their results into a
temporary folder, never into the committed ``results/``. The unit tests draw with matplotlib's
off-screen Agg backend (set here for this process only, so kernels keep their inline backend).
"""

import os
import tempfile

import matplotlib

matplotlib.use("Agg")
if "COLORLAB_RESULTS" not in os.environ:
    os.environ["COLORLAB_RESULTS"] = tempfile.mkdtemp(prefix="colorlab-test-results-")
