"""Image sources, leak-free train/test splits and reproducible colourisation batches.

A spec string (:data:`SPECS`) names a source; :func:`load_images` gives its images for a split
as uint8 RGB ``(3, H, W)`` tensors, and :func:`load_dataset` gives float32 training crops or
test tiles in RGB plus Lab or YUV. :func:`make_loader` batches them so that a resumed run sees
the same batches. The specs, the splits and the image conversions are described in
``docs/data.md``.

Example:
    >>> ds = load_dataset("samples", "train", crop=64)
    >>> item = ds[(0, 1234)]                     # (image index, augmentation seed): pure
    >>> item["rgb"].shape, item["L"].shape, item["ab"].shape
    (torch.Size([3, 64, 64]), torch.Size([1, 64, 64]), torch.Size([2, 64, 64]))
    >>> batch = next(iter(make_loader(ds, 16, train=True, start_step=100)))
    >>> batch["rgb"].shape, batch["image"].shape
    (torch.Size([16, 3, 64, 64]), torch.Size([16]))
"""

from .datasets import ColorDataset, load_dataset
from .decode import load_image, pil_to_tensor
from .images import DataProblems, ImageSet
from .sampling import StepBatchSampler, complete, make_loader, to_device
from .sources import SPECS, TEST_FRACTION, TRAIN_FRACTION, check_spec, data_root, load_images
from .subsets import Subset, check_subset, resolve_subset, restrict

__all__ = [
    "SPECS", "TRAIN_FRACTION", "TEST_FRACTION", "ImageSet", "DataProblems", "ColorDataset", "StepBatchSampler",
    "pil_to_tensor", "load_image", "load_images", "load_dataset", "make_loader", "complete", "to_device",
    "check_spec", "data_root", "Subset", "check_subset", "resolve_subset", "restrict",
]
