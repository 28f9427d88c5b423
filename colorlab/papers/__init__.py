"""The registry of the study's sources, found by name: one module per reproduction notebook.

Each module of this package declares a :class:`Paper` as ``PAPER``: what its source claims
(:class:`~colorlab.claims.Claim`, each with its rule), the values it publishes, and the methods its
notebook trains. The module also holds the figures, tables and cost comparisons its notebook
draws. The models themselves live in :mod:`colorlab.methods`.

Example:
    >>> [p.notebook for p in PAPERS.values()]
    ['00', '01', '02', '03', '04', '05', '06', '07']
    >>> for_notebook("03_zhang_classification").name
    'zhang'
"""

from __future__ import annotations

import importlib
import pkgutil

from ..claims import Claim, Published
from ..errors import lookup
from .base import Paper, SourceNetwork

__all__ = ["Paper", "SourceNetwork", "PAPERS", "get", "for_notebook", "source_network", "all_claims",
           "all_published"]


def _discover() -> dict[str, Paper]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        paper = getattr(module, "PAPER", None)
        if isinstance(paper, Paper):
            if paper.name != info.name:
                raise ValueError(f"{module.__name__} declares the paper {paper.name!r}; name it {info.name!r}")
            found.append(paper)
    return {p.name: p for p in sorted(found, key=lambda p: p.notebook)}


#: name -> :class:`Paper`, in notebook order
PAPERS: dict[str, Paper] = _discover()


def get(name: str) -> Paper:
    """Return the paper registered as ``name``.

    Args:
        name: a registry name, a key of :data:`PAPERS`.

    Returns:
        The :class:`Paper`.

    Raises:
        KeyError: for an unknown name, listing the known ones.

    Example:
        >>> get("zhang").notebook
        '03'
        >>> get("nope")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        KeyError: "unknown paper 'nope'; known: positive_control, yuv_regression, ..."
    """
    return lookup("paper", name, PAPERS)


def for_notebook(notebook: str) -> Paper | None:
    """Return the paper a notebook reproduces.

    Args:
        notebook: the notebook's number (``"03"``) or name (``"03_zhang_classification"``).

    Returns:
        The :class:`Paper`, or ``None`` for a notebook that reproduces none (a tool such as ``90``).

    Example:
        >>> for_notebook("90_colorize_your_photos") is None
        True
    """
    number = notebook.split("_")[0]
    return next((p for p in PAPERS.values() if p.notebook == number), None)


def source_network(method: str) -> SourceNetwork:
    """Return the network a source trains with ``method``, as ``colorlab bench`` builds it.

    Args:
        method: a method's registry name.

    Returns:
        The :class:`SourceNetwork` a paper declares for it, else the method's defaults at a 256 crop.

    Example:
        >>> source_network("zhang").args, source_network("zhang").crop
        ({'width': 1.0}, 176)
    """
    return next((p.network for p in PAPERS.values() if p.network is not None and p.network.method == method),
                SourceNetwork(method))


def all_claims() -> list[Claim]:
    """Return every paper's claims, in notebook order."""
    return [c for p in PAPERS.values() for c in p.claims]


def all_published() -> list[Published]:
    """Return every paper's published values, in notebook order."""
    return [v for p in PAPERS.values() for v in p.published]
