"""What a paper module declares: a :class:`Paper` (its claims, published values and the methods
its notebook trains) and, where its source trains a network of its own, a :class:`SourceNetwork`.

Example:
    >>> Paper("demo", "09", "a demo", "000_x.txt", ("zhang",)).methods
    ('zhang',)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..claims import Claim, Published

__all__ = ["Paper", "SourceNetwork"]


@dataclass(frozen=True)
class SourceNetwork:
    """The network a source trains, as ``colorlab bench`` builds it: the method's ``variant`` (its
    first when ``None``), its arguments over the method's defaults, and the crop side."""

    method: str
    variant: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    crop: int = 256


@dataclass(frozen=True)
class Paper:
    """One source as one notebook reproduces it.

    Args:
        name: the registry name, the module's name.
        notebook: the number of the notebook that tests it (``"03"``).
        title: what it reproduces, with the citation.
        source: the document(s) in ``shared/seeds`` it comes from.
        methods: the registry names of the methods its notebook trains.
        claims: its claims, each with the rule that decides it on the notebook's per-photo rows.
        published: the values it publishes, set beside ours by :func:`colorlab.claims.paper_table`.
        network: the network its source trains (``colorlab bench``), if it trains one of its own.
    """

    name: str
    notebook: str
    title: str
    source: str
    methods: tuple[str, ...]
    claims: tuple[Claim, ...] = ()
    published: tuple[Published, ...] = ()
    network: SourceNetwork | None = None

    def __post_init__(self) -> None:
        stray = [c.key for c in self.claims if c.notebook != self.notebook]
        stray += [p.label for p in self.published if p.notebook != self.notebook]
        if stray:
            raise ValueError(f"paper {self.name} (notebook {self.notebook}) declares claims or published values "
                             f"of another notebook: {', '.join(stray)}")
