"""``colorlab bench``: the tiny setting end to end (table, figure, environment record), requests
refused before any measurement, the peak-FLOP/s table, FLOPs counted, evaluation's memory flat in
the test set's size, and on CUDA (when there is one) no host synchronisation in the training loop."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from colorlab import bench
from colorlab.cli import main


def test_tiny_bench_writes_its_table_figure_and_record(tmp_path, capsys):
    out = tmp_path / "bench"
    rc = main(["bench", "--setting", "tiny", "--methods", "yuv_regression", "pix2pix", "--batch-sizes", "2",
               "--infer-sizes", "32", "--repeats", "1", "--device", "cpu", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    t = pd.read_csv(out / "bench.csv")
    assert t["kind"].tolist() == ["train", "infer", "train", "train", "infer", "data"]
    assert t.loc[t["kind"] == "train", "method"].tolist() == ["yuv_regression", "pix2pix", "pix2pix"]
    assert t.loc[t["kind"] == "train", "recipe"].tolist() == ["fast", "fast", "plain"]  # pix2pix's official baseline
    assert t.loc[t["recipe"] == "plain", "batch_size"].tolist() == [1]
    train = t[t["kind"] == "train"]
    assert (train["flops_per_step"] > 0).all() and (train["images_per_second"] > 0).all()
    assert train["mfu"].isna().all()  # a CPU has no entry in the peak table
    data = t[t["kind"] == "data"].iloc[0]
    assert data["images_per_second"] > 0 and data["workers"] >= 1 and data["variant"].endswith("JPEGs")
    assert isinstance(data["input_bound"], bool | str)
    assert (out / "bench.png").is_file() and json.loads((out / "environment.json").read_text())["device"] == "cpu"
    assert main(["bench", "--setting", "tiny", "--methods", "fusion", "-o", str(out)]) == 2  # kept, not overwritten
    assert "bench.csv exists" in capsys.readouterr().err


@pytest.mark.parametrize("argv, says", [
    (["--methods", "nosuch"], "unknown method 'nosuch'; known: fusion, larsson"),
    (["--methods", "unet", "--sizes", "48"], "unet trains on crops that are multiples of 32; --sizes has [48]"),
    (["--repeats", "0"], "--repeats must be at least 1"),
    (["--data", "/no/such"], "--data must be folder:PATH"),
    (["--data", "folder:/no/such"], "--data folder:/no/such:"),
    (["--methods", "zhang", "--plain", "pix2pix:1"], "--plain takes METHOD:BATCH of a measured method"),
])
def test_bad_requests_are_refused_before_any_measurement(argv, says, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("measured before checking"))
    assert main(["bench", "--setting", "tiny", *argv, "-o", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err
    (tmp_path / "f").write_text("x")
    assert main(["bench", "--setting", "tiny", "-o", str(tmp_path / "f")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("name, peak", [("NVIDIA H100 80GB HBM3", 989.4e12), ("NVIDIA H100 PCIe", 756e12),
                                        ("NVIDIA H100 NVL", 835e12), ("NVIDIA H200", 989.4e12),
                                        ("NVIDIA H200 NVL", 835.5e12), ("NVIDIA GH200 480GB", 989.4e12),
                                        ("NVIDIA GB200", 2500e12), ("NVIDIA A100-SXM4-40GB", 312e12),
                                        ("NVIDIA L4", 121e12), ("NVIDIA L40S", 362e12), ("Quadro P1000", None)])
def test_peak_flops_table(name, peak, monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: name)
    assert bench.peak_flops(torch.device("cuda")) == peak


def test_flops_counted_for_a_training_step_match_a_hand_count():
    """One 3x3 convolution layer trained: forward 2·k²·Cin·Cout·H·W·B multiply-adds, backward twice that."""
    from torch.utils.flop_counter import FlopCounterMode

    conv = torch.nn.Conv2d(4, 8, 3, padding=1)
    x = torch.rand(2, 4, 16, 16, requires_grad=False)
    with FlopCounterMode(display=False) as counter:
        conv(x).sum().backward()
    forward = 2 * 9 * 4 * 8 * 16 * 16 * 2
    assert counter.get_total_flops() == forward * 2  # input needs no gradient: weight gradient only


def test_evaluation_holds_no_batch_it_is_done_with():
    """Memory stays flat with the test set's size: no batch outlives its scoring, only copies of
    the first ``keep`` images do."""
    import gc
    import weakref

    from colorlab import cost, evaluate

    alive = []

    def batches(n):
        for i in range(n):
            b = cost.synthetic_batch("lab", 8, 16, torch.device("cpu"), seed=i)
            alive.append(weakref.ref(b["rgb"]))
            yield b

    out = evaluate.stream(lambda b: b["rgb"].flip(-1), batches(40), "cpu", keep=20)
    gc.collect()
    assert len(out.per_image) == 320 and out.gt.shape[0] == out.pred.shape[0] == 20
    assert sum(r() is not None for r in alive) == 0
    everything = evaluate.stream(lambda b: b["rgb"], batches(5), "cpu", keep=None)
    assert everything.gt.shape[0] == 40


def test_evaluation_memory_measured_in_a_fresh_process():
    streamed, kept = bench.eval_row(300, size=32), bench.eval_row(300, size=32, streamed=False)
    assert (streamed["kept_images"], kept["kept_images"]) == (256, 300)
    assert streamed["n_images"] == 300 and streamed["peak_mb"] > 0 and streamed["variant"] == "streamed"
    assert "mmap threshold fixed" in streamed["memory"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_no_host_sync_in_the_training_loop_on_cuda():
    """Between two reads of the logged values the loop never waits for the GPU: every step of every
    method runs with torch.cuda.set_sync_debug_mode('error')."""
    from colorlab import cost
    from colorlab.methods import METHODS, get
    from colorlab.train import TrainConfig, fit

    for name in METHODS:
        cls = get(name)
        method = cls(next(iter(cls.variants)), **{**cls.smoke_args})
        multiple = method.input_multiple
        batch = {
            k: v.cpu() for k, v in cost.synthetic_batch(method.space, 4, 2 * multiple, torch.device("cpu")).items()
        }
        step = method.train_step

        def strict(*a, step=step):
            torch.cuda.set_sync_debug_mode("error")
            try:
                return step(*a)
            finally:
                torch.cuda.set_sync_debug_mode("default")

        method.train_step = strict
        method.check_trainable = lambda: None
        fit(method, lambda start, b=batch: iter(lambda: b, None), TrainConfig(steps=3, device="cuda", progress=False))


def test_streamed_pooled_histograms_and_edge_cases():
    """The pooled a/b counts of a stream are the whole set's (pix2pix's distribution table uses
    them, not the images kept for figures); keep=0 keeps nothing; the references refuse a loader
    they cannot index in order."""
    from colorlab import cost, data, evaluate
    from colorlab.papers.pix2pix import TRUTH, test_set_histograms

    test = data.load_dataset("samples", "test", crop=32, image_size=64, max_tiles=2)
    loader = data.make_loader(test, 5, train=False)
    out = evaluate.stream(lambda b: b["rgb"].flip(-1) * 0.8, loader, "cpu", keep=0)
    assert out.gt.shape[0] == 0 and len(out.per_image) == len(test)
    gt = torch.cat([b["rgb"] for b in loader])
    whole = test_set_histograms(gt, {"x": gt.flip(-1) * 0.8})
    torch.testing.assert_close(out.gt_counts, whole[TRUTH])
    torch.testing.assert_close(out.pred_counts, whole["x"])
    batches = [cost.synthetic_batch("lab", 2, 8, torch.device("cpu"))]
    with pytest.raises(TypeError, match="passes once over its dataset in order"):
        evaluate.stream_references(batches)
    with pytest.raises(TypeError, match="passes once over its dataset in order"):
        evaluate.stream_references(torch.utils.data.DataLoader(test, batch_size=4, shuffle=True))
