"""``colorlab`` command line: ``run`` executes the notebooks, ``report`` rebuilds the summary,
``colorize`` colourises your own photos with a trained (or released) model.

Examples::

    colorlab run                       # every notebook, quick profile, embedded samples
    colorlab run --profile smoke       # seconds per notebook
    colorlab run --only 01 02 -p steps=50 --results /tmp/try   # a variation, kept apart
    colorlab run --profile full --data folder:/data/coco/train2017
    colorlab run --list-params         # every parameter, its default and each profile's value
    colorlab report --profile quick
    colorlab colorize old_photos/ -o out/ --checkpoint zhang/full      # the newest zhang/full checkpoint
    colorlab colorize scan.tif -o out/ --checkpoint zhang2016-released --weights colorization_release_v2-9b330a0b.pth

Exit status: 0 when every notebook ran, 1 when one failed, 2 for a request refused before
anything ran (one line says why), 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .profiles import PROFILES

__all__ = ["main", "parse_override"]

_DATA_HELP = ("samples (embedded colour photos, default) | historical (embedded grayscale photos) | "
              "ambiguous (generated positive control) | "
              "folder:PATH (any folder of images; a relative PATH is taken from here) | "
              "stl10 | places365 | cifar10 | flowers102 (torchvision, kept in data/)")


def parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as a Python literal when it is one (``3``, ``0.5``, ``None``,
    ``True``, ``'x'``, ``[1, 2]``), else kept as a string; ``true``/``false``/``none`` are accepted too.

    Example:
        >>> parse_override("steps=50"), parse_override("data_spec=folder:/x")
        (('steps', 50), ('data_spec', 'folder:/x'))
    """
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{key!r} is not a valid parameter name")
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if raw.strip().lower() in lowered:
        return key, lowered[raw.strip().lower()]
    try:
        return key, ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return key, raw


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="colorlab", description="Reproductions of automatic image colourisation.")
    p.add_argument("--version", action="version", version=f"colorlab {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the numbered notebooks with papermill and write the report",
                       description="Execute the numbered notebooks and write the report. Every input is "
                                   "checked before the first notebook starts.")
    r.add_argument("--profile", default="quick", choices=list(PROFILES), help="parameter profile (default: quick)")
    r.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers to run, e.g. --only 01 03")
    r.add_argument("--data", metavar="SPEC", help=_DATA_HELP)
    r.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], help="device for every notebook (default: auto)")
    r.add_argument("-p", "--param", action="append", type=parse_override, default=[], metavar="KEY=VALUE",
                   help="parameter passed to every notebook that declares it (repeatable; see --list-params)")
    r.add_argument("--timeout", type=_positive, default=None, metavar="SECONDS",
                   help="per-cell timeout for each notebook (default: none)")
    r.add_argument("--results", default=None, help="results folder (default: results/ of the checkout)")
    r.add_argument("--notebooks", default=None, help="notebooks folder (default: notebooks/ of the checkout)")
    r.add_argument("--no-report-notebook", action="store_true", help="with --only, do not also run 99_results_summary")
    r.add_argument("--force", action="store_true", help="run the full profile on the embedded photos anyway")
    r.add_argument("--list-params", action="store_true",
                   help="list every notebook parameter with its default and each profile's value, and exit")

    rep = sub.add_parser("report", help="rebuild summary.md / summary.csv from existing results")
    rep.add_argument("--profile", default="quick", help="profile folder under results/ (default: quick)")
    rep.add_argument("--results", default=None, help="results folder (default: results/ of the checkout)")

    c = sub.add_parser("colorize", help="colourise your own photos (files, folders, globs) at full resolution",
                       description="Colourise photos with a trained model. Chroma is predicted at the working size "
                                   "and joined with each photo's full-resolution luminance, so outputs have the "
                                   "inputs' sizes. The model, the decoding and the output folder are checked before "
                                   "any photo is read; an unreadable photo is reported and the rest go on (exit 1 "
                                   "at the end); existing outputs are never replaced without --force.")
    c.add_argument("inputs", nargs="*", metavar="INPUT", help="photo files, folders (searched recursively) or globs")
    c.add_argument("-o", "--output", metavar="OUTDIR", help="output folder (made if missing)")
    c.add_argument("--checkpoint", metavar="PATH|METHOD/VARIANT|NAME", action="append",
                   help="a checkpoint file; METHOD/VARIANT for the newest one in the results folder (e.g. zhang/full); "
                        "or a released model (see --list-models); several with --speed")
    c.add_argument("--weights", metavar="FILE", help="a released model's weights file (offline use)")
    c.add_argument("--decode", metavar="NAME", help="the model's decoding (default: its first; see --list-models)")
    c.add_argument("--size", type=int, metavar="PIXELS",
                   help="shorter side at which chroma is predicted (default: the training photos' size the "
                        "checkpoint records, else 256 as Zhang et al.'s demo; photos are never enlarged)")
    c.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], default="auto", help="default: auto")
    c.add_argument("--batch", type=int, default=1, metavar="N", help="photos of one working size per forward pass")
    c.add_argument("--keep-original-luminance", action="store_true",
                   help="keep a colour photo's own lightness (default: desaturate it as a photo editor does first)")
    c.add_argument("--compare", action="store_true", help="also write <name>_compare.png: input, grayscale, output")
    c.add_argument("--force", action="store_true", help="replace existing outputs")
    c.add_argument("--results", default=None, help="results folder METHOD/VARIANT is looked up in (default: results/)")
    c.add_argument("--profile", default=None,
                   help="the profile METHOD/VARIANT is taken from (default: full, else quick, else any other, smoke last)")
    c.add_argument("--list-models", action="store_true",
                   help="list the checkpoints in the results folder and the released models, with their decodings")
    c.add_argument("--speed", action="store_true",
                   help="measure instead: seconds per photo and peak memory of each --checkpoint on synthetic "
                        "photos (--speed-sizes), at the model's working size and at the photo's; writes OUTDIR/speed.csv "
                        "and OUTDIR/environment.json")
    c.add_argument("--speed-sizes", type=int, nargs="+", default=None, metavar="PIXELS",
                   help="photo sides --speed measures (default: 256 1024)")
    c.add_argument("--repeats", type=int, default=3, metavar="N", help="timed runs per measurement (default: 3)")
    return p


