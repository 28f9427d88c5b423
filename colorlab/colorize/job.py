"""One ``colorlab colorize`` job: the inputs, the output of each, the run and its record.

:func:`plan` checks the inputs and names every output before any photo is read; :func:`run` colourises them.
"""

from __future__ import annotations

import glob
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from .. import __version__, progress
from ..data.decode import glob_files, photo_suffixes, walk_folder
from ..errors import UsageError
from ..files import atomic_write, plain, write_json
from .core import COMPARE_HEIGHT, LEVELS, colorize_images, comparison, model_input, shrink_to, to_uint8, working_size
from .model import Model, describe

__all__ = ["IMAGE_SUFFIXES", "OUTPUT_SUFFIX", "COMPARE_TAG", "EMBEDDED", "Job", "Outcome", "photo_inputs",
           "check_photos", "collect_inputs", "check_outdir", "plan", "run"]

#: File name endings taken from a folder (any file given by name is tried whatever its ending).
IMAGE_SUFFIXES = photo_suffixes()
#: Outputs are lossless 8-bit PNG.
OUTPUT_SUFFIX = ".png"
#: Added to an output's name for its comparison image.
COMPARE_TAG = "_compare"
#: The record of a run is JSON.
RECORD_SUFFIX = ".json"
#: Photo sets shipped in the installed wheels that :func:`photo_inputs` names by word.
EMBEDDED = ("historical", "samples", "photos")
#: The prefix of a folder given as a data spec.
_FOLDER = "folder:"


@dataclass
class Job:
    """What one ``colorlab colorize`` will do (:func:`plan`).

    Each input photo with its output file (``pairs``), the output folder, and the inputs ``skipped`` with why."""

    pairs: list[tuple[Path, Path]]
    outdir: Path
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # refused before work (exists)


@dataclass
class Outcome:
    """What :func:`run` did.

    The outputs ``written``, the photos that ``failed`` with why, the inputs whose outputs were ``kept`` as they
    were, the record of the run (``manifest``) and its wall time (``seconds``)."""

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    manifest: Path | None = None
    seconds: float = 0.0


def collect_inputs(inputs: Iterable[str | os.PathLike],
                   skip: str | os.PathLike | None = None) -> list[tuple[Path, Path]]:
    """The photos that the inputs name.

    Args:
        inputs: files (whatever their ending), folders (their image files, :data:`IMAGE_SUFFIXES`, recursively,
            hidden ones left out) and globs (``**`` recursive). Folders and globs follow ``folder:``'s rule for links
            (:func:`~colorlab.data.decode.walk_folder`): followed inside the folder, each real file once; a link
            leading out is skipped and said on stderr.
        skip: the output folder; its files are left out when it lies inside an input folder or a glob's fixed part.

    Returns:
        ``(photo, relative output stem)`` for each photo, once: a folder's files under their path relative to it.

    Raises:
        UsageError: an input that does not exist, a glob that matches nothing, a folder with no images.

    Example:
        >>> collect_inputs(["/no/such/photo.jpg"])
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: input '/no/such/photo.jpg' does not exist
    """
    out: dict[Path, tuple[Path, Path]] = {}  # by the resolved path: each photo once
    outside = Path(skip).expanduser().resolve() if skip is not None else None

    def kept(f: Path, base: Path) -> bool:  # the output folder is skipped when it lies strictly inside ``base``
        base = base.resolve()
        nested = outside is not None and outside != base and outside.is_relative_to(base)
        return not (nested and f.resolve().is_relative_to(outside))

    for raw in inputs:
        text = os.fspath(raw)
        p = Path(text).expanduser()
        folder = p.is_dir()
        if folder or (not p.is_file() and glob.has_magic(text)):  # one walk, one rule for links, for both
            base, walk = (p, walk_folder(p, IMAGE_SUFFIXES)) if folder else glob_files(os.path.expanduser(text))
            if walk.left_out:
                progress.say(f"colorlab colorize: {text}: {walk.note()}", warning=True)
            found = sorted(f for f in (base / n for n in walk.names) if kept(f, base))
            if not found:
                raise UsageError(f"folder {text!r} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES)[:6])}, ...)"
                                 if folder else f"no file matches {text!r}")
            for f in found:
                out.setdefault(f.resolve(), (f, f.relative_to(base) if folder else Path(f.name)))
        elif p.is_file():
            out.setdefault(p.resolve(), (p, Path(p.name)))
        elif p.exists():
            raise UsageError(f"input {text!r} is neither a file nor a folder")
        else:
            raise UsageError(f"input {text!r} does not exist")
    return list(out.values())


