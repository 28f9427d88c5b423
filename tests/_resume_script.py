"""Train a small YUV regression on `samples` for a few steps with checkpoints; used by test_train.py.

Usage: python _resume_script.py CHECKPOINT STEPS [SLEEP_PER_STEP]
"""

import sys
import time

import torch

from colorlab import data
from colorlab.methods import build
from colorlab.train import TrainConfig, fit


def run(checkpoint: str, steps: int, sleep: float = 0.0):
    torch.set_num_threads(1)
    ds = data.load_dataset("samples", "train", crop=32, image_size=128, space="yuv")
    torch.manual_seed(0)
    method = build("yuv_regression", "l1", base=4, lr=1e-2)
    if sleep:
        step = method.train_step
        method.train_step = lambda *args: (time.sleep(sleep), step(*args))[1]

    def batches(start_step):
        return data.make_loader(ds, batch_size=4, train=True, seed=0, start_step=start_step)

    cfg = TrainConfig(steps=steps, checkpoint=checkpoint, checkpoint_every=5, progress=False)
    return method, fit(method, batches, cfg)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