def _list_models(args: argparse.Namespace) -> int:
    from . import methods
    from .backbones import skip_weights
    from .results import results_root

    base = results_root(args.results).resolve()
    rows = sorted(base.glob("*/checkpoints/*/*.pt"))
    print(f"checkpoints in {base} (give a path, or METHOD/VARIANT for the newest of the longest-trained profile):")
    for p in rows:
        print(f"  {p}")
    if not rows:
        print("  none (train some with: colorlab run)")
    print("released models (--checkpoint NAME, weights from the torch hub cache, a download or --weights FILE):")
    for name, (_, rel) in methods.RELEASED.items():
        print(f"  {name}: {rel.description}")
    print("decodings by method and variant:")
    for name, cls in methods.METHODS.items():
        for variant in cls.variants:
            try:
                with skip_weights():
                    m = cls(variant, **cls.smoke_args)
                print(f"  {name}/{variant}: {', '.join(m.decodings)}")
            except (ValueError, TypeError, KeyError):
                continue
    return 0


def _speed(args: argparse.Namespace, device: str) -> int:
    import pandas as pd

    from . import colorize
    from .checks import UsageError
    from .colorize.job import check_outdir
    from .files import atomic_write, write_json
    from .results import environment

    sizes = args.speed_sizes or list(colorize.speed.SIZES)
    if min(sizes) < 1 or args.repeats < 1:
        raise UsageError(f"--speed-sizes and --repeats must be positive; got {sizes}, {args.repeats}")
    out = Path(args.output).expanduser()
    check_outdir(out)
    existing = [f for f in (out / "speed.csv", out / "environment.json") if f.exists()]
    if existing and not args.force:
        raise UsageError(f"{existing[0]} exists (not overwritten; --force replaces it)")
    for spec in args.checkpoint:  # every model and decoding checked before the first is measured
        model = colorize.load_model(spec, weights=args.weights, results=args.results, profile=args.profile,
                                    size=args.size)
        if args.decode is not None:
            try:
                model.method.check_decode(args.decode)
            except ValueError as e:
                raise UsageError(str(e)) from e
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "environment.json", environment(str(device)))
    rows: list[dict[str, Any]] = []

    def keep(row: dict[str, Any]) -> None:  # written after each measurement: a failure loses nothing measured
        rows.append(row)
        text = pd.DataFrame(rows).to_csv(index=False)
        atomic_write(out / "speed.csv", lambda f: f.write(text.encode()))

    try:
        colorize.speed.table(args.checkpoint, sizes=sizes, repeats=args.repeats, device=str(device),
                             weights=args.weights, results=args.results, profile=args.profile, decode=args.decode,
                             working_size=args.size, on_row=keep)
    except RuntimeError as e:
        print(f"colorlab colorize --speed: {e}; {len(rows)} measurement(s) kept in {out / 'speed.csv'}",
              file=sys.stderr)
        return 1
    cols = ["method", "variant", "input_size", "working_size", "seconds", "photos_per_second", "peak_mb"]
    print(pd.DataFrame(rows)[cols].to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"colorize --speed: {len(rows)} measurements written to {out / 'speed.csv'}", file=sys.stderr)
    return 0