def photo_inputs(spec: str) -> list[str]:
    """The inputs a photos spec names, for :func:`plan`.

    Args:
        spec: ``historical`` or ``samples`` (the embedded photos), ``folder:PATH``, or a photo file, a folder or a glob.

    Returns:
        The embedded photos' files (:func:`colorlab.data.sources.embedded_files`), the folder, or the spec as it is.

    Example:
        >>> sorted(Path(p).stem for p in photo_inputs("historical"))[:3]
        ['camera', 'clock_motion', 'coins']
        >>> photo_inputs("folder:~/scans")
        ['~/scans']
    """
    from ..data.sources import embedded_files

    if spec in EMBEDDED:
        return [str(p) for p in embedded_files(spec).values()]
    return [spec.removeprefix(_FOLDER)]


def check_photos(spec: str, cwd: str | os.PathLike | None = None) -> str:
    """Check a photos spec before any work (:func:`photo_inputs`); the files are listed, not read.

    Args:
        spec: the spec.
        cwd: where a relative path or glob is taken from (``None``: the current directory).

    Returns:
        The spec, a path or glob made absolute.

    Raises:
        UsageError: it names no photo.

    Example:
        >>> check_photos("historical")
        'historical'
        >>> check_photos("/no/such/folder")
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: input '/no/such/folder' does not exist
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UsageError(f"photos must be historical, samples, photos, folder:PATH, a photo, a folder or a glob; "
                         f"got {spec!r}")
    if spec in EMBEDDED:
        if not photo_inputs(spec):
            raise UsageError(f"no {spec} photos are shipped in the installed wheels")
        return spec
    folder = spec.startswith(_FOLDER)
    path = Path(os.path.expanduser(spec.removeprefix(_FOLDER)))
    path = path if path.is_absolute() else Path(cwd or os.getcwd()) / path
    collect_inputs([path])
    return (_FOLDER if folder else "") + str(path)


def check_outdir(outdir: Path) -> None:
    """Check that an output folder (which need not exist yet) can be made and written; ``UsageError`` otherwise."""
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"output folder {str(outdir)!r} is a file, not a folder")
    probe = outdir
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {str(outdir)!r} is not writable ({str(probe)!r} is not a writable folder)")


def _comparison_path(dst: Path) -> Path:
    return dst.with_name(dst.stem + COMPARE_TAG + OUTPUT_SUFFIX)


def plan(inputs: Iterable[str | os.PathLike], outdir: str | os.PathLike, *, force: bool = False,
         compare: bool = False) -> Job:
    """Check the inputs and the output folder and name every output, before any photo is read.

    Each output is ``OUTDIR/<path relative to its input folder>/<stem>.png``. Two inputs that would share one
    (``a.jpg`` and ``a.png``) keep their endings (``a.jpg.png``).

    Args:
        inputs: files, folders and globs (:func:`collect_inputs`).
        outdir: the output folder.
        force: replace existing outputs; otherwise their inputs go to :attr:`Job.skipped`.
        compare: also write ``<stem>_compare.png`` beside each output.

    Raises:
        UsageError: a bad input or output folder, two inputs that would still write one file (compared ignoring
            case, as macOS and Windows do), or an output that is an input.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> for name in ("a.jpg", "a.png", "a_compare.jpg"):
        ...     Image.new("RGB", (4, 4)).save(d / name)
        >>> sorted(dst.name for _, dst in plan([d], d / "out").pairs)
        ['a.jpg.png', 'a.png.png', 'a_compare.png']
        >>> plan([d / "a.jpg", d / "a_compare.jpg"], d / "out", compare=True)
        Traceback (most recent call last):
        ...
        colorlab.errors.UsageError: ... would both be written to .../out/a_compare.png; ...
    """
    outdir = Path(outdir).expanduser()
    check_outdir(outdir)
    found = collect_inputs(inputs, skip=outdir)
    stems = Counter(rel.with_suffix("") for _, rel in found)
    targets = [outdir / (rel.parent / (rel.name + OUTPUT_SUFFIX) if stems[rel.with_suffix("")] > 1
                         else rel.with_suffix(OUTPUT_SUFFIX)) for _, rel in found]
    writes = [[dst, _comparison_path(dst)] if compare else [dst] for dst in targets]
    owner: dict[str, Path] = {}
    for (src, _), files in zip(found, writes, strict=True):
        for f in files:
            other = owner.setdefault(str(f).casefold(), src)
            if other != src:
                raise UsageError(f"{other} and {src} would both be written to {f}; give their folder instead, or "
                                 f"colourise them into separate output folders")
    ins = {p.resolve() for p, _ in found}
    job = Job([], outdir)
    for (src, _), dst, files in zip(found, targets, writes, strict=True):
        if any(t.resolve() in ins for t in files):
            raise UsageError(f"the output for {str(src)!r} would overwrite an input ({dst}); choose another -o folder")
        existing = [t for t in files if t.exists()]
        if existing and not force:
            job.skipped.append((src, f"{existing[0]} exists (not overwritten; --force replaces it)"))
        else:
            job.pairs.append((src, dst))
    return job


def _save_png(path: Path, rgb: Tensor) -> None:
    img = Image.fromarray(to_uint8(rgb).permute(1, 2, 0).numpy(), "RGB")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: img.save(f, format="PNG"))


def run(model: Model, job: Job, *, decode: str | None = None, keep_luminance: bool = False, batch: int = 1,
        compare: bool = False, say: Callable[[str], None] | None = None, progress_bar: bool = True,
        record: str | None = None) -> Outcome:
    """Colourise every pair of ``job``; a photo that cannot be read, colourised or written gets a line, the rest go on.

    Photos are decoded one by one and go through the network up to ``batch`` of one working size at a time; a batch
    that fails is retried one photo at a time. A photo that fails leaves none of its files. Outputs are written
    atomically; the record of the run goes to ``OUTDIR/colorize-<UTC time>.json`` (or ``record``), also when it is
    interrupted. The progress bar is drawn only on a terminal: a log gets the lines on failures alone.

    Args:
        model: the model (:func:`~colorlab.colorize.model.load_model`).
        job: the job (:func:`plan`).
        decode: the model's decoding (default: its first; an unknown one raises ``ValueError``).
        keep_luminance: keep a colour photo's own luminance instead of desaturating it.
        batch: photos of one working size per forward pass.
        compare: also write each comparison image.
        say: where the lines on failures go (default: stderr, above the progress bar).
        progress_bar: show a progress bar when stderr is a terminal.
        record: the record's file name in the output folder, replaced by each run (a notebook's stable name);
            ``None``: a new ``colorize-<UTC time>.json`` each run.

    Returns:
        What was written, failed and kept, the record's path and the wall time.

    Raises:
        UsageError: ``batch`` is not a positive integer, or ``record`` is not a plain ``.json`` file name.
    """
    from tqdm import tqdm

    from ..data.decode import load_image

    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UsageError(f"--batch must be a positive integer; got {batch!r}")
    if record is not None and (Path(record).name != record or not record.endswith(RECORD_SUFFIX)):
        raise UsageError(f"the record must be a plain file name ending in {RECORD_SUFFIX}; got {record!r}")
    method = model.method
    decode = method.check_decode(decode)
    result = Outcome()
    total = len(job.pairs)
    progress.phase(f"colorize {method.name}/{method.variant} ({decode})")
    progress.note(f"{total} photo(s) with {describe(model)}")
    start = time.perf_counter()
    drawn = progress_bar and bool(total) and getattr(sys.stderr, "isatty", bool)()  # a log gets no \r frames
    bar = tqdm(total=total, unit="photo", desc="colorize", disable=not drawn, file=sys.stderr, dynamic_ncols=True)
    shown = say or ((lambda line: bar.write(line, file=sys.stderr)) if drawn else
                    (lambda line: print(line, file=sys.stderr)))
    files: dict[str, Any] = {str(src): {"status": "kept", "why": why} for src, why in job.skipped}
    result.kept += [src for src, _ in job.skipped]

    def fail(src: Path, why: str, what: str) -> None:
        result.failed.append((src, why))
        files[str(src)] = {"status": "failed", "why": why}
        line = f"colorlab colorize: {src}: {what} ({why})"
        shown(line)
        progress.note(line)

    def advance(n: int) -> None:
        bar.update(n)
        progress.step(bar.n, total)

    def save(src: Path, dst: Path, photo: Tensor, out: Tensor) -> None:
        written: list[Path] = []
        try:
            _save_png(dst, out)
            written.append(dst)
            if compare:  # drawn at the panels' height: no full-size copy of a large photo
                rgb, small = shrink_to(photo, COMPARE_HEIGHT).float() / LEVELS, shrink_to(out, COMPARE_HEIGHT)
                _save_png(_comparison_path(dst), comparison(rgb, model_input(method, rgb, keep_luminance), small))
        except OSError as e:
            for f in written:  # nothing half done: a rerun colourises this photo again
                f.unlink(missing_ok=True)
            fail(src, f"cannot write {dst}: {e}", "not written")
            return
        result.written.append(dst)
        files[str(src)] = {"status": "written", "output": str(dst), "size": list(out.shape[-2:]),
                           "working_size": list(working_size(tuple(out.shape[-2:]), model.size))}

    def flush(pending: list[tuple[Path, Path, Tensor]]) -> None:
        try:
            outs = colorize_images(method, [p for _, _, p in pending], size=model.size, decode=decode,
                                   keep_luminance=keep_luminance, dtype=torch.uint8)  # 8-bit: a quarter of float
        except (RuntimeError, ValueError) as e:  # out of memory, say
            if len(pending) > 1:  # one at a time: only the photos that fail alone are reported
                for one in pending:
                    flush([one])
                return
            fail(pending[0][0], f"{type(e).__name__}: {str(e).splitlines()[0]}", "not colourised")
            advance(1)
            return
        for (src, dst, photo), out in zip(pending, outs, strict=True):
            save(src, dst, photo, out)
        advance(len(pending))

    pending: list[tuple[Path, Path, Tensor]] = []
    finished = False
    try:
        for src, dst in job.pairs:
            try:
                if src.stat().st_size == 0:
                    raise OSError(f"cannot read image {os.fspath(src)!r}: empty file (0 bytes)")
                photo = load_image(src)
            except OSError as e:  # gone since it was listed, empty, truncated, not an image
                fail(src, str(e).removeprefix(f"cannot read image {os.fspath(src)!r}: "), "unreadable")
                advance(1)
                continue
            pending.append((src, dst, photo))
            if len(pending) >= batch:
                flush(pending)
                pending = []
        if pending:
            flush(pending)
        finished = True
    finally:
        bar.close()
        result.seconds = time.perf_counter() - start
        if job.pairs or job.skipped:
            result.manifest = _manifest(model, job, result, files, record, decode=decode,
                                        keep_luminance=keep_luminance, interrupted=not finished)
    return result


def _manifest(model: Model, job: Job, result: Outcome, files: Mapping[str, Any], record: str | None,
              **settings: Any) -> Path:
    from ..results import environment

    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = job.outdir / (record or f"colorize-{stamp}{RECORD_SUFFIX}")
    n = 1
    while record is None and path.exists():
        n += 1
        path = job.outdir / f"colorize-{stamp}-{n}{RECORD_SUFFIX}"
    dev = next(model.method.parameters()).device
    job.outdir.mkdir(parents=True, exist_ok=True)
    write_json(path, plain({
        "colorlab": __version__, "model": model.record, "working_size": model.size, **settings,
        "written": len(result.written), "failed": len(result.failed), "kept": len(result.kept),
        "seconds": round(result.seconds, 3), "environment": environment(str(dev)), "files": dict(files),
    }, strict_json=True))
    return path

