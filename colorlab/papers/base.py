"""What a paper module declares: a :class:`Paper`, and a :class:`SourceNetwork`.

A :class:`Paper` ties one source to its notebook: its claims, its published values and the
methods the notebook trains. Where the source trains a network of its own, a
:class:`SourceNetwork` says how ``colorlab bench`` builds it. :func:`cost_verdict` decides a cost
claim measured as a benchmark, on the speed-up :func:`reciprocal` reads from a speed ratio.

Example:
    >>> Paper("demo", "09", "a demo", "000_x.txt", ("zhang",)).methods
    ('zhang',)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Claim, Published
from ..stats import Interval

__all__ = ["Paper", "SourceNetwork", "reciprocal", "cost_verdict"]


@dataclass(frozen=True)
class SourceNetwork:
    """The network a source trains, as ``colorlab bench`` builds it.

    Args:
        method: the method's registry name.
        variant: the method's variant; ``None`` for its first.
        args: its arguments over the method's defaults.
        crop: the crop side in pixels.

    Example:
        >>> SourceNetwork("zhang", args={"width": 1.0}, crop=176).crop
        176
    """

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

    Raises:
        ValueError: when a claim or published value belongs to another notebook.
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


def reciprocal(ratio: Interval) -> Interval:
    """The other configuration's speed-up over this one, from this one's speed over the other's.

    Example:
        >>> reciprocal((0.5, 0.4, 0.8))
        (2.0, 1.25, 2.5)
    """
    return 1 / ratio[0], 1 / ratio[2], 1 / ratio[1]


def cost_verdict(speedup: Interval, aa: Interval) -> tuple[str, str]:
    """The verdict of a speed-up measured as a benchmark: its interval against 1, if the A/A check holds.

    Args:
        speedup: how many times faster the claimed-cheaper configuration is, with its interval.
        aa: the reference against its A/A twin (:func:`colorlab.cost.compare`).

    Returns:
        ``(verdict, note)``: inconclusive with "A/A check failed" when the A/A interval excludes 1
        (the measurement is unreliable); else reproduced above 1, not reproduced below, inconclusive
        across it.

    Example:
        >>> cost_verdict((1.3, 1.2, 1.4), (1.0, 0.97, 1.03)), cost_verdict((1.3, 1.2, 1.4), (1.1, 1.05, 1.15))[0]
        (('reproduced', ''), 'inconclusive at this scale')
    """
    if not aa[1] <= 1.0 <= aa[2]:
        return INCONCLUSIVE, f"A/A check failed ({aa[0]:.2f} [{aa[1]:.2f}, {aa[2]:.2f}]): the timing is unreliable"
    return (REPRODUCED if speedup[1] > 1 else NOT_REPRODUCED if speedup[2] < 1 else INCONCLUSIVE), ""
