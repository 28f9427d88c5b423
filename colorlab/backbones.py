"""Pretrained torchvision backbones, with the way their weights got there recorded.

Three methods stand on an ImageNet classifier: the U-Net's ResNet-50 encoder, the fusion layer's
global ResNet-50 features and Larsson et al.'s VGG-16 hypercolumns. :func:`backbone` builds one
with ImageNet weights, random weights or a file's, and the :class:`Backbone` it returns records
which ran, in its ``state_dict`` too. Offline, with no cached copy, it falls back to random
initialisation within seconds and says so; claims that need ImageNet semantics are then
inconclusive.

Example:
    >>> b = backbone("resnet50", "random")
    >>> b.weights, b.semantic, type(b.net).__name__
    ('random (asked)', False, 'ResNet')
    >>> backbone("resnet51", "random")
    Traceback (most recent call last):
    ...
    KeyError: "unknown backbone 'resnet51'; known: resnet50, vgg16, vgg16_bn"
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import Tensor, nn

from . import progress
from .data.sources import reachable
from .errors import lookup, unreadable_torch_file

__all__ = ["PRETRAINED", "HOST", "WEIGHTS_PARAMETERS", "RANDOM", "FALLBACK", "Backbone", "backbone", "untrained",
           "is_pretrained", "skip_weights", "cached_file", "state_dict_of", "check_weights"]

#: name -> (torchvision builder, its ImageNet weights enum member name): the weights :func:`backbone` loads.
PRETRAINED: dict[str, tuple[str, str]] = {
    "resnet50": ("resnet50", "ResNet50_Weights.IMAGENET1K_V1"),
    "vgg16": ("vgg16", "VGG16_Weights.IMAGENET1K_V1"),
    "vgg16_bn": ("vgg16_bn", "VGG16_BN_Weights.IMAGENET1K_V1"),
}
#: Where torchvision's weights are downloaded from (probed before a download is tried).
HOST = ("download.pytorch.org", 443)
#: Notebook parameters that name a backbone's weights (checked by ``colorlab run`` and
#: :func:`colorlab.study.start`).
WEIGHTS_PARAMETERS = ("encoder_weights", "backbone_weights")
#: The record of a backbone initialised at random because it was asked for.
RANDOM = "random (asked)"
#: The record of a backbone initialised at random because the ImageNet weights could not be had.
FALLBACK = "random (offline fallback)"
#: Keys of the classification layers, which a backbone file may hold or not (and of any shape).
_CLASSIFIER = ("fc.", "classifier.")
#: Buffers older torchvision files do not have (batch norm's step counter, unused in eval and fine-tuning).
_OPTIONAL = ("num_batches_tracked",)
_SKIP: ContextVar[bool] = ContextVar("colorlab_skip_weights", default=False)
#: Weights files already read in this process, by path, size and time: their state dict and record.
_LOADED: dict[str, tuple[dict[str, Tensor], str]] = {}
#: Backbone names whose ImageNet weights could not be had in this process (probed once), and why.
_UNAVAILABLE: dict[str, str] = {}
#: Backbone names whose fallback has been said on the terminal in this process.
_WARNED: set[str] = set()


class Backbone(nn.Module):
    """A torchvision network and the record of how its weights were initialised.

    The record is saved with the ``state_dict`` (as ``_extra_state``), so a checkpoint keeps it.

    Args:
        name: the backbone's name (:data:`PRETRAINED`).
        net: the network; calling the backbone calls it.
        weights: the record: ``"imagenet"``, ``"file:NAME@SHA1"``, :data:`RANDOM`, :data:`FALLBACK`
            or ``"restored"`` (built inside :func:`skip_weights`, until a checkpoint's record arrives).

    Example:
        >>> b = Backbone("demo", nn.Identity(), RANDOM)
        >>> b.state_dict()["_extra_state"]
        {'backbone': 'demo', 'weights': 'random (asked)'}
    """

    def __init__(self, name: str, net: nn.Module, weights: str) -> None:
        super().__init__()
        self.name, self.net, self.weights = name, net, weights

    @property
    def semantic(self) -> bool:
        """Whether the weights came from ImageNet training: torchvision's (``imagenet``) or a file's
        (``file:...``, taken to be ImageNet weights); anything else (random, ``restored`` before a
        checkpoint's record arrives) is not."""
        return is_pretrained(self.weights)

    def get_extra_state(self) -> dict[str, str]:
        return {"backbone": self.name, "weights": self.weights}

    def set_extra_state(self, state: Any) -> None:
        if isinstance(state, Mapping) and "weights" in state:
            self.weights = str(state["weights"])

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, weights={self.weights!r}"


def is_pretrained(record: object) -> bool:
    """Whether a weights record (:attr:`Backbone.weights`) says ImageNet weights were loaded.

    Args:
        record: the record; anything that is not a string counts as not pretrained.

    Returns:
        True for ``"imagenet"`` and ``"file:..."`` (a file is taken to hold ImageNet weights).

    Example:
        >>> [is_pretrained(r) for r in ("imagenet", "file:r50.pth@ab12", RANDOM, FALLBACK, "restored", None)]
        [True, True, False, False, False, False]
    """
    return isinstance(record, str) and (record == "imagenet" or record.startswith("file:"))


@contextmanager
def skip_weights() -> Iterator[None]:
    """Build backbones without loading any weights inside this block.

    Use it when a checkpoint is about to overwrite the weights (:func:`colorlab.checkpoint.rebuild`),
    or when the network is only built to check its arguments. The backbones record ``"restored"``.

    Example:
        >>> with skip_weights():
        ...     untrained("vgg16_bn", nn.Identity(), "random", "a narrower network").weights
        'restored'
    """
    token = _SKIP.set(True)
    try:
        yield
    finally:
        _SKIP.reset(token)


def _weights_enum(name: str) -> Any:
    enum, member = PRETRAINED[name][1].split(".")
    return getattr(getattr(torchvision.models, enum), member)


def cached_file(name: str) -> Path:
    """Where torch's hub cache keeps a backbone's ImageNet weights, whether or not they are there.

    Args:
        name: the backbone's name (:data:`PRETRAINED`).

    Returns:
        The path, under ``<torch.hub.get_dir()>/checkpoints/``.

    Example:
        >>> cached_file("resnet50").name
        'resnet50-0676ba61.pth'
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(_weights_enum(name).url)


def state_dict_of(obj: Any, path: str | os.PathLike = "<file>") -> dict[str, Tensor]:
    """The tensors of a loaded weights file, unwrapped.

    Args:
        obj: what ``torch.load`` returned: a ``state_dict`` itself, or one under ``"state_dict"``
            or ``"model"``.
        path: the file, for the message.

    Returns:
        The ``state_dict``, with the ``module.`` prefixes of DistributedDataParallel removed.

    Raises:
        ValueError: naming ``path``, for anything that is not a mapping of names to tensors.

    Example:
        >>> state_dict_of({"model": {"module.fc.bias": torch.zeros(2)}})
        {'fc.bias': tensor([0., 0.])}
    """
    for key in ("state_dict", "model"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ValueError(f"{path}: not a state_dict (a mapping of parameter names to tensors)")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _load_into(net: nn.Module, state: Mapping[str, Tensor], name: str, path: str) -> None:
    """Load ``state`` into ``net`` (the classifier's keys optional); a mismatch names the file."""
    own = net.state_dict()
    body = [k for k in own if not k.startswith(_CLASSIFIER)]
    missing = [k for k in body if k not in state and not k.endswith(_OPTIONAL)]
    extra = [k for k in state if k not in own and not k.startswith(_CLASSIFIER)]
    shapes = [f"{k} {tuple(state[k].shape)} (expected {tuple(own[k].shape)})" for k in body
              if k in state and state[k].shape != own[k].shape]
    if missing or extra or shapes:
        why = "; ".join(p for p in (f"missing {', '.join(missing[:3])}" + (" ..." if len(missing) > 3 else "")
                                    if missing else "", f"unexpected {', '.join(extra[:3])}" if extra else "",
                                    f"wrong shape: {', '.join(shapes[:2])}" if shapes else "") if p)
        raise ValueError(f"{path}: not {name} weights in torchvision's layout ({why})")
    # the body, and the classifier too where it has torchvision's shape
    net.load_state_dict({k: v for k, v in state.items() if k in own and v.shape == own[k].shape}, strict=False)


def _imagenet_state(name: str) -> dict[str, Tensor] | str:
    """torchvision's ImageNet weights for ``name``, or why they cannot be had (probed once per process):
    the torch hub cache's copy when there is one (no network), else a download checked against the
    hash in its file name."""
    if name in _UNAVAILABLE:
        return _UNAVAILABLE[name]
    path = cached_file(name)
    try:
        if path.is_file():
            return _file_state(str(path))[0]
        if not reachable(*HOST):
            _UNAVAILABLE[name] = (f"its ImageNet weights are not in the torch cache ({path}) and {HOST[0]} is not "
                                  f"reachable (offline?)")
            return _UNAVAILABLE[name]
        state = torch.hub.load_state_dict_from_url(_weights_enum(name).url, progress=True, check_hash=True)
    except Exception as e:  # a failed download, a corrupt cache file
        _UNAVAILABLE[name] = f"its ImageNet weights could not be loaded ({type(e).__name__}: {e})"
        return _UNAVAILABLE[name]
    return state_dict_of(state, path)


def _file_state(path: str) -> tuple[dict[str, Tensor], str]:
    """A weights file's state dict and its record ``file:NAME@SHA1``, read and hashed once per
    process (again if the file changes on disk)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"backbone weights file {path!r} does not exist (give 'imagenet', 'random' or a "
                                f"state_dict file)")
    stat = p.stat()
    key = f"{p.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"  # a file changed on disk is read again
    if key not in _LOADED:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as e:  # never torch's advice to load an untrusted file unsafely
            why, _ = unreadable_torch_file(p, e)
            raise ValueError(f"{path}: not a readable weights file ({why})") from e
        with open(p, "rb") as f:
            record = f"file:{p.name}@{hashlib.file_digest(f, 'sha1').hexdigest()[:8]}"
        _LOADED[key] = state_dict_of(obj, path), record
    return _LOADED[key]


def check_weights(weights: str, cwd: str | os.PathLike | None = None) -> str:
    """Check a backbone weights value before any work starts.

    Args:
        weights: ``"imagenet"``, ``"random"`` or a file path.
        cwd: the directory a relative path is taken from (``None``: the current one).

    Returns:
        ``"imagenet"`` and ``"random"`` as they are; a path made absolute and resolved.

    Raises:
        FileNotFoundError: for a file that does not exist.
        ValueError: for an empty value or a file that is not readable.

    Example:
        >>> check_weights("random")
        'random'
        >>> check_weights("no/such/file.pth", cwd="/")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        FileNotFoundError: backbone weights file '/no/such/file.pth' does not exist (give 'imagenet', ...)
    """
    if not isinstance(weights, str) or not weights.strip():
        raise ValueError(f"weights must be 'imagenet', 'random' or a file path; got {weights!r}")
    if weights in ("imagenet", "random"):
        return weights
    p = Path(weights).expanduser()
    p = (Path(cwd or os.getcwd()) / p) if not p.is_absolute() else p
    if not p.is_file():
        raise FileNotFoundError(f"backbone weights file {str(p)!r} does not exist (give 'imagenet', 'random' or a "
                                f"state_dict file)")
    if not os.access(p, os.R_OK):
        raise ValueError(f"backbone weights file {str(p)!r} is not readable")
    return str(p.resolve())


def backbone(name: str, weights: str = "imagenet") -> Backbone:
    """Build a torchvision backbone and fill its weights.

    The weights come from one of three places:

    * ``"imagenet"``: torchvision's ImageNet weights (:data:`PRETRAINED`). They are read from the
      torch hub cache when they are there (no network needed; :func:`cached_file` says where),
      else downloaded into it when ``download.pytorch.org`` answers, the hash in the file name
      checked. A corrupt cached copy, or one that does not fit, falls back like no copy, the reason
      said. Offline with no cached copy, the backbone is **randomly initialised within seconds**,
      the terminal is told once per process, and the record is :data:`FALLBACK`. This process
      does not look again.
    * ``"random"``: random initialisation, asked for (:data:`RANDOM`).
    * a path: a local file holding the backbone's ``state_dict`` in torchvision's layout, for
      clusters without internet. The classifier's keys may be there or not; a ``{"state_dict":
      ...}`` or ``{"model": ...}`` wrapper and a ``module.`` prefix are accepted. Recorded as
      ``"file:NAME@SHA1"``.

    Inside :func:`skip_weights` nothing is loaded.

    Args:
        name: the backbone: ``"resnet50"``, ``"vgg16"`` or ``"vgg16_bn"``.
        weights: ``"imagenet"``, ``"random"`` or a file path.

    Returns:
        A :class:`Backbone` that records which of these ran.

    Raises:
        KeyError: for an unknown backbone.
        ValueError: for an empty ``weights``, or a file that cannot be read or does not fit.
        FileNotFoundError: for a file that does not exist.
    """
    lookup("backbone", name, PRETRAINED)
    if not isinstance(weights, str) or not weights:
        raise ValueError(f"{name}: weights must be 'imagenet', 'random' or a file path; got {weights!r}")
    net = getattr(torchvision.models, PRETRAINED[name][0])(weights=None)
    if _SKIP.get():
        return Backbone(name, net, "restored")
    if weights == "random":
        return Backbone(name, net, RANDOM)
    if weights == "imagenet":
        state = _imagenet_state(name)
        if not isinstance(state, str):
            try:
                _load_into(net, state, name, str(cached_file(name)))
                return Backbone(name, net, "imagenet")
            except ValueError as e:  # a cached or downloaded file that does not fit: fall back like no file
                _UNAVAILABLE[name] = state = f"its ImageNet weights do not fit ({e})"
        if isinstance(state, str):
            if name not in _WARNED:
                _WARNED.add(name)
                progress.say(f"{name}: {state}: RANDOM INITIALISATION instead. Claims that need ImageNet semantics "
                             f"will be inconclusive. To use the weights offline, copy {cached_file(name).name} into "
                             f"{cached_file(name).parent} (then restart the kernel: this process will not look "
                             f"again) or pass its path as the weights parameter.", warning=True)
        return Backbone(name, net, FALLBACK)
    state, record = _file_state(weights)
    _load_into(net, state, name, weights)
    return Backbone(name, net, record)


def untrained(name: str, net: nn.Module, weights: str, why: str) -> Backbone:
    """Wrap a network that no pretrained weights fit (a narrower variant of ``name``, say).

    Args:
        name: the backbone it is a variant of.
        net: the network.
        weights: must be ``"random"``; anything else is refused, even when no weights are loaded.
        why: why no weights fit, for the message.

    Returns:
        A :class:`Backbone` recording :data:`RANDOM`, or ``"restored"`` inside :func:`skip_weights`
        (it waits for a checkpoint's record).

    Raises:
        ValueError: naming ``why``, for weights other than ``"random"``.

    Example:
        >>> untrained("vgg16_bn", nn.Identity(), "random", "no weights fit").weights
        'random (asked)'
        >>> untrained("vgg16_bn", nn.Identity(), "imagenet", "ImageNet weights fit width 1 only")
        Traceback (most recent call last):
        ...
        ValueError: vgg16_bn: ImageNet weights fit width 1 only; give the weights 'random' (got 'imagenet')
    """
    if weights != "random":  # checked even when no weights are loaded: the arguments are refused before any work
        raise ValueError(f"{name}: {why}; give the weights 'random' (got {weights!r})")
    return Backbone(name, net, "restored" if _SKIP.get() else RANDOM)
