"""Run profiles: the parameters ``colorlab run`` passes to the notebooks, in one place.

:data:`PROFILES` holds ``smoke``, ``quick`` and ``full``. :data:`RULES` says what a value of each
shared parameter must be, so ``colorlab run`` refuses ``-p steps=abc`` before any kernel starts
(:func:`check_parameter`). docs/running.md describes the profiles.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from .errors import lookup

__all__ = ["PROFILES", "RESERVED", "RULES", "parameters", "parameters_for", "check_parameter"]


#: Each profile's ``common`` parameters (every notebook gets them) and per-notebook ones, keyed by
#: the notebook's number. A notebook ignores the parameters it does not declare.
PROFILES: dict[str, dict[str, Any]] = {
    "smoke": {
        "common": {"profile": "smoke", "data_spec": "samples", "device": "auto"},
        "notebooks": {},
    },
    "quick": {
        "common": {
            "profile": "quick", "data_spec": "samples", "device": "auto", "seeds": [0, 1, 2],
            "crop": 48, "image_size": 192, "batch_size": 16, "max_tiles": None,
        },
        "notebooks": {
            "00": {"steps": 400, "crop": 32, "image_size": None, "batch_size": 8, "base": 8, "width": 0.125,
                   "lr": 0.001},
            "01": {"steps": 400, "base": 12, "lr": 0.001},
            "03": {"steps": 400, "width": 0.125, "released": True},
            "04": {"steps": 50, "crop": 64, "image_size": 128, "batch_size": 8, "width": 0.125, "lr": 0.001,
                   "cost_repeats": 20, "cost_processes": 3, "cost_isolated": True, "gallery_side": 512},
            "05": {"steps": 100, "crop": 48, "image_size": 160, "batch_size": 16, "base": 8, "residual_blocks": 5,
                   "global_size": 128, "lr": 0.001},
            "06": {"steps": 200, "crop": 64, "batch_size": 16, "ngf": 8, "ndf": 8, "num_downs": 6, "n_layers_d": 3,
                   "lr": 0.001},
            "07": {"steps": 100, "crop": 64, "batch_size": 8, "width": 0.125,
                   "backbone_weights": "random", "samples": 128, "lr": 0.001, "cost_repeats": 20, "cost_processes": 3,
                   "cost_isolated": True},
        },
    },
    "full": {
        "common": {
            "profile": "full", "data_spec": "samples", "device": "auto", "seeds": [0, 1, 2],
            "crop": 176, "image_size": None, "batch_size": 40, "max_tiles": None,
        },
        "notebooks": {
            "00": {"steps": 2000, "crop": 32, "image_size": None, "batch_size": 32, "base": 16, "width": 0.5,
                   "lr": 0.001},
            "01": {"steps": 20000, "base": 32, "lr": 0.001},
            "03": {"steps": 100000, "width": 1.0, "released": True},
            "04": {"steps": 20000, "crop": 224, "batch_size": 32, "width": 1.0, "lr": 0.0001, "cost_repeats": 20,
                   "cost_processes": 3, "cost_isolated": True, "gallery_side": 1024},
            "05": {"steps": 20000, "crop": 256, "batch_size": 32, "base": 16, "residual_blocks": 5, "global_size": 224,
                   "lr": 0.001},
            "06": {"steps": 20000, "crop": 256, "image_size": 286, "batch_size": 16, "ngf": 64, "ndf": 64,
                   "num_downs": 8, "n_layers_d": 3, "lr": 0.0002},
            "07": {"steps": 20000, "crop": 352, "image_size": 352, "batch_size": 8, "width": 1.0,
                   "backbone_weights": "imagenet", "samples": 128, "lr": 0.0001, "cost_repeats": 20,
                   "cost_processes": 3, "cost_isolated": True},
        },
    },
}


#: Names in a notebook's namespace that IPython puts there, never parameters.
_IPYTHON_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "open", "display"})


def _is_literal(v: Any) -> bool:
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_literal(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_literal(x) for k, x in v.items())
    return False


def parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters in a notebook's namespace right after its ``parameters`` cell.

    Args:
        namespace: the notebook's ``globals()``.

    Returns:
        Every public name bound to a literal (numbers, strings, ``None``, lists and dicts of them).
        Modules, functions and IPython's own names are left out.

    Example:
        >>> parameters({"steps": 3, "lr": 1e-3, "In": ["x"], "_": 1, "ast": ast})
        {'steps': 3, 'lr': 0.001}
    """
    return {k: v for k, v in namespace.items()
            if not k.startswith("_") and k not in _IPYTHON_NAMES and _is_literal(v)}


