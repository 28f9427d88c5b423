"""Run profiles: the parameters ``colorlab run`` passes to the notebooks, in one place.

* ``smoke``: seconds per notebook, for CI and nbval. These are also the defaults written in
  every notebook's ``parameters`` cell, so a notebook opened and run as is does the smoke run.
* ``quick`` (the default): the embedded ``samples`` photos on a 2-core CPU, about seven minutes
  for all notebooks (notebook 01, three models, takes the longest), long enough to show each
  source's effect.
* ``full``: for a GPU and a real dataset folder (``--data folder:PATH``); hours, not minutes.

A profile has ``common`` parameters (every notebook gets them) and per-notebook overrides
keyed by the notebook's number. Parameters a notebook does not declare are ignored by it.

Example:
    >>> parameters_for("quick", "03")["profile"]
    'quick'
"""

from __future__ import annotations

from typing import Any

__all__ = ["PROFILES", "parameters_for"]


PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {
        "common": {"profile": "smoke", "data_spec": "samples", "device": "auto"},
        "notebooks": {},
    },
    "quick": {
        "common": {
            "profile": "quick", "data_spec": "samples", "device": "auto",
            "crop": 64, "image_size": 256, "batch_size": 16, "max_tiles": None,
        },
        "notebooks": {
            "01": {"steps": 800, "base": 16, "lr": 0.001},
            "03": {"steps": 800, "width": 0.125},
        },
    },
    "full": {
        "common": {
            "profile": "full", "data_spec": "samples", "device": "auto",
            "crop": 176, "image_size": None, "batch_size": 40, "max_tiles": None,
        },
        "notebooks": {
            "01": {"steps": 20000, "base": 32, "lr": 0.001},
            "03": {"steps": 100000, "width": 1.0},
        },
    },
}


def parameters_for(profile: str, number: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parameters for notebook ``number`` (e.g. ``"03"``) under ``profile``, then ``overrides``."""
    if profile not in PROFILES:
        raise KeyError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    p = PROFILES[profile]
    return {**p["common"], **p["notebooks"].get(number, {}), **(overrides or {})}
