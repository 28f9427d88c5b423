"""The checks of a notebook's own parameters, made when it starts (:func:`check_params`) and, for
the paths among them, by ``colorlab run`` before any kernel starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..backbones import WEIGHTS_PARAMETERS, check_weights
from ..data import check_subset
from ..errors import UsageError

__all__ = ["MODEL_PARAMETERS", "PHOTO_PARAMETERS", "check_params", "check_colorize_params"]

#: Parameters naming a model to colourise with (:func:`colorlab.colorize.model.check_spec`: a file made absolute).
MODEL_PARAMETERS = ("checkpoint",)
#: Parameters naming photos to colourise (:func:`colorlab.colorize.job.check_photos`: a path made absolute).
PHOTO_PARAMETERS = ("photos",)


def check_colorize_params(params: dict[str, Any], cwd: str | os.PathLike | None = None, where: str = "-p ") -> None:
    """A released weights file, a model spec and a photos spec among ``params`` checked, and any
    path among them made absolute in place (``UsageError`` naming the parameter)."""
    from ..colorize.job import check_photos
    from ..colorize.model import check_spec
    from ..released import FILE_PARAMETERS, check_file

    checks = {**dict.fromkeys(FILE_PARAMETERS, check_file), **dict.fromkeys(MODEL_PARAMETERS, check_spec),
              **dict.fromkeys(PHOTO_PARAMETERS, check_photos)}
    for name, check in checks.items():
        if params.get(name) is not None:
            try:
                params[name] = check(params[name], cwd)
            except (FileNotFoundError, ValueError) as e:
                raise UsageError(f"{where}{name}={params[name]!r}: {e.args[0]}") from e


def _positive_int(params: Mapping[str, Any], name: str, optional: bool = False) -> None:
    v = params.get(name)
    if v is None and (optional or name not in params):
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"parameter {name} must be a positive integer{' or None' if optional else ''}; got {v!r}")


def check_params(params: Mapping[str, Any]) -> None:
    """Check a notebook's shared parameters before any work starts (:func:`colorlab.study.start`).

    Types and ranges, a weights file, a subset's file or folder, a released weights file, a model
    and photos are checked.

    Args:
        params: the notebook's parameters.

    Raises:
        ValueError: a value of the wrong type or range, naming the parameter.
        FileNotFoundError: a file or folder a parameter names is missing.
    """
    profile = params.get("profile")
    if not isinstance(profile, str) or not profile or any(c in profile for c in "/\\") or profile.startswith("."):
        raise ValueError(f"parameter profile must be a plain folder name; got {profile!r}")
    for name in ("steps", "batch_size", "crop"):
        _positive_int(params, name)
    for name in ("image_size", "max_tiles"):
        _positive_int(params, name, optional=True)
    if "seed" in params and (isinstance(params["seed"], bool) or not isinstance(params["seed"], int)):
        raise ValueError(f"parameter seed must be an integer; got {params['seed']!r}")
    if "seeds" in params:
        seeds = params["seeds"]
        if (not isinstance(seeds, (list, tuple)) or not seeds or len(set(seeds)) != len(seeds)
                or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in seeds)):
            raise ValueError(f"parameter seeds must be a non-empty list of distinct integers >= 0; got {seeds!r}")
    folds = params.get("folds")
    if folds is not None and (isinstance(folds, bool) or not isinstance(folds, int) or folds < 2):
        raise ValueError(f"parameter folds must be None or an integer >= 2; got {folds!r}")
    if "data_spec" in params and not isinstance(params["data_spec"], str):
        raise ValueError(f"parameter data_spec must be a string; got {params['data_spec']!r}")
    for name in WEIGHTS_PARAMETERS:  # a weights file that is not there fails now, not after minutes of work
        if name in params:
            check_weights(params[name])
    if "subset" in params:  # a subset's list file or sub-folder likewise
        check_subset(params["subset"], params.get("data_spec", "samples"))
    check_colorize_params(dict(params), where="parameter ")  # a released weights file, a model and photos likewise
