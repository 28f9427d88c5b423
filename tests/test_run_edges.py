"""The rough edges of `colorlab run` and `colorlab report` (issue 33): the default results folder
wherever you run from, a closed pipe, `report` during a run, the lock file, notebook 99's results
set aside, a failed notebook's claims, the commit a tree without git records, `--device` with
`--only 99`, and "1 notebook".

Most tests run the runner with the notebooks' execution faked (:func:`_fake_kernels`): they test
what the runner does around a notebook, in a second each."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from colorlab import checks, cli, report, results, runner

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
REPORT = "99_results_summary"


def _notebook(path: Path, source: str = "pass", params: str = 'profile = "smoke"\nsteps = 3') -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [new_code_cell(params, metadata={"tags": ["parameters"]}), new_code_cell(source)]
    nbformat.write(nb, path)


def _fake_kernels(monkeypatch) -> list[dict]:
    """No kernel starts: each notebook "runs" ok at once. Returns what each would have been given."""
    given: list[dict] = []

    def run_together(nb, spec, folder, env, echo, world):
        given.append({"notebook": nb.stem, "parameters": spec["parameters"], "env": env})
        return "ok", ""

    monkeypatch.setattr(runner, "ensure_kernel", lambda: "python3")
    monkeypatch.setattr(runner, "_run_together", run_together)
    return given


# item 4: the default results folder does not depend on the directory you run in


def test_the_default_results_folder_is_the_checkouts_wherever_you_run_from(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("COLORLAB_RESULTS", raising=False)
    monkeypatch.setenv("COLUMNS", "300")  # argparse's help on one line
    monkeypatch.chdir(tmp_path)
    assert results.results_root() == ROOT / "results"
    plan = checks.plan_run(checks.RunRequest("smoke", ["01"], notebooks=NOTEBOOKS))
    assert plan.root == ROOT / "results" and not (tmp_path / "results").exists()
    for command in ("run", "report"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        said = " ".join(capsys.readouterr().out.split())
        assert f"default: {ROOT / 'results'}, results/ of the checkout" in said, said


@pytest.mark.slow
def test_colorize_looks_for_models_in_the_checkouts_results(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("COLORLAB_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["colorize", "--list-models"]) == 0
    out = capsys.readouterr().out
    assert str(ROOT / "results") in out and str(tmp_path) not in out


def test_results_go_beside_the_notebooks_of_the_checkout_that_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("COLORLAB_RESULTS", raising=False)
    other = tmp_path / "other-clone"
    (other / "colorlab").mkdir(parents=True)
    (other / "colorlab" / "__init__.py").write_text("")
    (other / "notebooks").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert results.results_root(notebooks=other / "notebooks") == other / "results"  # --notebooks of a checkout
    assert results.results_root(notebooks=elsewhere) == ROOT / "results"  # a folder in no checkout: the default
    monkeypatch.chdir(other)  # ./notebooks is what `colorlab run` runs here
    assert results.results_root() == other / "results"
    monkeypatch.setenv("COLORLAB_RESULTS", str(tmp_path / "env"))
    assert results.results_root(notebooks=other / "notebooks") == tmp_path / "env"


def test_installed_without_a_checkout_the_default_is_dot_results_and_help_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("COLORLAB_RESULTS", raising=False)
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setattr(results, "_PACKAGE_TOP", tmp_path / "site-packages")
    monkeypatch.chdir(tmp_path)
    assert results.results_root() == tmp_path / "results"
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert f"default: {tmp_path / 'results'}, ./results: colorlab is installed without a checkout" in said, said


# item 5: a closed pipe ends every command quietly


def _gone_reader(args: list[str], env: dict | None = None) -> tuple[int, str]:
    """``colorlab ARGS`` into a pipe whose reader has gone before the first line is written."""
    proc = subprocess.Popen([sys.executable, "-m", "colorlab", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT, env=env, text=True)
    proc.stdout.close()  # the reader is gone (`| head` that has read what it wanted)
    err = proc.stderr.read()
    return proc.wait(timeout=300), err


@pytest.mark.slow
def test_list_params_into_a_closed_pipe_ends_quietly():
    status, err = _gone_reader(["run", "--list-params"])
    assert err == "", err  # no BrokenPipeError traceback
    assert status == 141 == cli.PIPE_CLOSED


@pytest.mark.slow
def test_list_models_into_head_ends_quietly(tmp_path):
    """`colorlab colorize --list-models | head -n 0` in a shell: head has exited before the first line."""
    script = (f"{sys.executable} -m colorlab colorize --list-models | head -n 0; "
              'echo "colorlab exited ${PIPESTATUS[0]}" >&2')
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.stderr == "colorlab exited 141\n", proc.stderr


def test_a_closed_pipe_is_caught_for_any_subcommand(monkeypatch, capsys):
    def gone(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli.bench_command, "main", gone)
    assert cli.main(["bench"]) == cli.PIPE_CLOSED  # a stdout without a descriptor (capsys) is left alone
    assert capsys.readouterr().err == ""


# item 10: `colorlab report` while a run writes the results


def test_report_is_refused_while_a_run_holds_the_results_folder(tmp_path, capsys):
    results.save("01_x", {"method": "m", "auc": 0.5}, {}, profile="smoke", root=tmp_path)
    with runner._lock(tmp_path / "smoke"):
        assert cli.main(["report", "--profile", "smoke", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"(pid {os.getpid()} since " in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "smoke" / "summary.md").exists()
    assert cli.main(["report", "--profile", "smoke", "--results", str(tmp_path)]) == 0  # once the run has ended
    assert (tmp_path / "smoke" / "summary.md").exists()


# the lock file goes when a run ends; a leftover one blocks nothing


def test_the_lock_file_is_removed_when_a_run_ends_and_a_leftover_blocks_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "smoke"
    with runner._lock(folder):
        assert (folder / runner.LOCK_NAME).read_text().startswith(f"pid {os.getpid()} since ")
    assert not (folder / runner.LOCK_NAME).exists()
    (folder / runner.LOCK_NAME).write_text("pid 4194303 since 2020-01-01T00:00:00+00:00\n")  # a run killed outright
    assert runner.running(folder) is None
    with runner._lock(folder):
        assert runner.running(folder).startswith(f"pid {os.getpid()} since ")
    assert not (folder / runner.LOCK_NAME).exists()
    _fake_kernels(monkeypatch)
    runner.run(checks.RunRequest("smoke", ["99"], notebooks=NOTEBOOKS, root=tmp_path), echo=lambda line: None)
    assert not (folder / runner.LOCK_NAME).exists()


def test_a_second_lock_on_a_held_folder_is_still_refused(tmp_path):
    from colorlab.errors import UsageError

    with runner._lock(tmp_path / "smoke"):
        with pytest.raises(UsageError, match=f"another colorlab run \\(pid {os.getpid()} since "):
            with runner._lock(tmp_path / "smoke"):
                pass
        assert (tmp_path / "smoke" / runner.LOCK_NAME).exists()  # the refused one removed nothing


# item 15: notebook 99's results are set aside as finished, not as failed


@pytest.mark.parametrize("last, metrics, goes_to", [
    ("ok", False, ".previous"),  # the report notebook: ran well, writes no metrics.json
    ("ok", True, ".previous"),
    (None, True, ".previous"),  # not the runner's (committed, by hand): metrics.json says it finished
    (None, False, ".failed"),
    ("failed", True, ".failed"),  # saved its rows, then failed
    ("interrupted", False, ".failed"),
])
def test_what_a_notebook_left_is_set_aside_by_how_its_last_run_ended(tmp_path, last, metrics, goes_to):
    folder = tmp_path / "smoke" / REPORT
    folder.mkdir(parents=True)
    (folder / f"{REPORT}.ipynb").write_text("{}")
    if metrics:
        (folder / "metrics.json").write_text("{}")
    moved = runner._set_aside(folder, last)
    assert (folder.parent / (REPORT + goes_to) / f"{REPORT}.ipynb").exists() and not folder.exists()
    assert ("previous" in moved) == (goes_to == ".previous")


def test_rerunning_the_report_notebook_keeps_its_last_results_as_previous(tmp_path, monkeypatch):
    _fake_kernels(monkeypatch)
    lines: list[str] = []
    request = checks.RunRequest("smoke", ["99"], notebooks=NOTEBOOKS, root=tmp_path)
    runner.run(request, echo=lines.append)
    (tmp_path / "smoke" / REPORT / f"{REPORT}.ipynb").write_text("{}")  # what its run left
    runner.run(request, echo=lines.append)
    assert (tmp_path / "smoke" / f"{REPORT}.previous" / f"{REPORT}.ipynb").exists()
    assert not (tmp_path / "smoke" / f"{REPORT}.failed").exists()
    assert f"[1/1] {REPORT}: running (its last results moved to {REPORT}.previous/)" in lines


# a failed notebook's claims read "failed", with its error; one never run reads "not run"


def _log(root: Path, profile: str, entries: list[dict]) -> None:
    (root / profile).mkdir(parents=True, exist_ok=True)
    (root / profile / "run.json").write_text(json.dumps({"profile": profile, "finished": True, "notebooks": entries}))


def test_a_failed_notebooks_claims_read_failed_with_its_error(tmp_path):
    _log(tmp_path, "quick", [
        {"notebook": "01_yuv_regression", "status": "failed", "seconds": 3.0, "output": "",
         "error": "RuntimeError: made to fail\nTraceback (most recent call last): ..."},
        {"notebook": "06_pix2pix", "status": "interrupted", "seconds": 3.0, "output": "",
         "error": "stopped by SIGTERM"},
    ])
    tables = report.build("quick", tmp_path)
    by = tables["claims"].groupby("notebook")
    one, six, three = by.get_group("01"), by.get_group("06"), by.get_group("03")
    assert (one["verdict"] == "failed").all()
    assert (one["evidence"] == "notebook failed: RuntimeError: made to fail").all()  # the error's first line
    assert (six["verdict"] == "interrupted").all()
    assert (six["evidence"] == "notebook interrupted: stopped by SIGTERM").all()
    assert (three["verdict"] == "not run").all() and (three["evidence"] == "notebook not run").all()
    summary = report.write("quick", tmp_path).read_text()
    assert "- **failed**: " in summary and "notebook failed: RuntimeError: made to fail" in summary
    assert "- **not run**: " in summary


# a tree without .git: the kernels record the commit the caller gave


def test_the_callers_commit_is_kept_when_git_gives_none(tmp_path, monkeypatch):
    given = _fake_kernels(monkeypatch)
    request = checks.RunRequest("smoke", ["99"], notebooks=NOTEBOOKS, root=tmp_path)
    monkeypatch.setenv(results.GIT_COMMIT_ENV, "feedface-from-the-caller")
    monkeypatch.setattr(runner.results, "git_commit", lambda: None)  # no .git (a tarball, a container)
    runner.run(request, echo=lambda line: None)
    assert given[-1]["env"][results.GIT_COMMIT_ENV] == "feedface-from-the-caller"
    monkeypatch.setattr(runner.results, "git_commit", lambda: "c0ffee")  # git's answer, when there is one
    runner.run(request, echo=lambda line: None)
    assert given[-1]["env"][results.GIT_COMMIT_ENV] == "c0ffee"


# --device goes to the notebooks that declare it; the others ignore it


def test_device_flag_goes_to_the_notebooks_that_declare_it(tmp_path, monkeypatch, capsys):
    given = _fake_kernels(monkeypatch)
    base = ["run", "--profile", "smoke", "--notebooks", str(NOTEBOOKS), "--results", str(tmp_path)]
    assert cli.main([*base, "--only", "99", "--device", "cpu"]) == 0, capsys.readouterr().err
    assert [g["notebook"] for g in given] == [REPORT] and "device" not in given[0]["parameters"]
    given.clear()
    assert cli.main([*base, "--only", "01", "--device", "cpu"]) == 0
    params = {g["notebook"]: g["parameters"] for g in given}
    assert params["01_yuv_regression"]["device"] == "cpu" and "device" not in params[REPORT]
    capsys.readouterr()
    assert cli.main([*base, "--only", "99", "-p", "device=cpu"]) == 2  # -p names a parameter: still checked
    assert "declares the parameter(s) device" in capsys.readouterr().err


def test_device_flag_is_still_checked_when_no_notebook_takes_it(tmp_path, monkeypatch, capsys):
    import torch

    given = _fake_kernels(monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = ["run", "--profile", "smoke", "--only", "99", "--device", "cuda", "--notebooks", str(NOTEBOOKS),
            "--results", str(tmp_path)]
    assert cli.main(args) == 2
    assert "CUDA is not available" in capsys.readouterr().err and not given


# "1 notebook"


def test_one_notebook_is_one_notebook(tmp_path, monkeypatch):
    _fake_kernels(monkeypatch)
    d = tmp_path / "nbs"
    d.mkdir()
    _notebook(d / "01_only.ipynb")
    lines: list[str] = []
    runner.run(checks.RunRequest("smoke", notebooks=d, root=tmp_path / "res"), echo=lines.append)
    assert lines[0].startswith("colorlab run: profile smoke, 1 notebook, "), lines[0]
    _notebook(d / "02_other.ipynb")
    runner.run(checks.RunRequest("smoke", notebooks=d, root=tmp_path / "res"), echo=lines.append)
    assert any(line.startswith("colorlab run: profile smoke, 2 notebooks, ") for line in lines)