def _colorize(args: argparse.Namespace) -> int:
    from . import colorize
    from .checks import UsageError
    from .device import pick_device

    if args.list_models:
        return _list_models(args)
    try:
        if not args.inputs and not args.speed:
            raise UsageError("give at least one INPUT (a photo, a folder or a glob)")
        if args.inputs and args.speed:
            raise UsageError("--speed measures on synthetic photos: give no INPUT")
        if not args.output:
            raise UsageError("give the output folder with -o OUTDIR")
        if not args.checkpoint:
            raise UsageError("give the model with --checkpoint (a file, METHOD/VARIANT, or a released model name; "
                             "see --list-models)")
        if len(args.checkpoint) > 1 and not args.speed:
            raise UsageError(f"give one --checkpoint (several only with --speed); got {', '.join(args.checkpoint)}")
        try:
            device = pick_device(args.device)
        except RuntimeError as e:
            raise UsageError(str(e)) from e
        if args.batch < 1:
            raise UsageError(f"--batch must be at least 1; got {args.batch}")
        if args.speed:
            return _speed(args, device)
        model = colorize.load_model(args.checkpoint[0], weights=args.weights, results=args.results,
                                    profile=args.profile, device=device, size=args.size)
        try:
            decode = model.method.check_decode(args.decode)
        except ValueError as e:
            raise UsageError(str(e)) from e
        job = colorize.plan(args.inputs, args.output, force=args.force, compare=args.compare)
    except UsageError as e:
        print(f"colorlab colorize: {e}", file=sys.stderr)
        return 2
    print(f"colorize: {len(job.pairs)} photo(s) with {colorize.describe(model)}, decoding {decode}, on {device}",
          file=sys.stderr)
    for src, why in job.skipped:
        print(f"colorlab colorize: {src}: skipped, {why}", file=sys.stderr)
    out = colorize.run(model, job, decode=decode, keep_luminance=args.keep_original_luminance, batch=args.batch,
                       compare=args.compare)
    print(f"colorize: {len(out.written)} written, {len(out.failed)} failed, {len(out.kept)} kept as they were, "
          f"in {out.seconds:.1f} s; record: {out.manifest}", file=sys.stderr)
    if out.failed:
        print("failed: " + ", ".join(str(p) for p, _ in out.failed), file=sys.stderr)
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from . import report, results
    from .checks import UsageError, check_profile

    try:
        check_profile(args.profile)
        folder = results.results_root(args.results) / args.profile
        if not any(folder.glob("*/metrics.json")):
            raise UsageError(f"no results for profile {args.profile!r} in {folder} (run colorlab run --profile {args.profile})")
    except UsageError as e:
        print(f"colorlab report: {e}", file=sys.stderr)
        return 2
    path = report.write(args.profile, args.results)
    print(path.read_text())
    print(f"report: {path}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from . import runner
    from .checks import UsageError, notebooks_dir, parameter_table

    if args.list_params:
        try:
            table = parameter_table(notebooks_dir(args.notebooks))
        except UsageError as e:
            print(f"colorlab run: {e}", file=sys.stderr)
            return 2
        print(table.to_string(index=False))
        return 0
    overrides = dict(args.param)
    if args.data:
        overrides["data_spec"] = args.data
    if args.device:
        overrides["device"] = args.device
    try:
        runs, summary = runner.run(
            args.profile, args.only, overrides, notebooks=args.notebooks, root=args.results,
            timeout=args.timeout, report_notebook=not args.no_report_notebook, force=args.force,
        )
    except UsageError as e:
        print(f"colorlab run: {e}", file=sys.stderr)
        return 2
    failed = [r.notebook for r in runs if r.status != "ok"]
    if any(r.status == "interrupted" for r in runs):
        print(f"interrupted; finished notebooks kept, summary at {summary}", file=sys.stderr)
        return 130
    if failed:
        print(f"failed: {', '.join(failed)} (executed copies keep the error cell)", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        if args.command == "colorize":
            return _colorize(args)
        return _report(args) if args.command == "report" else _run(args)
    except KeyboardInterrupt:  # at any moment, imports included: one line, not a traceback
        print("colorlab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
