"""``colorlab bench`` on the command line (:mod:`colorlab.bench`).

Every request is checked before the first measurement. The table, the figure and the environment
record go to ``results/bench/<device>/``; docs/performance.md describes the command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "main"]


def add_parser(sub: Any) -> None:
    """Declare the ``bench`` subcommand and its arguments.

    Args:
        sub: the ``colorlab`` parser's subparsers.
    """
    b = sub.add_parser("bench", help="measure training and inference speed, memory, MFU and the data pipeline",
                       description="For every registered method (or --methods): training images/s, step time, peak "
                                   "memory, FLOPs and MFU at 256² and the method's own crop, across batch sizes; "
                                   "inference latency at 256² and 1024²; the data pipeline alone; evaluation's memory "
                                   "against the test set's size. Each method's measurement runs in a fresh process; "
                                   "the data pipeline in this one.")
    b.add_argument("--setting", choices=["paper", "tiny"], default="paper",
                   help="paper: the networks the sources train (default); tiny: the smoke test's, seconds")
    b.add_argument("--methods", nargs="+", metavar="NAME", help="methods to measure (default: every registered one)")
    b.add_argument("--sizes", type=int, nargs="+", metavar="PIXELS",
                   help="training crop sides (default: 256 and each method's own)")
    b.add_argument("--batch-sizes", type=int, nargs="+", default=None, metavar="N",
                   help="training batch sizes (default: 1 8 on the CPU, 1 16 64 on CUDA)")
    b.add_argument("--infer-sizes", type=int, nargs="+", default=[256, 1024], metavar="PIXELS",
                   help="photo sides for inference latency (default: 256 1024)")
    b.add_argument("--repeats", type=int, default=5, metavar="N", help="timed steps per measurement (default: 5)")
    b.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], default="auto", help="default: auto")
    b.add_argument("--compile", action="store_true", help="also measure training with torch.compile")
    b.add_argument("--plain", nargs="*", default=None, metavar="METHOD:BATCH",
                   help="also measure these the plain way (fp32, NCHW, Adam unfused, as the official recipes) at "
                        "the method's own crop (default: pix2pix:1, the official pix2pix recipe, when pix2pix is "
                        "measured)")
    b.add_argument("--eval-images", type=int, nargs="*", default=None, metavar="N",
                   help="test-set sizes evaluation's memory is measured at (default: 1000 10000 with --setting "
                        "paper, none with tiny)")
    b.add_argument("--data", metavar="folder:PATH",
                   help="JPEGs for the data pipeline (default: made from the embedded sample photos)")
    b.add_argument("-o", "--output", metavar="DIR", help="default: results/bench/<device>/ of the checkout")
    b.add_argument("--force", action="store_true", help="replace an existing bench.csv")


def _check(args: argparse.Namespace) -> tuple[Any, Path, list[str], list[int]]:
    """The device, output folder, methods and batch sizes, or ``UsageError`` at the first problem."""
    import torch

    from .. import methods
    from ..bench import device_label, method_config
    from ..colorize.job import check_outdir
    from ..device import pick_device
    from ..errors import UsageError
    from ..files import checkout_root

    try:
        device = pick_device(args.device)
    except RuntimeError as e:
        raise UsageError(str(e)) from e
    names = list(args.methods or methods.METHODS)
    for name in names:
        try:
            methods.get(name)
        except KeyError as e:
            raise UsageError(e.args[0]) from e
    batch_sizes = args.batch_sizes or ([1, 16, 64] if device.type == "cuda" else [1, 8])
    for what, values in (("--sizes", args.sizes or []), ("--batch-sizes", batch_sizes),
                         ("--infer-sizes", args.infer_sizes), ("--eval-images", args.eval_images or [])):
        if any(v < 1 for v in values):
            raise UsageError(f"{what} must be positive; got {values}")
    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1; got {args.repeats}")
    with torch.random.fork_rng(devices=[]):
        for name in names:
            variant, margs, _ = method_config(name, args.setting)
            from ..backbones import skip_weights

            with skip_weights():
                multiple = methods.get(name)(variant, **margs).input_multiple
            bad = [s for s in args.sizes or [] if s % multiple]
            if bad:
                raise UsageError(f"{name} trains on crops that are multiples of {multiple}; --sizes has {bad}")
    plain = []
    for item in args.plain if args.plain is not None else ["pix2pix:1"] if "pix2pix" in names else []:
        name, _, b = item.partition(":")
        if name not in names or not b.isdigit() or int(b) < 1:
            raise UsageError(f"--plain takes METHOD:BATCH of a measured method; got {item!r}")
        plain.append((name, int(b)))
    args.plain_pairs = plain
    if args.data is not None:
        from ..data import check_spec

        if not args.data.startswith("folder:"):
            raise UsageError(f"--data must be folder:PATH; got {args.data!r}")
        try:
            check_spec(args.data)
        except (FileNotFoundError, ValueError) as e:
            raise UsageError(f"--data {args.data}: {e.args[0]}") from e
    root = checkout_root() or Path.cwd()
    out = Path(args.output).expanduser() if args.output else root / "results" / "bench" / device_label(device)
    check_outdir(out)
    if (out / "bench.csv").exists() and not args.force:
        raise UsageError(f"{out / 'bench.csv'} exists (not overwritten; --force replaces it, -o DIR writes elsewhere)")
    return device, out, names, batch_sizes


def main(args: argparse.Namespace) -> int:
    """Run ``colorlab bench``; each row is written to ``bench.csv`` as soon as it is measured.

    Args:
        args: the parsed command line.

    Returns:
        The exit status: 0 done, 1 a measurement failed (the rows before it are kept), 2 a request
        refused before the first measurement (one line on stderr).
    """
    import pandas as pd

    from ..bench import figure, run
    from ..errors import UsageError
    from ..files import atomic_write, write_json
    from ..results import environment

    try:
        device, out, names, batch_sizes = _check(args)
    except UsageError as e:
        print(f"colorlab bench: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "environment.json", environment(str(device)))
    rows: list[dict[str, Any]] = []

    def keep(row: dict[str, Any]) -> None:  # written after each measurement: a failure loses nothing measured
        rows.append(row)
        text = pd.DataFrame(rows).to_csv(index=False)
        atomic_write(out / "bench.csv", lambda f: f.write(text.encode()))

    try:
        table = run(names, setting=args.setting, sizes=args.sizes, batch_sizes=batch_sizes,
                    infer_sizes=args.infer_sizes, repeats=args.repeats, device=str(device), compile=args.compile,
                    plain=args.plain_pairs,
                    eval_images=args.eval_images if args.eval_images is not None else
                    ([1000, 10000] if args.setting == "paper" else []),
                    data=args.data.removeprefix("folder:") if args.data else None, on_row=keep)
    except RuntimeError as e:
        print(f"colorlab bench: {e}; {len(rows)} measurement(s) kept in {out / 'bench.csv'}", file=sys.stderr)
        return 1
    fig = figure(table)
    fig.savefig(out / "bench.png", dpi=90, bbox_inches="tight")
    cols = [c for c in ("kind", "method", "size", "batch_size", "compiled", "images_per_second", "step_seconds",
                        "mfu", "peak_mb") if c in table]
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"bench: {len(table)} rows in {out / 'bench.csv'}, figure {out / 'bench.png'}", file=sys.stderr)
    return 0
