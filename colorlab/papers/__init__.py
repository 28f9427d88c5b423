"""The sources of the study, found by name: one module per reproduction notebook, holding what its
source claims (:class:`~colorlab.claims.Claim`, each with its rule), the values it publishes, and
the figures, tables and cost comparisons its notebook draws. Each module declares a
:class:`Paper` as ``PAPER``; the registry finds every module of this package that does.

The models themselves live in :mod:`colorlab.methods`; a paper names the methods its notebook
trains and, for ``colorlab bench``, the network its source trains (:class:`SourceNetwork`).

Example:
    >>> [p.notebook for p in PAPERS.values()]
    ['00', '01', '02', '03', '04', '05', '06', '07']
    >>> for_notebook("03_zhang_classification").name
    'zhang'
    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown paper 'nope'; known: positive_control, yuv_regression, saturation_boost, zhang, unet, fusion, pix2pix, larsson"
"""

from __future__ import annotations

import importlib
import pkgutil

from ..claims import Claim, Published
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
    """The paper registered as ``name``; an unknown name raises ``KeyError`` listing the known ones."""
    if name not in PAPERS:
        raise KeyError(f"unknown paper {name!r}; known: {', '.join(PAPERS)}")
    return PAPERS[name]


def for_notebook(notebook: str) -> Paper | None:
    """The paper a notebook (``"03"`` or ``"03_zhang_classification"``) reproduces; ``None`` for a
    notebook that reproduces none (a tool such as ``90``)."""
    number = notebook.split("_")[0]
    return next((p for p in PAPERS.values() if p.notebook == number), None)


def source_network(method: str) -> SourceNetwork:
    """The network a source trains with ``method``; the method's defaults at a 256 crop when no
    paper declares one.

    Example:
        >>> source_network("zhang").args, source_network("zhang").crop
        ({'width': 1.0}, 176)
    """
    return next((p.network for p in PAPERS.values() if p.network is not None and p.network.method == method),
                SourceNetwork(method))


def all_claims() -> list[Claim]:
    """Every paper's claims, in notebook order."""
    return [c for p in PAPERS.values() for c in p.claims]


def all_published() -> list[Published]:
    """Every paper's published values, in notebook order."""
    return [v for p in PAPERS.values() for v in p.published]
