"""`colorlab run` end to end: the smoke profile over every notebook, and a batch with a failing notebook."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from colorlab import cli, runner

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _notebook(path: Path, source: str) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [new_code_cell('profile = "smoke"', metadata={"tags": ["parameters"]}), new_code_cell(source)]
    nbformat.write(nb, path)


def test_cli_parses_overrides():
    assert cli.parse_override("steps=5") == ("steps", 5)
    assert cli.parse_override("lr=1e-3") == ("lr", 0.001)
    assert cli.parse_override("data=folder:/x") == ("data", "folder:/x")
    assert cli.parse_override("image_size=none") == ("image_size", None)
    with pytest.raises(Exception, match="KEY=VALUE"):
        cli.parse_override("steps")


def test_unknown_notebook_and_profile_are_clear_errors(tmp_path):
    with pytest.raises(KeyError, match="no notebook numbered 42"):
        runner.find_notebooks(NOTEBOOKS, ["42"])
    with pytest.raises(runner.UsageError, match="unknown profile"):
        runner.run("huge", notebooks=NOTEBOOKS, root=tmp_path)
    assert cli.main(["run", "--only", "42", "--results", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        cli.main(["run", "--profile", "huge"])


@pytest.mark.slow
def test_failing_notebook_does_not_stop_the_batch(tmp_path):
    books = tmp_path / "nbs"
    books.mkdir()
    _notebook(books / "01_ok.ipynb",
              'from colorlab import results\nresults.save("01_ok", {"method": "m", "variant": "v", "auc": 0.5}, {}, profile=profile)')
    _notebook(books / "02_broken.ipynb", 'raise RuntimeError("made to fail")')
    _notebook(books / "03_ok_too.ipynb",
              'from colorlab import results\nresults.save("03_ok_too", {"method": "n", "variant": "w", "auc": 0.6}, {}, profile=profile)')
    shutil.copy(NOTEBOOKS / "99_results_summary.ipynb", books)
    code = cli.main(["run", "--profile", "smoke", "--notebooks", str(books), "--results", str(tmp_path / "res")])
    assert code == 1
    log = json.loads((tmp_path / "res" / "smoke" / "run.json").read_text())
    status = {r["notebook"]: r["status"] for r in log["notebooks"]}
    assert status == {"01_ok": "ok", "02_broken": "failed", "03_ok_too": "ok", "99_results_summary": "ok"}
    assert "made to fail" in next(r["error"] for r in log["notebooks"] if r["notebook"] == "02_broken")
    executed = nbformat.read(tmp_path / "res" / "smoke" / "02_broken" / "02_broken.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in executed.cells for o in c.get("outputs", []))
    summary = (tmp_path / "res" / "smoke" / "summary.md").read_text()
    assert "Failed: 02_broken" in summary
    main = pd.read_csv(tmp_path / "res" / "smoke" / "summary.csv")
    assert sorted(main["notebook"]) == ["01_ok", "03_ok_too"]


@pytest.mark.slow
def test_smoke_profile_runs_every_notebook(tmp_path):
    res = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "colorlab", "run", "--profile", "smoke", "--results", str(res)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    numbered = [p.stem for p in runner.find_notebooks(NOTEBOOKS) if not p.name.startswith("99")]
    for stem in numbered:
        rec = json.loads((res / "smoke" / stem / "metrics.json").read_text())
        assert rec["rows"], stem
        assert (res / "smoke" / stem / "environment.json").exists()
    main = pd.read_csv(res / "smoke" / "summary.csv")
    assert set(main["notebook"]) == set(numbered)
    claims = pd.read_csv(res / "smoke" / "claims.csv")
    ran = {s[:2] for s in numbered}
    assert (claims.loc[claims["notebook"].astype(str).str.zfill(2).isin(ran), "verdict"] != "not run").all()
    assert "report:" in proc.stdout and "[1/" in proc.stdout


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_profile_parameters_are_declared_by_the_notebooks(profile):
    """A profile key no notebook declares would be silently dropped: catch typos here."""
    import papermill as pm

    from colorlab.profiles import PROFILES, parameters_for

    books = runner.find_notebooks(NOTEBOOKS)
    declared = {p.name[:2]: set(pm.inspect_notebook(str(p))) for p in books}
    for number, params in declared.items():
        assert "profile" in params, number
        if number in PROFILES[profile]["notebooks"]:
            assert set(parameters_for(profile, number)) <= params, (number, set(parameters_for(profile, number)) - params)
    common = set(PROFILES[profile]["common"])
    assert common <= set().union(*(declared[n] for n in declared if n != "99"))


def test_unknown_override_is_refused_before_running(tmp_path):
    assert cli.main(["run", "--profile", "smoke", "-p", "stpes=3", "--results", str(tmp_path)]) == 2
    assert not (tmp_path / "smoke" / "run.json").exists()


def test_every_parameters_line_is_declared():
    """papermill skips a `parameters` line it cannot parse (an '=' in its comment, say): the
    runner would then never pass that parameter."""
    import papermill as pm

    for nb_path in runner.find_notebooks(NOTEBOOKS):
        nb = nbformat.read(nb_path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = [line.split("=", 1)[0].strip() for line in cell.source.splitlines() if line.strip() and not line.startswith("#")]
        assert sorted(pm.inspect_notebook(str(nb_path))) == sorted(names), nb_path.name
