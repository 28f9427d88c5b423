"""Training on several processes (torchrun, gloo, the CPU): two processes sharing each global batch
give one process's loss history to float rounding, and a gradient summed instead of averaged would
not; resumption under two processes is exact (per-process random streams saved); only rank 0
writes; a checkpoint rank 0 refuses stops every process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from colorlab import checkpoint

SCRIPT = Path(__file__).with_name("_ddp_script.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(out: Path, steps: int, ckpt: Path | None = None, *extra: str, processes: int = 2,
         check: bool = True) -> subprocess.CompletedProcess:
    out.mkdir(parents=True, exist_ok=True)
    launch = ([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_addr",
               "127.0.0.1", "--master_port", str(_free_port())] if processes > 1 else [sys.executable])
    proc = subprocess.run([*launch, str(SCRIPT), str(out), str(steps), str(ckpt) if ckpt else "-", *extra],
                          capture_output=True, text=True, timeout=300, env={"OMP_NUM_THREADS": "1", **_env()})
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}


def _read(out: Path, rank: int = 0) -> dict:
    return json.loads((out / f"rank{rank}.json").read_text())


def test_two_processes_give_one_processs_loss_history(tmp_path):
    _run(tmp_path / "one", 12, processes=1)
    _run(tmp_path / "two", 12)
    _run(tmp_path / "summed", 12, None, "yuv_regression", "summed")
    one, two, other = _read(tmp_path / "one"), _read(tmp_path / "two"), _read(tmp_path / "two", 1)
    assert (one["processes"], two["processes"], two["world"]) == (1, 2, 2)
    l1, l2 = np.array(one["history"]["loss"]), np.array(two["history"]["loss"])
    assert l1[0] == l2[0]  # the same 8 crops, the same initial weights: the same first loss, to the bit
    np.testing.assert_allclose(l2, l1, rtol=1e-3)
    assert other["history"] == two["history"] and other["weights"] == two["weights"]  # the processes agree exactly
    # the weights within 0.1 % of their norm (not tensor by tensor: a bias before instance norm has no
    # gradient but rounding noise, which differs with the split of the batch)
    v, w = (np.concatenate([np.array(run["weights"][k]) for k in sorted(one["weights"])]) for run in (one, two))
    assert np.linalg.norm(w - v) <= 1e-3 * np.linalg.norm(v)
    wrong = np.array(_read(tmp_path / "summed")["history"]["loss"])
    assert np.max(np.abs(wrong - l1) / l1) > 0.05  # the comparison above can fail


def test_resumption_under_two_processes_is_exact_and_only_rank_0_writes(tmp_path):
    whole = tmp_path / "whole" / "m.pt"
    split = tmp_path / "split" / "m.pt"
    whole.parent.mkdir()
    split.parent.mkdir()
    _run(tmp_path / "a", 5, whole, "pix2pix")  # batch norm, dropout, two networks and two optimisers
    _run(tmp_path / "b", 3, split, "pix2pix")
    _run(tmp_path / "c", 5, split, "pix2pix")
    a, c = _read(tmp_path / "a"), _read(tmp_path / "c")
    assert c["resumed_from"] == 3 and a["history"] == c["history"] and a["weights"] == c["weights"]
    assert _read(tmp_path / "a", 1)["history"] == a["history"]
    assert [p.name for p in split.parent.iterdir()] == ["m.pt"]  # one writer, no stray files
    state = checkpoint.read(split)
    assert state["run"]["processes"] == 2 and len(state["rng"]["ranks"]) == 2
    assert not torch.equal(state["rng"]["ranks"][0]["cpu"], state["rng"]["ranks"][1]["cpu"])  # a stream each


def test_a_parameter_with_a_gradient_on_one_process_only(tmp_path):
    """A parameter only rank 0's loss uses gets zeros on the other, so both all-reduce one buffer
    (it crashed with mismatched buffer sizes before), and both still take the same steps."""
    _run(tmp_path / "u", 4, None, "yuv_regression", "uneven")
    zero, one = _read(tmp_path / "u"), _read(tmp_path / "u", 1)
    assert zero["weights"] == one["weights"] and zero["weights"]["extra"] != [1.0, 1.0, 1.0]


def test_a_checkpoint_rank_0_refuses_stops_every_process(tmp_path):
    bad = tmp_path / "m.pt"
    torch.save({"weights": torch.zeros(2)}, bad)
    proc = _run(tmp_path / "out", 3, bad, check=False)
    assert proc.returncode != 0 and "not a colorlab checkpoint" in proc.stderr
    assert "rank 0 refused the checkpoint" in proc.stderr  # rank 1 says why it stopped, rather than waiting
    assert not (tmp_path / "out" / "rank0.json").exists()


@pytest.mark.parametrize("world, batch", [(3, 8), (2, 5)])
def test_a_batch_the_processes_cannot_share_is_refused(world, batch):
    from colorlab.data import StepBatchSampler

    with pytest.raises(ValueError, match=f"a batch of {batch} cannot be shared by {world} training processes"):
        StepBatchSampler(10, batch, shard=(0, world))


def test_colorlab_run_under_torchrun(tmp_path):
    """``torchrun --nproc_per_node 2 -m colorlab run``: the notebooks' models trained by both
    processes together, one set of results (rank 0's), the tools and report notebooks once."""
    res = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                           "127.0.0.1", "--master_port", str(_free_port()), "-m", "colorlab", "run", "--profile",
                           "smoke", "--only", "01", "02", "--results", str(res)],
                          capture_output=True, text=True, timeout=600, env={"OMP_NUM_THREADS": "1", **_env()},
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.count("[1/3] 01_yuv_regression: ok") == 1  # rank 0 alone speaks
    for path in (res / "smoke" / "checkpoints" / "yuv_regression").glob("*.pt"):
        state = checkpoint.read(path)
        assert state["run"]["processes"] == 2 and len(state["rng"]["ranks"]) == 2
    runs = json.loads((res / "smoke" / "run.json").read_text())["notebooks"]
    assert [(r["notebook"], r["status"]) for r in runs] == [("01_yuv_regression", "ok"), ("02_saturation_boost", "ok"),
                                                            ("99_results_summary", "ok")]
    env = json.loads((res / "smoke" / "01_yuv_regression" / "environment.json").read_text())
    assert env["processes"] == 2


