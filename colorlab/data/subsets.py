"""A narrow subset of a data source: the images one model is trained and tested on when a study
asks whether a homogeneous set is an easier problem (source 002 trained on the COCO images with
stop signs: one object, outdoors, sunlit).

A subset is named by a string (the ``subset`` parameter):

``"auto"``
    the source's own narrow subset, when it has one (:data:`DEFAULT_SUBSETS`): on ``samples``,
    the three outdoor, sunlit photos (rocket, china, flower). The other sources have none:
    ``ambiguous`` is one generator's images already, a ``folder:`` needs to be told.
``"none"``
    no subset: the comparison is not run (and the study says so).
``"names:a,b,c"``
    these images, by name (a ``samples`` photo's name, a ``folder:`` file's path relative to the folder).
``"dir:SUB"``
    the files of a ``folder:`` spec under its sub-folder ``SUB``.
``"list:FILE"``
    the names listed in the text file ``FILE``, one per line (blank lines and ``#`` comments skipped).

:func:`check_subset` checks a value in a millisecond before any work starts (a ``list:`` file
must exist and is made absolute, a ``dir:`` must be a sub-folder of the ``folder:`` spec);
:func:`restrict` keeps the images of an :class:`~colorlab.data.images.ImageSet` that are in the
subset, so a split held out by the source's rule stays held out.

Example:
    >>> from colorlab.data import load_images
    >>> test = restrict(load_images("samples", "test"), resolve_subset("auto", "samples"))
    >>> list(test.names), test.split_rule
    (['rocket', 'china', 'flower'], 'region')
    >>> resolve_subset("auto", "ambiguous") is None
    True
    >>> check_subset("every:thing", "samples")
    Traceback (most recent call last):
    ...
    ValueError: subset must be auto, none, names:A,B, dir:SUB or list:FILE; got 'every:thing'
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .images import ImageSet

__all__ = ["DEFAULT_SUBSETS", "Subset", "check_subset", "resolve_subset", "restrict"]

#: spec -> (description, names): the narrow subset ``"auto"`` picks on that source.
DEFAULT_SUBSETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "samples": ("the outdoor, sunlit photos (rocket, china, flower)", ("rocket", "china", "flower")),
}
_FORMS = "auto, none, names:A,B, dir:SUB or list:FILE"


@dataclass(frozen=True)
class Subset:
    """A resolved subset: the image names it keeps (``names``) or the sub-folder whose files it
    keeps (``prefix``), and what it is, in words."""

    description: str
    names: frozenset[str] | None = None
    prefix: str | None = None

    def unknown(self, *name_lists: object) -> list[str]:
        """The names this subset lists that none of ``name_lists`` (every split's names) has: typos."""
        if self.names is None:
            return []
        seen = {PurePosixPath(str(n)).as_posix() for names in name_lists for n in names}  # type: ignore[attr-defined]
        return sorted(self.names - seen)

    def __contains__(self, name: object) -> bool:
        n = PurePosixPath(str(name)).as_posix()
        if self.names is not None:
            return n in self.names
        assert self.prefix is not None
        return n.startswith(self.prefix + "/")


def _folder(spec: str) -> Path | None:
    return Path(spec.strip()[len("folder:"):]) if spec.strip().lower().startswith("folder:") else None


def check_subset(subset: str, spec: str, cwd: str | os.PathLike | None = None) -> str:
    """``subset`` checked against the data ``spec`` and normalised (a ``list:`` file made
    absolute, a relative one taken from ``cwd``); ``ValueError`` or ``FileNotFoundError`` naming
    the problem. Names are checked when the images are loaded (:func:`restrict`)."""
    if not isinstance(subset, str) or not subset.strip():
        raise ValueError(f"subset must be {_FORMS}; got {subset!r}")
    s = subset.strip()
    kind, _, rest = s.partition(":")
    if s in ("auto", "none"):
        return s
    if kind == "names" and rest.strip():
        return s
    if kind == "dir" and rest.strip():
        root = _folder(spec)
        if root is None:
            raise ValueError(f"subset {s!r}: dir: names a sub-folder of a folder: data spec; the data is {spec!r}")
        if not (root / rest.strip()).is_dir():
            raise FileNotFoundError(f"subset {s!r}: {str(root / rest.strip())!r} is not a folder")
        return s
    if kind == "list" and rest.strip():
        p = Path(rest.strip()).expanduser()
        p = p if p.is_absolute() else Path(cwd or os.getcwd()) / p
        if not p.is_file():
            raise FileNotFoundError(f"subset {s!r}: the list file {str(p)!r} does not exist")
        return f"list:{p.resolve()}"
    raise ValueError(f"subset must be {_FORMS}; got {subset!r}")


def resolve_subset(subset: str, spec: str, cwd: str | os.PathLike | None = None) -> Subset | None:
    """The :class:`Subset` that ``subset`` names on ``spec``, or ``None`` when there is none
    (``"none"``, or ``"auto"`` on a source without a default)."""
    s = check_subset(subset, spec, cwd)
    kind, _, rest = s.partition(":")
    key = spec.strip().lower()
    if s == "none":
        return None
    if s == "auto":
        if key not in DEFAULT_SUBSETS:
            return None
        what, names = DEFAULT_SUBSETS[key]
        return Subset(what, names=frozenset(names))
    if kind == "names":
        names = [n.strip() for n in rest.split(",") if n.strip()]
        return Subset(f"the images {', '.join(names)}", names=frozenset(PurePosixPath(n).as_posix() for n in names))
    if kind == "dir":
        sub = PurePosixPath(rest.strip().replace(os.sep, "/")).as_posix().strip("/")
        return Subset(f"the files under {sub}/", prefix=sub)
    lines = Path(rest).read_text().splitlines()
    names = [ln.split("#", 1)[0].strip() for ln in lines]
    names = [n for n in names if n]
    if not names:
        raise ValueError(f"subset {s!r}: the list file names no image")
    return Subset(f"the {len(names)} images listed in {Path(rest).name}",
                  names=frozenset(PurePosixPath(n).as_posix() for n in names))


def restrict(images: ImageSet, subset: Subset) -> ImageSet:
    """The images of ``images`` in ``subset``, as an :class:`ImageSet` of the same source, split and
    rule (a copy; ``images`` is untouched); :meth:`Subset.unknown` finds names that are in no split."""
    keep = [i for i, n in enumerate(images.names) if n in subset]
    out = copy.copy(images)
    out.names = [images.names[i] for i in keep]
    if images.in_memory:
        out._images = [images._images[i] for i in keep]  # type: ignore[index]
    else:
        load = images._load
        assert load is not None
        out._load = lambda j, _keep=keep, _load=load: _load(_keep[j])
    out.failed = set()
    out.data_path = f"{images.data_path}, subset: {subset.description}"
    return out
