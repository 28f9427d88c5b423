"""``colorlab`` command line: ``run`` executes the notebooks, ``report`` rebuilds the summary.

Examples::

    colorlab run                       # every notebook, quick profile, embedded samples
    colorlab run --profile smoke       # seconds per notebook
    colorlab run --only 01 02 -p steps=50 --device cpu
    colorlab run --profile full --data folder:/data/coco/train2017
    colorlab report --profile quick
"""

from __future__ import annotations

import argparse
import ast
import sys
from typing import Any

from .profiles import PROFILES

__all__ = ["main", "parse_override"]


def parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as a Python literal when it is one (``3``, ``0.5``, ``None``,
    ``True``, ``'x'``), else kept as a string; ``true``/``false``/``none`` are accepted too."""
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="colorlab", description="Reproductions of automatic image colourisation.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the numbered notebooks with papermill and write the report")
    r.add_argument("--profile", default="quick", choices=sorted(PROFILES), help="parameter profile (default: quick)")
    r.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers to run, e.g. --only 01 03")
    r.add_argument("--data", help="samples | folder:PATH | a torchvision dataset name (stl10, places365, cifar10, flowers102)")
    r.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], help="device for every notebook (default: auto)")
    r.add_argument("-p", "--param", action="append", type=parse_override, default=[], metavar="KEY=VALUE",
                   help="parameter override passed to every notebook (repeatable)")
    r.add_argument("--timeout", type=float, default=None, help="per-cell timeout in seconds for each notebook")
    r.add_argument("--results", default=None, help="results folder (default: results/ of the checkout)")
    r.add_argument("--notebooks", default=None, help="notebooks folder (default: notebooks/ of the checkout)")
    r.add_argument("--no-report-notebook", action="store_true", help="with --only, do not also run 99_results_summary")

    rep = sub.add_parser("report", help="rebuild summary.md / summary.csv from existing results")
    rep.add_argument("--profile", default="quick", help="profile folder under results/ (default: quick)")
    rep.add_argument("--results", default=None, help="results folder (default: results/ of the checkout)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "report":
        from . import report

        path = report.write(args.profile, args.results)
        print(path.read_text())
        print(f"report: {path}")
        return 0

    from . import runner

    overrides = dict(args.param)
    if args.data:
        overrides["data_spec"] = args.data
    if args.device:
        overrides["device"] = args.device
    try:
        runs, summary = runner.run(
            args.profile, args.only, overrides, notebooks=args.notebooks, root=args.results,
            timeout=args.timeout, report_notebook=not args.no_report_notebook,
        )
    except runner.UsageError as e:
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


if __name__ == "__main__":
    sys.exit(main())