def test_a_notebook_failing_on_one_process_stops_the_others(tmp_path):
    """Rank 1's copy of a notebook fails at once while rank 0's would wait for minutes (as a kernel
    blocked in a collective would): rank 0's copy is stopped within seconds, and the notebook is
    recorded as failed with rank 1's error; the next notebook runs again on both."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    books = tmp_path / "nbs"
    books.mkdir()
    for stem, source in (("01_fails_on_one", 'import os, time\nif os.environ["RANK"] == "1":\n'
                                              '    raise RuntimeError("boom on rank 1")\ntime.sleep(300)'),
                         ("02_fine", "x = 1")):
        nb = new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [new_code_cell('profile = "smoke"  # results/<profile>/', metadata={"tags": ["parameters"]}),
                    new_code_cell(source)]
        nbformat.write(nb, books / f"{stem}.ipynb")
    t0 = __import__("time").perf_counter()
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                           "127.0.0.1", "--master_port", str(_free_port()), "-m", "colorlab", "run", "--profile",
                           "smoke", "--notebooks", str(books), "--results", str(tmp_path / "res")],
                          capture_output=True, text=True, timeout=280, env={"OMP_NUM_THREADS": "1", **_env()})
    assert __import__("time").perf_counter() - t0 < 120
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    runs = {r["notebook"]: r for r in json.loads((tmp_path / "res" / "smoke" / "run.json").read_text())["notebooks"]}
    assert runs["01_fails_on_one"]["status"] == "failed" and "boom on rank 1" in runs["01_fails_on_one"]["error"]
    assert runs["02_fine"]["status"] == "ok"
