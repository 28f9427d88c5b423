"""The README and the pages under ``docs/``: the README fits on a screen and keeps the commands CI
copies, every relative link resolves, every command shown parses with the real argument parser,
``--help`` works for each subcommand, the verdict table matches the committed ``claims.csv``, and
every ``colorlab`` module or file the pages name exists."""

import argparse
import ast
import contextlib
import csv
import io
import re
import shlex
from collections import Counter
from pathlib import Path

import pytest

from colorlab.cli import parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
DATA_README = ROOT / "data" / "README.md"
PAGES = [README, *DOCS, DATA_README]
#: A screen, as issue 30 puts it.
MAX_README_LINES = 250
#: The two commands the README gives; CI copies the second from it, so both stay verbatim.
_INSTALL = 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]"'
INSTALL_AND_RUN = f"{_INSTALL} && .venv/bin/colorlab run"
INSTALL_AND_TEST = f"{_INSTALL} && .venv/bin/pytest"
#: The pages the README must link.
REQUIRED_PAGES = ("running.md", "colorize.md", "data.md", "results.md", "performance.md",
                  "methods.md", "README.md")
SUBCOMMANDS = ("run", "report", "colorize", "bench")

_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
#: ``[--option ...]`` or ``[PLACEHOLDER]``: a synopsis, not a command to run.
_SYNOPSIS = re.compile(r"\.\.\.|…|\[\s*-|\[[A-Z]")
_OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_MODULE = re.compile(r"(?<![\w./-])colorlab((?:\.[A-Za-z_]\w*)+)")
_PATH = re.compile(r"(?<![\w./-])colorlab/([^\s`'\"()\[\],;:]*)")


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _blocks(text: str) -> tuple[list[list[str]], str]:
    """The fenced code blocks of a Markdown text (their lines), and the text outside them."""
    blocks: list[list[str]] = []
    prose: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            if current is None:
                current = []
            else:
                blocks.append(current)
                current = None
            continue
        if current is None:
            prose.append(line)
        else:
            current.append(line)
    return blocks, "\n".join(prose)


def _command_lines(block: list[str]) -> list[str]:
    """The lines of a code block with their continuation lines joined (an indented line that
    goes on with options, as a synopsis wraps)."""
    out: list[str] = []
    for line in block:
        stripped = line.strip()
        if out and line[:1].isspace() and stripped[:1] in ("[", "-"):
            out[-1] += " " + stripped
        elif stripped:
            out.append(stripped)
    return out


def _colorlab_argv(tokens: list[str]) -> list[str] | None:
    """The arguments after ``colorlab`` when ``tokens`` run it (``colorlab``,
    ``.venv/bin/colorlab``, ``python -m colorlab``, ``torchrun ... -m colorlab``), else ``None``."""
    if not tokens:
        return None
    if Path(tokens[0]).name == "colorlab":
        return tokens[1:]
    head = Path(tokens[0]).name
    if head.startswith("python") or head == "torchrun":
        for i in range(1, len(tokens) - 1):
            if tokens[i] == "-m" and tokens[i + 1] == "colorlab":
                return tokens[i + 2:]
    return None


