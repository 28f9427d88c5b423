"""The package as a whole: no import cycle, modules of a readable size, notebooks stored as the
project stores them."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "colorlab"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: The guide's "a few hundred lines" for one module.
MAX_LINES = 400


#: The floors of the package, from the bottom (docs/methods.md). A module may import from its own
#: floor and the floors below it, never from one above.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors", "files", "progress", "device", "stats", "color", "distributed", "profiles", "measuring", "margins"),
    ("data", "abgrid", "distributions", "metrics", "backbones", "released"),
    ("methods",),
    ("checkpoint", "train", "evaluate", "cost", "evidence", "results", "published", "claims", "viz"),
    ("papers", "colorize"),
    ("runs", "study", "report", "checks", "bench"),
    ("runner", "commands", "cli", "__main__", "_execute"),
)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every import statement, inside functions and classes too; not those under ``if TYPE_CHECKING``."""
    for node in ast.iter_child_nodes(tree):
        if _type_checking(node):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _import_nodes(node)


def _imports(path: Path) -> set[str]:
    """colorlab modules imported anywhere in the file (module level or inside functions), not
    under ``if TYPE_CHECKING``."""
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = set()
    for node in _import_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("colorlab")}
        else:
            if node.level:
                base = package.split(".")
                base = ".".join(base[: len(base) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("colorlab"):
                out.add(target)
                out |= {f"{target}.{a.name}" for a in node.names}  # `from . import x` imports module x
    return out


def _graph() -> dict[str, list[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {m: sorted(i for i in _imports(p) if i in modules and i != m) for m, p in modules.items()}


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            return path[path.index(m):] + [m]
        if state.get(m) == 2:
            return None
        state[m] = 1
        for n in graph[m]:
            if found := visit(n, path + [m]):
                return found
        state[m] = 2
        return None

    return next((c for m in sorted(graph) if (c := visit(m, []))), None)


def _unit(module: str) -> str:
    """The top-level module or package of ``colorlab.x.y``: ``x`` (the package itself: ``""``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_import_cycle():
    """Imports between colorlab modules, those inside functions included, form no cycle. A
    package importing its own submodules is an edge like any other, so a submodule importing its
    package back (``methods -> methods.zhang -> methods.zhang.paper -> methods``) is caught."""
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_cycle_between_top_level_modules():
    """Nor between the top-level modules and packages (``data -> abgrid -> data`` through two
    different submodules is a cycle of the floors, though no module imports itself back)."""
    units: dict[str, set[str]] = {}
    for m, targets in _graph().items():
        units.setdefault(_unit(m), set()).update(u for t in targets if (u := _unit(t)) not in ("", _unit(m)))
    cycle = _find_cycle({u: sorted(t) for u, t in units.items()})
    assert cycle is None, "cycle between top-level modules: " + " -> ".join(cycle or [])


def test_imports_point_down_the_floors():
    floor = {name: i for i, names in enumerate(FLOORS) for name in names}
    units = {_unit(m) for m in _graph()} - {""}
    assert not units - set(floor), f"modules on no floor (add them to FLOORS): {sorted(units - set(floor))}"
    up = [f"{m} -> {t}" for m, targets in _graph().items() for t in targets
          if _unit(m) and _unit(t) and floor[_unit(t)] > floor[_unit(m)]]
    assert not up, "imports pointing up the floors: " + "; ".join(up)


def test_the_cycle_check_sees_imports_inside_functions(tmp_path):
    """The checks above can fail: an import inside a function is an edge, one under
    ``if TYPE_CHECKING`` is not."""
    p = tmp_path / "m.py"
    p.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import colorlab.a\n"
                 "def f():\n    import colorlab.b\n    from colorlab.c import d\n")
    found = {n.names[0].name if isinstance(n, ast.Import) else n.module
             for n in _import_nodes(ast.parse(p.read_text()))} - {"typing"}
    assert found == {"colorlab.b", "colorlab.c"}
    assert _find_cycle({"a": ["b"], "b": ["a"]}) == ["a", "b", "a"] and _find_cycle({"a": ["b"], "b": []}) is None


def test_models_are_apart_from_papers():
    """``colorlab/methods`` holds models only: what a source claims lives in ``colorlab/papers``."""
    assert not list((PACKAGE / "methods").rglob("paper.py"))
    for path in (PACKAGE / "methods").rglob("*.py"):
        assert not {i for i in _imports(path) if i.startswith(("colorlab.claims", "colorlab.papers"))}, path


def test_the_code_follows_the_configured_style():
    """``ruff check`` (its rules and line length in pyproject.toml) finds nothing in the package,
    the tests or the scripts."""
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "colorlab", "tests",
                           "scripts"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_modules_stay_readable():
    long = {p.relative_to(ROOT).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("path", NOTEBOOKS + [ROOT / "notebooks" / "99_results_summary.ipynb"], ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c.source[:40] for c in code if c.outputs or c.execution_count], (
        "outputs: results/quick/ keeps the executed copy"
    )
    assert sum("parameters" in c.metadata.get("tags", []) for c in code) == 1


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if not p.name.startswith("99")], ids=lambda p: p.name)
def test_notebooks_save_under_their_own_name_and_have_a_quick_copy(path):
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert f'study.start("{path.stem}", globals())' in source
    executed = ROOT / "results" / "quick" / path.stem / path.name
    assert executed.is_file(), f"no executed quick-profile copy at {executed.relative_to(ROOT)}"
    nb = json.loads(executed.read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert outputs and not [o for o in outputs if o.get("output_type") == "error"]
    assert nb["metadata"]["papermill"]["parameters"]["profile"] == "quick"
