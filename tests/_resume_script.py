"""Train a tiny colouriser on `samples` for 50 steps with checkpoints; used by test_train.py.

Usage: python _resume_script.py CHECKPOINT STEPS [SLEEP_PER_STEP]
"""

import sys
import time

import torch
from torch import nn

from colorlab import data
from colorlab.color import ZHANG
from colorlab.train import TrainConfig, fit


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 2, 3, padding=1)
    )


def run(checkpoint: str, steps: int, sleep: float = 0.0):
    torch.set_num_threads(1)
    ds = data.load_dataset("samples", "train", crop=32, image_size=128)
    model = tiny_model()

    def batches(start_step):
        return data.make_loader(ds, batch_size=4, train=True, seed=0, start_step=start_step)

    def loss_fn(m, b):
        if sleep:
            time.sleep(sleep)
        x, y = ZHANG.encode(b["L"], b["ab"])
        return (m(x) - y).abs().mean()

    cfg = TrainConfig(steps=steps, lr=1e-2, checkpoint=checkpoint, checkpoint_every=5, progress=False)
    return model, fit(model, loss_fn, batches, cfg)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