def parameters_for(profile: str, number: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The parameters of one notebook under a profile.

    Args:
        profile: the profile's name.
        number: the notebook's number, e.g. ``"03"``.
        overrides: put over the profile's (``-p``).

    Returns:
        The profile's common parameters, then the notebook's own, then ``overrides``.

    Raises:
        KeyError: an unknown profile.

    Example:
        >>> parameters_for("quick", "03")["profile"]
        'quick'
    """
    p = lookup("profile", profile, PROFILES)
    return {**p["common"], **p["notebooks"].get(number, {}), **(overrides or {})}


#: Parameters ``-p`` may not set: the profile is ``--profile``'s.
RESERVED = {"profile": "set it with --profile"}
#: The devices ``device`` may name besides ``cuda:N``.
DEVICES = ("auto", "cpu", "cuda", "mps")


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _device(v: Any) -> bool:
    return isinstance(v, str) and (v in DEVICES or (v.startswith("cuda:") and v[5:].isdigit()))


def _numbers(ok: Callable[[float], bool]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, list) and len(v) > 0 and all(_number(x) and ok(x) for x in v)


#: name -> (test, what a value must be)
RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "steps": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "batch_size": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "seed": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
    "seeds": (lambda v: isinstance(v, list) and len(v) > 0 and all(_int(x) and x >= 0 for x in v)
              and len(set(v)) == len(v), "a non-empty list of distinct integers >= 0"),
    "folds": (lambda v: v is None or (_int(v) and v >= 2), "None or an integer >= 2"),
    "crop": (lambda v: _int(v) and v >= 8 and v % 8 == 0, "a multiple of 8 (8 or more)"),
    "image_size": (lambda v: v is None or (_int(v) and v >= 8), "None or an integer >= 8"),
    "max_tiles": (lambda v: v is None or (_int(v) and v >= 1), "None or a positive integer"),
    "lr": (lambda v: _number(v) and 0 < v < 1, "a number in (0, 1)"),
    "width": (lambda v: _number(v) and v > 0, "a positive number"),
    "base": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "residual_blocks": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
    "k_neighbours": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "rebalance_lambda": (lambda v: _number(v) and 0 <= v <= 1, "a number in [0, 1]"),
    "cost_repeats": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "cost_processes": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "gallery_side": (lambda v: v is None or (_int(v) and v >= 8), "None or an integer >= 8"),
    "encoder_weights": (lambda v: isinstance(v, str) and bool(v.strip()), "imagenet, random or a weights file path"),
    "backbone_weights": (lambda v: isinstance(v, str) and bool(v.strip()), "imagenet, random or a weights file path"),
    "global_size": (lambda v: _int(v) and v >= 32, "an integer >= 32"),
    "samples": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "dropout": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "ngf": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "ndf": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "num_downs": (lambda v: _int(v) and v >= 2, "an integer >= 2 (crop a multiple of 2**num_downs)"),
    "n_layers_d": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "gan_mode": (lambda v: v in ("vanilla", "lsgan"), "vanilla or lsgan"),
    "subset": (lambda v: isinstance(v, str) and bool(v.strip()), "auto, none, names:A,B, dir:SUB or list:FILE"),
    "boost_factors": (lambda v: _numbers(lambda x: x >= 0)(v) and 1.0 in v,
                      "a list of numbers >= 0 that includes 1.0"),
    "temperatures": (_numbers(lambda x: x > 0), "a non-empty list of positive numbers"),
    "checkpoint": (lambda v: isinstance(v, str) and bool(v.strip()),
                   "a checkpoint file, METHOD/VARIANT[@NN] (results/<profile>/checkpoints/) or a released model name"),
    "released_weights": (lambda v: v is None or (isinstance(v, str) and bool(v.strip())),
                         "None (the torch hub cache or a download) or a released weights file path"),
    "photos": (lambda v: isinstance(v, str) and bool(v.strip()),
               "historical, samples, folder:PATH, a photo file, a folder or a glob"),
    "decode": (lambda v: v is None or (isinstance(v, str) and bool(v.strip())), "None or a decoding's name"),
    "working_size": (lambda v: v is None or (_int(v) and v >= 8), "None or an integer >= 8"),
    "max_photos": (lambda v: _int(v) and v >= 1, "a positive integer"),
    "device": (_device, f"one of {', '.join(DEVICES)} or cuda:N"),
    "data_spec": (lambda v: isinstance(v, str) and bool(v.strip()), "a data spec (samples, folder:PATH, ...)"),
}


def check_parameter(name: str, value: Any, default: str | None) -> None:
    """Check one parameter's value.

    A shared parameter's value must meet its rule in :data:`RULES`. Any other must be of the type of
    the notebook's declared default: an integer passes for a float, anything for a ``None`` default
    or an expression.

    Args:
        name: the parameter.
        value: its value.
        default: the notebook's declared default, as source text (papermill's reading).

    Raises:
        ValueError: a reserved parameter, or a value that is not valid; one line naming the
            parameter, what it must be and the notebook's default.

    Example:
        >>> check_parameter("steps", 0, "3")
        Traceback (most recent call last):
        ...
        ValueError: steps must be a positive integer (notebook default: 3); got 0
    """
    if name in RESERVED:
        raise ValueError(f"{name} cannot be set with -p: {RESERVED[name]}")
    shown = f" (notebook default: {default})" if default is not None else ""
    if name in RULES:
        ok, what = RULES[name]
        if not ok(value):
            raise ValueError(f"{name} must be {what}{shown}; got {value!r}")
        return
    try:
        declared = ast.literal_eval(default) if default is not None else None
    except (ValueError, SyntaxError):
        return  # an expression, not a literal: nothing to compare with
    if declared is None:
        return
    kind = float if isinstance(declared, float) else type(declared)
    fits = _number(value) if kind is float else (_int(value) if kind is int else isinstance(value, kind))
    if not fits:
        raise ValueError(f"{name} must be of type {kind.__name__}{shown}; got {value!r}")
