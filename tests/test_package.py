"""The package as a whole: no import cycle, modules of a readable size, notebooks stored as the
project stores them."""

import ast
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "colorlab"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: The guide's "a few hundred lines" for one module.
MAX_LINES = 400


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """colorlab modules imported at module level (not under ``if TYPE_CHECKING`` nor inside functions)."""
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("colorlab")}
        elif isinstance(node, ast.ImportFrom):
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


def test_no_import_cycle():
    """Module-level imports between colorlab modules form no cycle. A package importing its own
    submodules is an edge like any other, so a submodule importing its package back (``methods ->
    methods.zhang -> methods.zhang.paper -> methods``) is caught."""
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: sorted(i for i in _imports(p) if i in modules and i != m) for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if state.get(m) == 2:
            return
        state[m] = 1
        for n in graph[m]:
            visit(n, path + [m])
        state[m] = 2

    for m in sorted(graph):
        visit(m, [])


def test_modules_stay_readable():
    long = {p.relative_to(ROOT).as_posix(): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("path", NOTEBOOKS + [ROOT / "notebooks" / "99_results_summary.ipynb"], ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c.source[:40] for c in code if c.outputs or c.execution_count], "outputs: results/quick/ keeps the executed copy"
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
