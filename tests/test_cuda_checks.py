"""CUDA checks for the first GPU run (issue 34; ``scripts/device-check`` runs them with ``-k cuda``):
every method's every variant trains with no host synchronisation in its step, and a bf16-autocast
step gives the fp32 step's loss on one batch. Skipped without CUDA; the comparison's plumbing also
runs on the CPU, where both runs are fp32 and must agree exactly."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from colorlab import data
from colorlab.methods import METHODS, build, get
from colorlab.train import TrainConfig, fit

CASES = [(name, variant) for name, cls in METHODS.items() for variant in cls.variants]
CROP, IMAGE_SIZE, BATCH = 32, 64, 4
#: Steps per run: the first step's loss is the forward pass under test, the second follows an update.
STEPS = 2
#: bf16 keeps 8 bits of mantissa: a loss averaged over a batch stays within a few per cent of fp32's.
BF16_RTOL = (0.03, 0.10)  # the first step's loss, the second's (after one bf16 update)
BF16_ATOL = 1e-3
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _case_id(case):
    return "/".join(case)


@pytest.fixture(scope="module")
def train_sets():
    return {space: data.load_dataset("samples", "train", crop=CROP, image_size=IMAGE_SIZE, space=space)
            for space in ("lab", "yuv")}


def _prepared(name, variant, train_sets):
    torch.manual_seed(0)
    method = build(name, variant, **get(name).smoke_args)
    method.prepare(train_sets[method.space])
    batch = next(iter(data.make_loader(train_sets[method.space], BATCH, train=True, seed=3)))
    return method, batch


def _losses(method, batch, device, amp):
    """The logged losses of ``STEPS`` training steps on one fixed batch."""
    history = fit(method, lambda start: iter(lambda: batch, None),
                  TrainConfig(steps=STEPS, device=device, amp=amp, progress=False, seed=0))
    return [float(x) for x in history["loss"]]


def bf16_against_fp32(name, variant, train_sets, device):
    """The losses of the same method, weights and batch trained in fp32 and with bf16 autocast."""
    method, batch = _prepared(name, variant, train_sets)
    return _losses(copy.deepcopy(method), batch, device, amp=False), _losses(method, batch, device, amp=True)


def test_the_bf16_comparison_runs_on_the_cpu(train_sets):
    """On the CPU autocast is off in both runs: the comparison's plumbing, and exact agreement."""
    fp32, other = bf16_against_fp32("yuv_regression", "l2", train_sets, "cpu")
    assert len(fp32) == STEPS and fp32 == other


@needs_cuda
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_bf16_step_matches_fp32_on_cuda(case, train_sets):
    fp32, bf16 = bf16_against_fp32(*case, train_sets, "cuda")
    assert all(math.isfinite(x) for x in fp32 + bf16), (fp32, bf16)
    for step, (a, b, rtol) in enumerate(zip(fp32, bf16, BF16_RTOL, strict=True)):
        assert b == pytest.approx(a, rel=rtol, abs=BF16_ATOL), f"step {step}: fp32 {a}, bf16 {b}"


@needs_cuda
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_every_variant_trains_without_host_sync_on_cuda(case, train_sets):
    """``tests/test_bench.py`` checks each method's first variant on synthetic batches; here every
    variant, prepared on real photos, steps under ``torch.cuda.set_sync_debug_mode('error')``."""
    method, batch = _prepared(*case, train_sets)
    step = method.train_step

    def strict(*args):
        torch.cuda.set_sync_debug_mode("error")
        try:
            return step(*args)
        finally:
            torch.cuda.set_sync_debug_mode("default")

    method.train_step = strict
    fit(method, lambda start: iter(lambda: batch, None), TrainConfig(steps=3, device="cuda", progress=False))
