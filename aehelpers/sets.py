"""Images in memory and their batches: ImageSet, TensorLoader, seeded splits, resizing.

    ds = sets.ImageSet(x, y, classes=["0", "1"], name="mine")   # x (N, C, H, W) in [0, 1]
    train, val, test = sets.split(ds, val=0.1, test=0.1, seed=0)
    train_loader, val_loader = sets.loaders(train, val, batch_size=64, seed=0)

Every dataset of the course is an ImageSet; `data` re-exports these names, so notebooks write
`data.ImageSet`, `data.loaders`. Imports nothing else from the package.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


class DatasetNotFoundError(FileNotFoundError):
    """A named dataset is not on disk; the message says where we looked and how to get it."""


class DatasetCorruptError(ValueError):
    """A dataset file is on disk but damaged or altered; the message names it and how to restore it."""


class ImageSet(Dataset):
    """Images x (N, C, H, W, float32 in [0, 1]) with labels y (N,) and class names, in memory."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None = None, classes=None,
                 name: str = "images", skipped=None, source: str | None = None):
        if x.ndim != 4:
            raise ValueError(f"{name}: expected images of shape (N, C, H, W), got {tuple(x.shape)}")
        if x.dtype == torch.uint8:  # 0-255 pixels would break BCE and every [0, 1] assumption
            raise ValueError(f"{name}: images are uint8 (0-255); pass x.float() / 255")
        self.x = x.float()
        self.y = torch.zeros(len(x), dtype=torch.long) if y is None else torch.as_tensor(y).long()
        self.classes = list(classes) if classes is not None else ["all"]
        self.name = name
        self.skipped = list(skipped or [])  # (path, reason) of files that could not be loaded
        self.source = source or name  # where the images come from, for reports (see `describe`)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x.shape[1:])

    def example(self, n: int = 1) -> torch.Tensor:
        """The first n images as a batch (n, C, H, W)."""
        return self.x[:n]

    def first_of(self, label: int) -> int:
        """Index of the first image with this label (e.g. the first test "9" of 01 and 04)."""
        hits = (self.y == label).nonzero()
        if len(hits) == 0:
            raise ValueError(f"{self.name} has no image with label {label}")
        return int(hits[0])

    def subset(self, idx, name: str | None = None) -> ImageSet:
        """A new ImageSet with the items at `idx` (indices or a boolean mask)."""
        idx = torch.as_tensor(idx)
        return ImageSet(self.x[idx], self.y[idx], self.classes, name or self.name,
                        source=self.source)

    def __repr__(self):
        return (f"ImageSet({self.name!r}, n={len(self)}, shape={self.shape}, "
                f"classes={len(self.classes)})")


class TensorLoader:
    """Batches sliced from tensors held in memory (on any device): a fast DataLoader stand-in."""

    def __init__(self, dataset: ImageSet, batch_size: int = 64, shuffle: bool = False,
                 seed: int = 0, device=None, drop_last: bool = False):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed)  # the order is part of the seed
        self.x = dataset.x.to(device) if device is not None else dataset.x
        self.y = dataset.y.to(self.x.device)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.x.device)
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield self.x[idx], self.y[idx]


def split(ds: ImageSet, val: float = 0.1, test: float = 0.1, seed: int = 0):
    """Shuffle with `seed` and cut into (train, val, test) ImageSets by the given fractions."""
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"val and test are fractions with val + test < 1, got {val} and {test}")
    n = len(ds)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val, n_test = round(n * val), round(n * test)
    n_train = n - n_val - n_test
    parts = (order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:])
    return tuple(ds.subset(p, f"{ds.name}/{s}") for p, s in zip(parts, ("train", "val", "test")))


def loaders(train: ImageSet, val: ImageSet | None = None, batch_size: int = 64, seed: int = 0,
            device=None):
    """(train_loader, val_loader): shuffled training batches, ordered validation batches."""
    train_loader = TensorLoader(train, batch_size, shuffle=True, seed=seed, device=device)
    val_loader = None if val is None else TensorLoader(val, batch_size, device=device)
    return train_loader, val_loader


def stretch(x: torch.Tensor) -> torch.Tensor:
    """Each image divided by its own maximum (pixel units, max 1): faint draws read like crisp ones."""
    return x / x.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)


def resize(x: torch.Tensor, size) -> torch.Tensor:
    """Resize a batch (N, C, H, W) to `size` (int or (H, W)) with antialiased bilinear filtering."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)