def _commands(page: Path) -> list[tuple[str, list[str], bool]]:
    """Every ``colorlab`` command in the page's code blocks: (the line, its arguments, whether it
    is a synopsis with placeholders)."""
    blocks, _ = _blocks(page.read_text())
    found = []
    for block in blocks:
        for line in _command_lines(block):
            try:
                tokens = shlex.split(line, comments=True)
            except ValueError:
                continue  # not shell: Python and the like
            segment: list[str] = []
            for token in [*tokens, "&&"]:
                if token in ("&&", "||", ";"):
                    argv = _colorlab_argv(segment)
                    if argv is not None:
                        text = line.split(" #", 1)[0]
                        found.append((line, argv, bool(_SYNOPSIS.search(text))))
                    segment = []
                else:
                    segment.append(token)
    return found


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _parse(argv: list[str]) -> tuple[int, str]:
    """Parse ``argv`` with the real parser: (0, "") when it parses, else argparse's exit status and
    what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            parser().parse_args(argv)
        except SystemExit as e:
            return (e.code if isinstance(e.code, int) else 1), out.getvalue() + err.getvalue()
    return 0, ""


# (a) a README that fits on a screen


def test_readme_fits_on_a_screen():
    n = len(README.read_text().splitlines())
    assert n <= MAX_README_LINES, f"README.md: {n} lines, more than {MAX_README_LINES}"


def test_readme_keeps_the_two_commands_verbatim():
    lines = [line.strip() for line in README.read_text().splitlines()]
    assert INSTALL_AND_RUN in lines
    assert INSTALL_AND_TEST in lines, "CI copies the test command from the README"


def test_data_readme_is_a_pointer_to_the_data_page():
    text = DATA_README.read_text()
    assert len(text.splitlines()) <= 3 and "../docs/data.md" in text


# (b) links


def test_readme_links_every_docs_page():
    links = {m.group(1).split("#", 1)[0] for m in _LINK.finditer(_blocks(README.read_text())[1])}
    missing = [page for page in REQUIRED_PAGES if f"docs/{page}" not in links]
    assert not missing, f"README.md does not link docs/ pages: {missing}"
    assert all((ROOT / "docs" / page).is_file() for page in REQUIRED_PAGES)


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_resolve(page):
    prose = _INLINE_CODE.sub("", _blocks(page.read_text())[1])
    broken = []
    for m in _LINK.finditer(prose):
        target = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL, or an anchor on this page
        path = target.split("#", 1)[0]
        if not (page.parent / path).exists():
            broken.append(target)
    assert not broken, f"{_name(page)}: links to nothing: {broken}"


# (c) commands


def test_pages_show_commands():
    assert sum(len(_commands(page)) for page in PAGES) >= 20


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_commands_shown_parse(page):
    subparsers = _subparsers(parser())
    failures = []
    for line, argv, synopsis in _commands(page):
        if synopsis:  # every option it names must exist in its subcommand's parser
            sub = next((t.strip("[]") for t in argv if t.strip("[]") in subparsers), None)
            known = (subparsers[sub] if sub else parser())._option_string_actions
            words = argv[argv.index(sub) + 1:] if sub in argv else argv
            unknown = sorted({o for w in words for o in _OPTION.findall(w)} - set(known))
            if unknown:
                failures.append(f"{line}\n    not options of `colorlab {sub or ''}`: {unknown}")
            continue
        status, said = _parse(argv)
        if status != 0:
            why = said.strip().splitlines()[-1] if said.strip() else f"exit {status}"
            failures.append(f"{line}\n    {why}")
    assert not failures, f"{_name(page)}: commands that do not parse:\n" + "\n".join(failures)


# (d) --help for each subcommand


def test_every_subcommand_is_covered():
    assert set(SUBCOMMANDS) <= set(_subparsers(parser()))


@pytest.mark.parametrize("sub", sorted(set(SUBCOMMANDS) | set(_subparsers(parser()))))
def test_subcommand_help(sub):
    status, said = _parse([sub, "--help"])
    assert status == 0 and f"usage: colorlab {sub}" in said, said


# the verdict table


def _claims() -> list[dict[str, str]]:
    with open(ROOT / "results" / "quick" / "claims.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_readme_verdicts_match_the_committed_claims():
    section = README.read_text().split("## Verdicts", 1)[1].split("\n## ", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if re.match(r"^\|\s*\d\d\s*\|", line)]
    claims = _claims()
    shown = Counter((r[0], r[-1]) for r in rows)
    assert shown == Counter((c["notebook"], c["verdict"]) for c in claims)
    counts = Counter(c["verdict"] for c in claims)
    m = re.search(r"(\d+) reproduced, (\d+) not reproduced,\s+(\d+) inconclusive", section)
    assert m, "the README says how many claims reproduced"
    assert tuple(map(int, m.groups())) == (counts["reproduced"], counts["not reproduced"],
                                            counts["inconclusive at this scale"])


# nothing named that does not exist


def _defines(path: Path, name: str) -> bool:
    """Whether the module at ``path`` binds ``name`` at its top level (defined or imported)."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name == name:
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
                return True
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            targets = []
        for t in targets:
            if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(t)):
                return True
    return False


def _module_file(parts: list[str]) -> Path | None:
    base = ROOT.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def _resolves_dotted(dotted: str) -> bool:
    """``colorlab.a.b.c``: the longest prefix that is a module of the repository, then (if anything
    is left) a name that module defines; what follows a defined name (a class's attribute) is not
    checked."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        module = _module_file(parts[:n])
        if module is not None:
            return n == len(parts) or _defines(module, parts[n])
    return False


def _resolves_path(rest: str) -> bool:
    """``colorlab/<rest>``: up to the first placeholder (``<name>``, ``*``), a file or folder."""
    kept = []
    for part in rest.rstrip(".").split("/"):
        if not part or "<" in part or "*" in part:
            break
        kept.append(part)
    return (ROOT / "colorlab").joinpath(*kept).exists()


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_modules_and_files_named_exist(page):
    """Every ``colorlab.<dotted>`` and ``colorlab/<path>`` a page names is a module, package or file
    of the repository, so the docs never describe code that no longer exists."""
    text = page.read_text()
    dotted = {"colorlab" + m.group(1) for m in _MODULE.finditer(text)}
    paths = {m.group(1) for m in _PATH.finditer(text)}
    missing = sorted({d for d in dotted if not _resolves_dotted(d)}
                     | {"colorlab/" + p for p in paths if not _resolves_path(p)})
    assert not missing, f"{_name(page)} names what the repository does not have: {missing}"
