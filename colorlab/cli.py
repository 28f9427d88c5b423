"""The ``colorlab`` command line.

``run`` executes the notebooks, ``report`` rebuilds the summary, ``colorize`` colourises your own
photos and ``bench`` measures what each method costs. docs/running.md, docs/colorize.md and
docs/performance.md show each command; ``python -m colorlab`` is the same.
"""

from __future__ import annotations

import argparse
import ast
import os
import signal
import sys
from typing import Any

from . import __version__
from .commands import bench as bench_command
from .commands import colorize as colorize_command
from .profiles import PROFILES

__all__ = ["main", "parser", "parse_override", "PIPE_CLOSED"]

#: The exit status when the reader of the output went away before the command ended
#: (``colorlab run --list-params | head -3``): 128 + SIGPIPE, what a shell reports for a program
#: that a closed pipe ended, so that ``set -o pipefail`` sees the output was cut short.
PIPE_CLOSED = 128 + signal.SIGPIPE

_DATA_HELP = ("samples (embedded colour photos, default) | historical (embedded grayscale photos) | "
              "ambiguous (generated positive control) | "
              "folder:PATH (any folder of images; a relative PATH is taken from here) | "
              "stl10 | places365 | cifar10 | flowers102 (torchvision, kept in data/); for every notebook that "
              "declares data_spec, the others ignore it")


def parse_override(text: str) -> tuple[str, Any]:
    """Read one ``-p KEY=VALUE``.

    Args:
        text: ``KEY=VALUE``. VALUE is read as a Python literal when it is one (``3``, ``0.5``,
            ``None``, ``True``, ``'x'``, ``[1, 2]``), else kept as a string; ``true``, ``false``,
            ``none`` and ``null`` are read too, in any case.

    Returns:
        ``(key, value)``.

    Raises:
        argparse.ArgumentTypeError: no ``=``, or KEY is not a valid name.

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


def _results_help() -> str:
    """``--results``'s help: the folder it defaults to here, and why."""
    from .files import checkout_root
    from .results import results_root

    where = results_root()
    if os.environ.get("COLORLAB_RESULTS"):
        why = "from $COLORLAB_RESULTS"
    elif checkout_root(where.parent) == where.parent:
        why = "results/ of the checkout, wherever you run from"
    else:
        why = "./results: colorlab is installed without a checkout"
    return f"results folder (default: {where}, {why})"


def parser() -> argparse.ArgumentParser:
    """The whole command line, every subcommand included.

    Returns:
        The parser, for :func:`main` and for the tests that parse the commands the docs show.
    """
    p = argparse.ArgumentParser(prog="colorlab", description="Reproductions of automatic image colourisation.")
    p.add_argument("--version", action="version", version=f"colorlab {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the numbered notebooks with papermill and write the report",
                       description="Execute the numbered notebooks and write the report. Every input is "
                                   "checked before the first notebook starts.")
    r.add_argument("--profile", default="quick", choices=list(PROFILES), help="parameter profile (default: quick)")
    r.add_argument("--only", nargs="+", metavar="NN", help="notebook numbers to run, e.g. --only 01 03")
    r.add_argument("--data", metavar="SPEC", help=_DATA_HELP)
    r.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"],
                   help="device for every notebook that declares one; the others ignore it (default: auto)")
    r.add_argument("-p", "--param", action="append", type=parse_override, default=[], metavar="KEY=VALUE",
                   help="parameter passed to every notebook that declares it (repeatable; see --list-params)")
    r.add_argument("--timeout", type=_positive, default=None, metavar="SECONDS",
                   help="per-cell timeout for each notebook (default: none)")
    results_help = _results_help()
    r.add_argument("--results", default=None, help=results_help)
    r.add_argument("--notebooks", default=None, help="notebooks folder (default: notebooks/ of the checkout)")
    r.add_argument("--no-report-notebook", action="store_true", help="with --only, do not also run 99_results_summary")
    r.add_argument("--force", action="store_true", help="run the full profile on the embedded photos anyway")
    r.add_argument("--list-params", action="store_true",
                   help="list every notebook parameter with its default and each profile's value, and exit")

    rep = sub.add_parser("report", help="rebuild summary.md / summary.csv from existing results")
    rep.add_argument("--profile", default="quick", help="profile folder under results/ (default: quick)")
    rep.add_argument("--results", default=None, help=results_help)

    colorize_command.add_parser(sub)
    bench_command.add_parser(sub)
    return p


def _report(args: argparse.Namespace) -> int:
    from . import report, results, runner
    from .checks import check_profile
    from .errors import UsageError

    try:
        check_profile(args.profile)
        folder = results.results_root(args.results) / args.profile
        holder = runner.running(folder)
        if holder:  # its notebooks' results and run.json are half written: its own report comes at its end
            raise UsageError(f"a colorlab run ({holder}) is writing {folder}; its report is written when it ends "
                             "(run colorlab report after that)")
        if not any(folder.glob("*/metrics.json")):
            raise UsageError(f"no results for profile {args.profile!r} in {folder} "
                             f"(run colorlab run --profile {args.profile})")
    except UsageError as e:
        print(f"colorlab report: {e}", file=sys.stderr)
        return 2
    path = report.write(args.profile, args.results)
    print(path.read_text())
    print(f"report: {path}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from . import runner
    from .checks import RunRequest, notebooks_dir, parameter_table
    from .errors import UsageError

    if args.list_params:
        try:
            table = parameter_table(notebooks_dir(args.notebooks))
        except UsageError as e:
            print(f"colorlab run: {e}", file=sys.stderr)
            return 2
        print(table.to_string(index=False))
        return 0
    try:
        runs, summary = runner.run(RunRequest(
            args.profile, args.only, dict(args.param), notebooks=args.notebooks, root=args.results,
            timeout=args.timeout, report_notebook=not args.no_report_notebook, force=args.force,
            settings={"data_spec": args.data, "device": args.device},
        ))
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
    """Run one ``colorlab`` command.

    Args:
        argv: the arguments after ``colorlab`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 1 a notebook, photo or measurement failed, 2 a request refused
        before anything ran (one line on stderr says why), 130 interrupted, 141
        (:data:`PIPE_CLOSED`) the output's reader went away first (``| head``), quietly.
    """
    try:
        args = parser().parse_args(argv)
        if args.command == "colorize":
            status = colorize_command.main(args)
        elif args.command == "bench":
            status = bench_command.main(args)
        else:
            status = _report(args) if args.command == "report" else _run(args)
        sys.stdout.flush()  # now, not at exit, so that a closed pipe is caught below
        return status
    except BrokenPipeError:  # every command, --help and --version included
        _quiet_stdout()
        return PIPE_CLOSED
    except KeyboardInterrupt:  # at any moment, imports included: one line, not a traceback
        print("colorlab: interrupted", file=sys.stderr)
        return 130


def _quiet_stdout() -> None:
    """Point stdout at ``/dev/null`` (the Python docs' recipe for SIGPIPE), so that the
    interpreter's last flush of what the closed pipe did not take says nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor (a test's capture)
        pass


if __name__ == "__main__":
    sys.exit(main())
