"""A narrow subset of a data source, for asking whether a homogeneous set is an easier problem.

Source 002 trained on the COCO images with stop signs: one object, outdoors, sunlit. A subset is
named by a string (``auto``, ``none``, ``names:A,B``, ``dir:SUB`` or ``list:FILE``, described in
``docs/data.md``); :func:`restrict` keeps the images of an image set that are in it, so a split
held out by the source's rule stays held out.

Example:
    >>> from colorlab.data import load_images
    >>> test = restrict(load_images("samples", "test"), resolve_subset("auto", "samples"))
    >>> list(test.names), test.split_rule
    (['rocket', 'china', 'flower'], 'region')
    >>> resolve_subset("auto", "ambiguous") is None
    True
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
    """A resolved subset: the image names it keeps, or the sub-folder whose files it keeps.

    ``name in subset`` says whether an image (a name, or a path relative to the folder) is in it.

    Args:
        description: what the subset is, in words.
        names: the names it keeps (POSIX paths for a folder's files), or ``None``.
        prefix: the sub-folder whose files it keeps, or ``None``.

    Example:
        >>> "a/x.png" in Subset("under a/", prefix="a"), "b/x.png" in Subset("under a/", prefix="a")
        (True, False)
    """

    description: str
    names: frozenset[str] | None = None
    prefix: str | None = None

    def unknown(self, *name_lists: object) -> list[str]:
        """Find the names this subset lists that no split has: typos.

        Args:
            name_lists: every split's names.

        Returns:
            The names in none of them, sorted (empty for a sub-folder subset).
        """
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
    """Check a subset value against a data spec before any work starts, and normalise it.

    A ``list:`` file must exist and is made absolute; a ``dir:`` must be a sub-folder of the
    ``folder:`` spec. Names are checked when the images are loaded (:func:`restrict`).

    Args:
        subset: ``"auto"``, ``"none"``, ``"names:A,B"``, ``"dir:SUB"`` or ``"list:FILE"``.
        spec: the data spec the subset is of.
        cwd: the directory a relative ``list:`` file is taken from (``None``: the current one).

    Returns:
        The value, with a ``list:`` file's path absolute.

    Raises:
        ValueError: for a value of none of these forms, or a ``dir:`` on a spec that is no folder.
        FileNotFoundError: for a missing ``dir:`` sub-folder or ``list:`` file.

    Example:
        >>> check_subset("every:thing", "samples")
        Traceback (most recent call last):
        ...
        ValueError: subset must be auto, none, names:A,B, dir:SUB or list:FILE; got 'every:thing'
    """
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
    """Resolve a subset value on a data spec.

    Args:
        subset: the value (see :func:`check_subset`).
        spec: the data spec.
        cwd: the directory a relative ``list:`` file is taken from.

    Returns:
        The :class:`Subset`, or ``None`` when there is none (``"none"``, or ``"auto"`` on a source
        without a default in :data:`DEFAULT_SUBSETS`).

    Raises:
        ValueError: as :func:`check_subset`, or for a list file that names no image.
        FileNotFoundError: as :func:`check_subset`.

    Example:
        >>> resolve_subset("names:rocket, china", "samples").names == {"rocket", "china"}
        True
    """
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
    """Keep the images of an image set that are in a subset.

    Names the subset lists that are in no split are found by :meth:`Subset.unknown`.

    Args:
        images: the image set; it is left untouched.
        subset: the subset.

    Returns:
        A copy: an :class:`~colorlab.data.images.ImageSet` of the same source, split and rule,
        with only the images in ``subset``.
    """
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
