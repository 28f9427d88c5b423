"""Fixtures the test modules share."""

from pathlib import Path

import pytest

from colorlab import checkpoint
from colorlab.methods import build


@pytest.fixture(scope="module")
def zhang_ckpt(tmp_path_factory) -> Path:
    """A Zhang et al. class-head checkpoint as notebook 03's smoke run would leave it (3 steps)."""
    path = tmp_path_factory.mktemp("ckpt") / "zhang.pt"
    m = build("zhang", "class", width=0.125)
    checkpoint.save(path, m, step=3, run={"steps": 3}, data={"spec": "samples", "image_size": 48, "crop": 32})
    return path
