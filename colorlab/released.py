"""Fetching the trained weights a source's authors released, and saying where they came from.

This is method-agnostic: the models are declared by the methods
(:attr:`colorlab.methods.Method.released`) and built by :func:`colorlab.methods.load_released`.
:func:`fetch` reads one released ``state_dict`` from a file, the torch hub cache or a download;
offline, it fails within seconds with :class:`ReleasedUnavailable`, saying how to supply the file.

Example:
    >>> cached_file("https://example.org/models/m-0123abcd.pth").name
    'm-0123abcd.pth'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor

from .backbones import state_dict_of
from .data.sources import reachable

__all__ = ["ReleasedUnavailable", "HTTPS_PORT", "FILE_PARAMETERS", "cached_file", "check_file", "fetch"]

#: The port probed on a released file's host before a download is tried.
HTTPS_PORT = 443
#: Notebook parameters that name a released model's weights file (None: the cache or a download).
FILE_PARAMETERS = ("released_weights",)
#: Hex digits of a file's SHA-1 in its record.
_SHA1_DIGITS = 8


class ReleasedUnavailable(ValueError):
    """Released weights that cannot be had here: not in the torch hub cache and not downloadable.

    Raised when the host is offline or the download failed; the message names the model and the
    URL, and says where to copy the file and how to give it (``--weights FILE``).
    """


def cached_file(url: str) -> Path:
    """Where ``torch.hub`` keeps the file of a URL, whether or not it is there.

    Args:
        url: the released file's URL.

    Returns:
        ``<torch.hub.get_dir()>/checkpoints/`` and the URL's file name.

    Example:
        >>> cached_file("https://example.org/models/m-0123abcd.pth").parent.name
        'checkpoints'
    """
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def _sha1(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()[:_SHA1_DIGITS]


def check_file(path: str | os.PathLike, cwd: str | os.PathLike | None = None) -> str:
    """Check a released weights file before any work starts, and make its path absolute.

    Args:
        path: the file; a relative path is taken from ``cwd``.
        cwd: the directory a relative path is taken from (``None``: the current one).

    Returns:
        The absolute, resolved path.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: for an empty path or a file that is not readable.

    Example:
        >>> check_file("no/such/weights.pth", cwd="/")
        Traceback (most recent call last):
        ...
        FileNotFoundError: released weights file '/no/such/weights.pth' does not exist
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ValueError(f"released weights must be None or a file path; got {path!r}")
    p = Path(path).expanduser()
    p = p if p.is_absolute() else Path(cwd or os.getcwd()) / p
    if not p.is_file():
        raise FileNotFoundError(f"released weights file {str(p)!r} does not exist")
    if not os.access(p, os.R_OK):
        raise ValueError(f"released weights file {str(p)!r} is not readable")
    return str(p.resolve())


def _read(path: Path, shown: str) -> dict[str, Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, pickled objects
        first = (str(e).splitlines() or [""])[0]
        if "weights_only" in str(e):  # torch's advice to unpickle anything is not ours to give
            first = ("it holds Python objects, not only tensors" if "Unsupported global" in str(e)
                     else "not a torch file")
        raise ValueError(f"{shown}: not a readable weights file, a state_dict saved by torch.save "
                         f"({type(e).__name__}: {first})") from e
    return state_dict_of(obj, shown)


def fetch(name: str, url: str, weights: str | os.PathLike | None = None) -> tuple[dict[str, Tensor], str]:
    """Read a released model's ``state_dict`` and say where it came from.

    The weights come from the first of these that has them:

    * ``weights``, a file: read with ``weights_only=True`` (a ``{"state_dict": ...}`` wrapper and
      ``module.`` prefixes accepted, :func:`colorlab.backbones.state_dict_of`);
    * the copy in the torch hub cache (:func:`cached_file`): no network needed. Like ``torch.hub``
      itself, a cached copy's hash is not checked again;
    * a download into that cache, when the URL's host answers; the hash in the file name is
      checked.

    Args:
        name: the released model's name, for messages.
        url: where its file is published.
        weights: a local file to read instead (``None``: the cache, else a download).

    Returns:
        ``(state_dict, record)``. The record is ``file:NAME@SHA1``, ``torch hub cache:NAME@SHA1``
        or ``download:NAME@SHA1``, with the first 8 hex digits of the file's SHA-1.

    Raises:
        FileNotFoundError: if ``weights`` does not exist.
        ValueError: naming the file, if it is unreadable or holds no ``state_dict``.
        ReleasedUnavailable: within seconds, if the file is not cached and cannot be downloaded.
    """
    if weights is not None:
        p = Path(weights).expanduser()
        if not p.is_file():
            raise FileNotFoundError(f"{name}: released weights file {str(weights)!r} does not exist")
        return _read(p, str(weights)), f"file:{p.name}@{_sha1(p)}"
    path = cached_file(url)
    if path.is_file():
        return _read(path, str(path)), f"torch hub cache:{path.name}@{_sha1(path)}"
    host = urlparse(url).hostname or url
    how = (f"download {url} and copy it to {path}, or give the file with --weights FILE (colorlab colorize) "
           f"or -p released_weights=FILE (notebooks 03 and 90)")
    if not reachable(host, HTTPS_PORT):
        raise ReleasedUnavailable(f"{name}: its weights are not in the torch hub cache ({path}) and {host} is not "
                                  f"reachable (offline?): {how}")
    try:
        state = torch.hub.load_state_dict_from_url(url, map_location="cpu", check_hash=True, weights_only=True)
    except Exception as e:  # HTTP errors, a hash that does not match, a truncated download
        first = (str(e).splitlines() or [""])[0]
        raise ReleasedUnavailable(f"{name}: downloading {url} failed ({type(e).__name__}: {first}): {how}") from e
    record = f"download:{path.name}@{_sha1(path)}" if path.is_file() else f"download:{path.name}"
    return state_dict_of(state, url), record
