"""`colorlab run` and `colorlab report` as a researcher uses them: checks before any kernel
starts, progress on the terminal, no silent overwrite, no stale verdict, Ctrl-C, locks."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from PIL import Image

from colorlab import checks, cli, progress, runner
from colorlab.claims import NOT_EVIDENCE
from colorlab.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _notebook(
    path: Path, source: str, params: str = 'profile = "smoke"  # results/<profile>/\nsteps = 3  # steps'
) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [new_code_cell(params, metadata={"tags": ["parameters"]}), new_code_cell(source)]
    nbformat.write(nb, path)


SAVE = ('from colorlab import results\n'
        'results.save("{stem}", {{"method": "m", "variant": "{stem}", "auc": 0.5}}, {{}}, profile=profile)')


@pytest.fixture()
def books(tmp_path):
    """Two small notebooks that save a row each, and the real report notebook."""
    d = tmp_path / "nbs"
    d.mkdir()
    for stem in ("01_first", "02_second"):
        _notebook(d / f"{stem}.ipynb", SAVE.format(stem=stem))
    shutil.copy(NOTEBOOKS / "99_results_summary.ipynb", d)
    return d


def _no_kernel(monkeypatch):
    monkeypatch.setattr(runner, "ensure_kernel", lambda: pytest.fail("a kernel was about to start"))


def test_cli_parses_overrides():
    assert cli.parse_override("steps=5") == ("steps", 5)
    assert cli.parse_override("lr=1e-3") == ("lr", 0.001)
    assert cli.parse_override("data=folder:/x") == ("data", "folder:/x")
    assert cli.parse_override("image_size=none") == ("image_size", None)
    with pytest.raises(Exception, match="KEY=VALUE"):
        cli.parse_override("steps")


@pytest.mark.parametrize(
    "args, says",
    [
        (["-p", "steps=abc"], "-p steps='abc': steps must be a positive integer (notebook default: 3)"),
        (["-p", "steps=0"], "steps must be a positive integer"),
        (["-p", "crop=36"], "crop must be a multiple of 8"),
        (["-p", "boost_factors=[2.0]"], "boost_factors must be a list of numbers >= 0 that includes 1.0"),
        (["-p", "profile=quick"], "-p profile: cannot be set with -p: set it with --profile"),
        (["-p", "stpes=3"], "no notebook declares the parameter(s) stpes"),
        (
            ["--data", "folder:/nonexistent/photos"],
            "--data folder:/nonexistent/photos: folder:/nonexistent/photos: no such file",
        ),
        (["--data", "imagenet"], "unknown data spec 'imagenet'; known: samples, photos, historical, ambiguous"),
        (["--data", "photos", "-p", "folds=41"], "-p folds=41: photos has 40 photos; each fold needs at least one"),
        (["-p", "folds=1"], "-p folds=1: folds must be None or an integer >= 2"),
        (["--data", "folder:"], "folder: needs a path"),
        (["-p", "device=none"], "-p device=None: device must be one of auto, cpu, cuda, mps or cuda:N"),
        (["--only", "01", "-p", "width=0.5"], "none of the notebooks to run (01, 99) declares the parameter(s) width"),
        (["--only", "42"], "no notebook numbered 42; known: 00, 01, 02, 03, 04, 05, 06, 07, 90, 99"),
        (["-p", "encoder_weights=no/such.pth"], "-p encoder_weights='no/such.pth': backbone weights file"),
        (
            ["-p", "historical_spec=folder:/nonexistent/old"],
            "-p historical_spec='folder:/nonexistent/old': folder:/nonexistent/old",
        ),
        (["--profile", "full"], "the full profile is meant for a dataset folder on a GPU"),
        (
            ["-p", "checkpoint=zhang/fancy"],
            "-p checkpoint='zhang/fancy': zhang has no variant 'fancy'; known: full, class",
        ),
        (["-p", "checkpoint=no/such.pt"], "-p checkpoint='no/such.pt': no checkpoint"),
        (["-p", "photos=/nonexistent/old"], "-p photos='/nonexistent/old': input '/nonexistent/old' does not exist"),
        (["-p", "released_weights=no/such.pth"], "-p released_weights='no/such.pth': released weights file"),
    ],
)
def test_bad_input_is_refused_before_any_kernel_in_one_line(args, says, tmp_path, monkeypatch, capsys):
    _no_kernel(monkeypatch)
    t0 = time.perf_counter()
    assert cli.main(["run", "--profile", "smoke", *args, "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1, err
    assert time.perf_counter() - t0 < 10 and not (tmp_path / "smoke").exists()


def test_unavailable_device_results_file_and_timeout_are_refused(tmp_path, monkeypatch, capsys):
    _no_kernel(monkeypatch)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli.main(["run", "--profile", "smoke", "--device", "cuda", "--results", str(tmp_path)]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
    (tmp_path / "a_file").write_text("x")
    for results in (tmp_path / "a_file", tmp_path / "a_file" / "below"):
        assert cli.main(["run", "--profile", "smoke", "--results", str(results)]) == 2
        assert "results folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--timeout", "0"])
    assert e.value.code == 2 and "must be positive" in capsys.readouterr().err


def test_full_profile_on_samples_only_when_forced(tmp_path, monkeypatch):
    _no_kernel(monkeypatch)
    with pytest.raises(UsageError, match="add --force"):
        checks.plan_run(checks.RunRequest("full", ["01"], root=tmp_path))
    plan = checks.plan_run(checks.RunRequest("full", ["01"], root=tmp_path, force=True))
    assert plan.params["01_yuv_regression"]["crop"] == 176 and plan.params["01_yuv_regression"]["batch_size"] == 40


def test_relative_data_folder_is_taken_from_the_callers_directory(tmp_path, monkeypatch):
    from PIL import Image

    (tmp_path / "mix").mkdir()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(tmp_path / "mix" / "a.png")
    monkeypatch.chdir(tmp_path)
    plan = checks.plan_run(
        checks.RunRequest("smoke", ["01"], {"data_spec": "folder:mix"}, notebooks=NOTEBOOKS, root="res")
    )
    assert plan.data_spec == f"folder:{tmp_path / 'mix'}" == plan.params["01_yuv_regression"]["data_spec"]
    assert plan.root == tmp_path / "res"


def test_relative_weights_file_and_gallery_folder_are_taken_from_the_callers_directory(tmp_path, monkeypatch):
    from PIL import Image

    (tmp_path / "old").mkdir()
    Image.new("L", (40, 30), 90).save(tmp_path / "old" / "a.png")
    (tmp_path / "enc.pth").write_bytes(b"weights")
    monkeypatch.chdir(tmp_path)
    plan = checks.plan_run(
        checks.RunRequest(
            "smoke",
            ["04"],
            {"encoder_weights": "enc.pth", "historical_spec": "folder:old"},
            notebooks=NOTEBOOKS,
            root="res",
        )
    )
    p = plan.params["04_unet_resnet50"]
    assert p["encoder_weights"] == str(tmp_path / "enc.pth") and p["historical_spec"] == f"folder:{tmp_path / 'old'}"


def test_relative_model_photos_and_released_weights_are_taken_from_the_callers_directory(tmp_path, monkeypatch):
    from colorlab import checkpoint
    from colorlab.methods import build

    (tmp_path / "old").mkdir()
    Image.new("L", (40, 30), 90).save(tmp_path / "old" / "a.png")
    (tmp_path / "r.pth").write_bytes(b"weights")
    checkpoint.save(tmp_path / "m.pt", build("yuv_regression", "l2", base=2), step=1)
    monkeypatch.chdir(tmp_path)
    plan = checks.plan_run(checks.RunRequest(
        "smoke", ["90"], {"checkpoint": "m.pt", "photos": "folder:old", "released_weights": "r.pth"},
        notebooks=NOTEBOOKS, root="res"))
    p = plan.params["90_colorize_your_photos"]
    assert (p["checkpoint"], p["photos"], p["released_weights"]) == (
        str(tmp_path / "m.pt"), f"folder:{tmp_path / 'old'}", str(tmp_path / "r.pth"))
    plan = checks.plan_run(
        checks.RunRequest(
            "smoke",
            ["90"],
            {"checkpoint": "zhang2017-released", "photos": "old/*.png"},
            notebooks=NOTEBOOKS,
            root="res",
        )
    )
    assert plan.params["90_colorize_your_photos"]["photos"] == str(tmp_path / "old" / "*.png")


def test_version_and_list_params(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("colorlab 0.")
    assert cli.main(["run", "--list-params"]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()]
    steps = [line for line in lines if line[0] == "steps"]
    assert steps == [["steps", "00", "3", "400", "2000"], ["steps", "01", "3", "400", "20000"],
                     ["steps", "03", "3", "400", "100000"], ["steps", "04", "2", "50", "20000"],
                     ["steps", "05", "07", "2", "100", "20000"], ["steps", "06", "2", "200", "20000"]]
    assert ["crop", "01", "02", "03", "32", "48", "176"] in lines and ["crop", "00", "32", "32", "32"] in lines
    assert any(line[0] == "boost_factors" for line in lines)


def test_report_refuses_unknown_and_escaping_profiles(tmp_path, capsys):
    assert cli.main(["report", "--profile", "nosuch", "--results", str(tmp_path)]) == 2
    assert cli.main(["report", "--profile", "../escaped", "--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no results for profile 'nosuch'" in err and "plain name" in err
    assert not any(tmp_path.iterdir()) and not (tmp_path.parent / "escaped").exists()


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, books, monkeypatch, capsys):
    _no_kernel(monkeypatch)
    with runner._lock(tmp_path / "smoke"):
        assert cli.main(["run", "--profile", "smoke", "--notebooks", str(books), "--results", str(tmp_path)]) == 2
    assert "another colorlab run (pid" in capsys.readouterr().err


@pytest.mark.slow
def test_results_stay_current_and_run_json_merges(tmp_path, books, capsys, monkeypatch):
    res = tmp_path / "res"
    base = ["run", "--profile", "smoke", "--notebooks", str(books), "--results", str(res)]
    monkeypatch.setattr(runner.results, "git_commit", lambda: "c0ffee-at-start")  # asked once, before any notebook
    assert cli.main(base) == 0
    env = json.loads((res / "smoke" / "01_first" / "environment.json").read_text())
    assert env["git_commit"] == "c0ffee-at-start"  # not the tree the notebooks may have written to
    first = json.loads((res / "smoke" / "run.json").read_text())
    assert [r["notebook"] for r in first["notebooks"]] == ["01_first", "02_second", "99_results_summary"]
    assert all(not Path(r["output"]).is_absolute() for r in first["notebooks"])
    first_metrics = (res / "smoke" / "02_second" / "metrics.json").read_text()
    # fails after saving its rows: complete-looking results that must not count as current
    _notebook(books / "02_second.ipynb", SAVE.format(stem="02_second") + '\nraise RuntimeError("made to fail")')
    assert cli.main([*base, "--only", "02", "--no-report-notebook"]) == 1
    log = {r["notebook"]: r for r in json.loads((res / "smoke" / "run.json").read_text())["notebooks"]}
    assert log["01_first"] == next(r for r in first["notebooks"] if r["notebook"] == "01_first")  # kept as it was
    assert log["02_second"]["status"] == "failed" and "made to fail" in log["02_second"]["error"]
    main = pd.read_csv(res / "smoke" / "summary.csv")
    assert sorted(main["notebook"]) == ["01_first"]  # 02's old row is not shown as current
    assert (res / "smoke" / "02_second.previous" / "metrics.json").read_text() == first_metrics  # nor lost
    summary = (res / "smoke" / "summary.md").read_text()
    assert "**Not current: 02_second**" in summary and "RuntimeError: made to fail" in summary
    executed = nbformat.read(res / "smoke" / "02_second" / "02_second.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in executed.cells for o in c.get("outputs", []))
    assert "Kernel is running over TCP" not in capsys.readouterr().out
    assert cli.main([*base, "--only", "02", "--no-report-notebook"]) == 1  # fails again
    assert (res / "smoke" / "02_second.previous" / "metrics.json").read_text() == first_metrics  # still the good one
    assert (res / "smoke" / "02_second.failed").is_dir()  # the failed run's leftovers, apart


@pytest.mark.slow
def test_progress_reaches_the_terminal_and_kernel_noise_does_not(tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    _notebook(d / "01_progress.ipynb", "from colorlab import progress\nprogress.phase('train tiny/x')\n"
              "for i in range(1, 11):\n    progress.step(i, 10, loss=1.0 / i)\nprogress.note('8 training images')\n"
              + SAVE.format(stem="01_progress"))
    lines: list[str] = []
    runs, _ = runner.run(checks.RunRequest("smoke", notebooks=d, root=tmp_path / "res"), echo=lines.append)
    assert runs[0].status == "ok"
    text = "\n".join(lines)
    assert "      train tiny/x\n" in text and "      8 training images" in text
    assert "train tiny/x: step 10/10 (100%), loss 0.1000" in text
    assert "IPKernelApp" not in text and "TCP" not in text
    assert "Kernel is running over TCP" in (tmp_path / "res" / "smoke" / "01_progress" / "run.log").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sigkill"])
def test_a_stopped_run_stops_the_notebook_and_its_kernel(tmp_path, how):
    """Ctrl-C (the whole foreground group), SIGTERM (a CI timeout) and SIGKILL of the runner alone:
    no notebook or kernel outlives the run (which would write into a folder it no longer locks)."""
    d = tmp_path / "nbs"
    d.mkdir()
    _notebook(
        d / "01_slow.ipynb",
        "from colorlab import progress\nimport os, time\nprogress.note(f'kernel {os.getpid()}')\ntime.sleep(120)",
    )
    proc = subprocess.Popen([sys.executable, "-m", "colorlab", "run", "--profile", "smoke", "--notebooks", str(d),
                             "--results", str(tmp_path / "res")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines, kernel = [], None
    for line in proc.stdout:  # wait until the kernel runs the cell
        lines.append(line)
        if "kernel " in line:
            kernel = int(line.split("kernel ")[1])
            break
    assert kernel, "".join(lines)
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C on a terminal does: the whole foreground group
    else:
        os.kill(proc.pid, signal.SIGTERM if how == "sigterm" else signal.SIGKILL)  # the runner alone
    out = "".join(lines) + proc.communicate(timeout=60)[0]
    if how != "sigkill":
        assert proc.returncode == 130, out
        assert "Traceback" not in out and "ZMQ" not in out and "Task exception" not in out, out
        assert "01_slow: interrupted" in out and ("SIGTERM" in out) == (how == "sigterm")
        log = json.loads((tmp_path / "res" / "smoke" / "run.json").read_text())
        assert log["notebooks"][0]["status"] == "interrupted" and log["finished"] is False
    for _ in range(20):  # the kernel is gone too (after SIGKILL: once the watchdog has seen it)
        try:
            os.kill(kernel, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the kernel {kernel} outlived the run")


@pytest.mark.slow
def test_failing_notebook_does_not_stop_the_batch(tmp_path, books):
    _notebook(books / "02_broken.ipynb", 'raise RuntimeError("made to fail")')
    code = cli.main(["run", "--profile", "smoke", "--notebooks", str(books), "--results", str(tmp_path / "res")])
    assert code == 1
    log = json.loads((tmp_path / "res" / "smoke" / "run.json").read_text())
    status = {r["notebook"]: r["status"] for r in log["notebooks"]}
    assert status == {"01_first": "ok", "02_broken": "failed", "02_second": "ok", "99_results_summary": "ok"}


@pytest.mark.slow
def test_smoke_profile_runs_every_notebook(tmp_path):
    res = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "colorlab", "run", "--profile", "smoke", "--results", str(res)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    numbered = [p.stem for p in checks.find_notebooks(NOTEBOOKS) if p.name[:2] < checks.TOOLS_FROM]  # reproductions
    for stem in numbered:
        rec = json.loads((res / "smoke" / stem / "metrics.json").read_text())
        assert rec["rows"], stem
        assert (res / "smoke" / stem / "environment.json").exists()
    main = pd.read_csv(res / "smoke" / "summary.csv")
    assert set(main["notebook"]) == set(numbered)
    claims = pd.read_csv(res / "smoke" / "claims.csv")
    assert (claims["verdict"] == NOT_EVIDENCE).all()  # a few steps judge nothing
    summary = (res / "smoke" / "summary.md").read_text()
    assert max(map(len, summary.splitlines())) <= 120 and str(tmp_path) not in summary
    assert "smoke profile, 3 steps, seed 0, samples (embedded)" in " ".join(summary.split())  # where rows came from
    out = proc.stdout
    assert "report:" in out and "[1/" in out and "train yuv_regression/l1: step 3/3 (100%)" in out
    assert "IPKernelApp" not in out + proc.stderr
    # notebook 90 colourised the historical photos with notebook 03's model, at their own sizes
    rec = json.loads((res / "smoke" / "90_colorize_your_photos" / "metrics.json").read_text())
    info = rec["info"]
    assert rec["rows"] == [] and info["model"]["method"] == "zhang" and info["model"]["variant"] == "full"
    assert "checkpoints/zhang/full-3steps-" in info["model"]["path"] and info["colorized"]["failed"] == {}
    camera = res / "smoke" / "90_colorize_your_photos" / "colorized" / "camera.png"
    assert Image.open(camera).size == (512, 512) and (camera.parent.parent / "before_after.png").is_file()


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_profile_parameters_are_declared_and_valid(profile):
    """A profile key no notebook declares would be silently dropped, a wrong value found late: catch both here."""
    from colorlab.profiles import PROFILES, check_parameter, parameters_for

    books = checks.find_notebooks(NOTEBOOKS)
    declared = {p.name[:2]: checks.declared_parameters(p) for p in books}
    for number, params in declared.items():
        assert "profile" in params, number
        if number in PROFILES[profile]["notebooks"]:  # its own keys, at least, must be declared
            assert set(PROFILES[profile]["notebooks"][number]) <= set(params), number
        for name, value in parameters_for(profile, number).items():
            if name in params and name != "profile":
                check_parameter(name, value, params[name])
    common = set(PROFILES[profile]["common"])
    assert common <= set().union(*(set(declared[n]) for n in declared if n != "99"))


def test_every_parameters_line_is_declared():
    """papermill skips a `parameters` line it cannot parse (an '=' in its comment, say): the
    runner would then never pass that parameter."""
    for nb_path in checks.find_notebooks(NOTEBOOKS):
        nb = nbformat.read(nb_path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        names = [
            line.split("=", 1)[0].strip()
            for line in cell.source.splitlines()
            if line.strip() and not line.startswith("#")
        ]
        assert sorted(checks.declared_parameters(nb_path)) == sorted(names), nb_path.name


@pytest.mark.parametrize("name, value, default, says", [
    ("steps", "abc", "3", "steps must be a positive integer (notebook default: 3); got 'abc'"),
    ("steps", True, "3", "steps must be a positive integer"),  # a bool is not a count
    ("seed", -1, "0", "seed must be an integer >= 0"),
    ("lr", 0, "1e-4", "lr must be a number in (0, 1)"),
    ("image_size", 4, "None", "image_size must be None or an integer >= 8"),
    ("device", "gpu", "'auto'", "device must be one of auto, cpu, cuda, mps or cuda:N"),
    ("temperature", "hot", "0.38", "temperature must be of type float (notebook default: 0.38)"),
    ("use_historical", 1, "True", "use_historical must be of type bool"),
    ("profile", "quick", "'smoke'", "profile cannot be set with -p: set it with --profile"),
])
def test_check_parameter_refuses_with_one_line(name, value, default, says):
    from colorlab.profiles import check_parameter

    with pytest.raises(ValueError) as e:
        check_parameter(name, value, default)
    assert says in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name, value, default", [
    ("steps", 5, "3"), ("image_size", None, "48"), ("device", "cuda:1", "'auto'"), ("temperature", 1, "0.38"),
    ("note", "anything", "None"), ("expr", 3, "2 ** 4"), ("title", "x", "'y'"),
])
def test_check_parameter_accepts_what_fits(name, value, default):
    from colorlab.profiles import check_parameter

    check_parameter(name, value, default)  # raises on a refusal


def test_progress_lines_are_flushed_for_a_ci_log(monkeypatch):
    flushed = []

    class Pipe:  # stdout as CI sees it: a pipe, block-buffered unless flushed
        def write(self, text):
            return len(text)

        def flush(self):
            flushed.append(True)

    monkeypatch.setattr(sys, "stdout", Pipe())
    progress.say("[1/4] 01_yuv_regression: running")
    assert flushed


def test_a_results_profile_that_is_a_file_is_refused(tmp_path, monkeypatch, capsys):
    _no_kernel(monkeypatch)
    (tmp_path / "smoke").write_text("not a folder")
    assert cli.main(["run", "--profile", "smoke", "--results", str(tmp_path)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_progress_estimates_time_left_from_the_steps_done_since_a_resume(tmp_path):
    from colorlab import progress

    path = tmp_path / "events.jsonl"
    events = [{"kind": "phase", "name": "train m/v", "t": 0.0},
              {"kind": "step", "step": 19001, "total": 20000, "values": {}, "t": 1.0},
              {"kind": "step", "step": 19031, "total": 20000, "values": {}, "t": 31.0}]
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    lines = progress.Reader(path, clock=lambda: 31.0).poll()
    assert "left" not in lines[1]  # one step seen: no rate yet (setup time would make it absurd)
    assert lines[-1].endswith("~16 min 09 s left"), lines  # 30 steps in 30 s, 969 to go (not ~2 s)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_results_folder_is_refused(tmp_path, monkeypatch, capsys):
    _no_kernel(monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert cli.main(["run", "--profile", "smoke", "--results", str(ro)]) == 2
    finally:
        ro.chmod(0o755)
    assert "is not writable" in capsys.readouterr().err


def test_a_closed_output_does_not_stop_the_run(monkeypatch):
    class Gone:  # `colorlab run | head`: the reader has exited
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Gone())
    progress.say("[1/4] 01_yuv_regression: running")  # no exception: the notebooks go on
    progress.say("[1/4] 01_yuv_regression: ok")
