"""Test-session set-up shared by the unit tests and nbval.

Notebooks executed by nbval (and by the runner test) write their results into a
temporary folder, never into the committed ``results/``; matplotlib draws off-screen.
"""

import os
import tempfile

os.environ.setdefault("MPLBACKEND", "Agg")
if "COLORLAB_RESULTS" not in os.environ:
    os.environ["COLORLAB_RESULTS"] = tempfile.mkdtemp(prefix="colorlab-test-results-")
