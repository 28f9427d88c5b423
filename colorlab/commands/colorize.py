"""``colorlab colorize`` on the command line: colourise photos, list the models, or measure their speed.

docs/colorize.md describes the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "main"]


def add_parser(sub: Any) -> None:
    """Declare the ``colorize`` subcommand and its arguments.

    Args:
        sub: the ``colorlab`` parser's subparsers.
    """
    c = sub.add_parser("colorize", help="colourise your own photos (files, folders, globs) at full resolution",
                       description="Colourise photos with a trained model. Chroma is predicted at the working size "
                                   "and joined with each photo's full-resolution luminance, so outputs have the "
                                   "inputs' sizes. The model, the decoding and the output folder are checked before "
                                   "any photo is read; an unreadable photo is reported and the rest go on (exit 1 "
                                   "at the end); existing outputs are never replaced without --force.")
    c.add_argument("inputs", nargs="*", metavar="INPUT", help="photo files, folders (searched recursively) or globs")
    c.add_argument("-o", "--output", metavar="OUTDIR", help="output folder (made if missing)")
    c.add_argument("--checkpoint", metavar="PATH|METHOD/VARIANT[@NOTEBOOK]|NAME", action="append",
                   help="a checkpoint file; METHOD/VARIANT for the profile's photo-trained one of --seed with the "
                        "most steps (e.g. zhang/full), @NOTEBOOK for the one that notebook trained (zhang/full@00); "
                        "or a released model (see --list-models); several with --speed")
    c.add_argument("--seed", type=int, default=0, metavar="N", help="the training seed METHOD/VARIANT is taken "
                                                                   "with (default: 0)")
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
                   help="the profile METHOD/VARIANT is taken from, a plain name (default: full, else quick, else any "
                        "other, smoke last)")
    c.add_argument("--list-models", action="store_true",
                   help="list the checkpoints in the results folder (of --profile) with their notebook, seed, data "
                        "and steps, the released models, and every decoding")
    c.add_argument("--speed", action="store_true",
                   help="measure instead: seconds per photo and peak memory of each --checkpoint on synthetic "
                        "photos (--speed-sizes), at the model's working size and at the photo's; writes "
                        "OUTDIR/speed.csv and OUTDIR/environment.json")
    c.add_argument("--speed-sizes", type=int, nargs="+", default=None, metavar="PIXELS",
                   help="photo sides --speed measures (default: 256 1024)")
    c.add_argument("--repeats", type=int, default=3, metavar="N", help="timed runs per measurement (default: 3)")


def _list_models(args: argparse.Namespace) -> int:
    from .. import methods
    from ..backbones import skip_weights
    from ..colorize.model import list_checkpoints, pick
    from ..errors import UsageError
    from ..results import results_root

    base = results_root(args.results).resolve()
    try:
        rows = list_checkpoints(base, args.profile)
    except UsageError as e:
        print(f"colorlab colorize: {e}", file=sys.stderr)
        return 2
    picked = set()
    for profile, model in {(r["profile"], r["model"]) for r in rows}:
        try:
            picked.add(pick([r for r in rows if r["profile"] == profile], model, args.seed)[0]["path"])
        except UsageError:  # only control-trained ones, or other seeds
            continue
    print(f"checkpoints in {base}: * is what METHOD/VARIANT --profile PROFILE takes (the photo-trained one of "
          f"seed {args.seed} with the most steps); METHOD/VARIANT@NN takes notebook NN's, --seed N another seed")
    table = [("", "profile", "model", "notebook", "seed", "data", "steps", "file")]
    for r in rows:
        data = "unreadable" if r["error"] else (r["data"] or "unrecorded") + (" (generated)" if r["generated"] else "")
        table.append(("*" if r["path"] in picked else "", r["profile"], r["model"], r["notebook"] or "-",
                      "" if r["seed"] is None else str(r["seed"]), data, "" if r["steps"] is None else str(r["steps"]),
                      str(r["path"].relative_to(base)) + (f" ({r['error']})" if r["error"] else "")))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table if rows else []:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[-1])
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

    from .. import colorize
    from ..colorize.job import check_outdir
    from ..errors import UsageError
    from ..files import atomic_write, write_json
    from ..results import environment

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
                                    size=args.size, seed=args.seed)
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
                             working_size=args.size, seed=args.seed, on_row=keep)
    except RuntimeError as e:
        print(f"colorlab colorize --speed: {e}; {len(rows)} measurement(s) kept in {out / 'speed.csv'}",
              file=sys.stderr)
        return 1
    cols = ["method", "variant", "input_size", "working_size", "seconds", "photos_per_second", "peak_mb"]
    print(pd.DataFrame(rows)[cols].to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"colorize --speed: {len(rows)} measurements written to {out / 'speed.csv'}", file=sys.stderr)
    return 0


def main(args: argparse.Namespace) -> int:
    """Run ``colorlab colorize``: colourise, list the models (``--list-models``) or measure (``--speed``).

    Args:
        args: the parsed command line.

    Returns:
        The exit status: 0 done, 1 a photo (or a measurement) failed, 2 a request refused before
        any photo was read (one line on stderr).
    """
    from .. import colorize
    from ..device import pick_device
    from ..errors import UsageError

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
                                    profile=args.profile, device=device, size=args.size, seed=args.seed)
        try:
            decode = model.method.check_decode(args.decode)
        except ValueError as e:
            raise UsageError(str(e)) from e
        job = colorize.plan(args.inputs, args.output, force=args.force, compare=args.compare)
    except UsageError as e:
        print(f"colorlab colorize: {e}", file=sys.stderr)
        return 2
    if "chosen" in model.record:
        print(f"colorize: {args.checkpoint[0]} is {model.record['chosen']}", file=sys.stderr)
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
