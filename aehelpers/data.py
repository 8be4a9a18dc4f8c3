"""The course's datasets with one call: MNIST's one split, scikit-image's faces and cat, apples.

    train, val, test = data.mnist_splits(cfg.profile)   # the course's one MNIST split, offline
    train_loader, val_loader = data.loaders(train, val, batch_size=64, seed=0)
    apples = data.fruits360("Training", size=48)         # the shipped Fruits-360 apples

Every loader returns an `ImageSet`: images as a float tensor (N, C, H, W) in [0, 1], integer labels
and class names. What ships in the repository's `data/` (the MNIST test set, 800 Fruits-360 apples;
see data/README.md) is checked against `data/SHA256SUMS` before it is used. Faces and the cat photo
come from scikit-image. Full datasets (MNIST's 60,000, the whole Fruits-360, your own folder) are
read with torchvision's loaders from `data/` or $AEH_DATA; when one is missing,
`DatasetNotFoundError` says where it looked and how to get it.

The containers (ImageSet, TensorLoader, split, loaders, resize) live in `sets`, reading a folder
of your own images in `folders`; both are re-exported here, so a notebook needs only `data`.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import torch

from . import config
from .folders import IMAGE_EXTENSIONS, SHIPPED_ROOT, _where, image_folder  # noqa: F401
from .sets import (  # noqa: F401  (re-exported: notebooks write data.ImageSet, data.loaders)
    DatasetCorruptError,
    DatasetNotFoundError,
    ImageSet,
    TensorLoader,
    loaders,
    resize,
    split,
    stretch,
)

MNIST_SPLIT_SEED = 0  # the one split of the shipped 10,000 MNIST images that every notebook uses
MNIST_SPLIT_SIZES = (8000, 1000, 1000)  # train / val / test of that split


# ---------------------------------------------------------------------------------------------
# datasets inside scikit-image (faces, the cat photo)
# ---------------------------------------------------------------------------------------------

def _lfw(start: int, name: str, size) -> ImageSet:
    from skimage.data import lfw_subset

    x = torch.tensor(lfw_subset()[start:start + 100], dtype=torch.float32).unsqueeze(1)
    x = x / 255.0 if x.max() > 1 else x
    if size:
        x = resize(x, size)
    return ImageSet(x, None, [name], name, source="scikit-image's LFW subset")


def lfw_faces(size: int | None = None) -> ImageSet:
    """scikit-image's LFW subset: 100 grey 25x25 face crops in [0, 1]."""
    return _lfw(0, "face", size)


def lfw_nonfaces(size: int | None = None) -> ImageSet:
    """scikit-image's LFW subset: 100 grey 25x25 background crops (no face) in [0, 1]."""
    return _lfw(100, "nonface", size)


def cat_crops(n: int = 50, size: int = 25, seed: int = 0, grey: bool = True) -> ImageSet:
    """n random square crops of scikit-image's cat photo (Chelsea), resized to size x size."""
    from skimage.data import cat

    img = torch.tensor(cat(), dtype=torch.float32).permute(2, 0, 1) / 255.0  # (3, 300, 451)
    if grey:  # ITU-R 601 luma, the same weights PIL uses for "L"
        img = (img * torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)).sum(0, keepdim=True)
    g = torch.Generator().manual_seed(seed)
    _, h, w = img.shape
    crops = []
    for _ in range(n):
        side = int(torch.randint(60, min(h, w), (1,), generator=g))
        top = int(torch.randint(0, h - side + 1, (1,), generator=g))
        left = int(torch.randint(0, w - side + 1, (1,), generator=g))
        crops.append(resize(img[None, :, top:top + side, left:left + side], size))
    return ImageSet(torch.cat(crops), None, ["cat"], "cat_crops",
                    source=f"crops of scikit-image's cat photo (seed {seed})")


# ---------------------------------------------------------------------------------------------
# real datasets on disk
# ---------------------------------------------------------------------------------------------

def mnist(split: str = "train", root=None, download: bool | None = None) -> ImageSet:
    """MNIST 28x28 digits in [0, 1]: torchvision's loader, or the shipped test set alone.

    `root` holds MNIST/raw/ (default: data/ or $AEH_DATA). With all four IDX files there (or
    AEH_DOWNLOAD=1) torchvision reads them; with only the test pair, as the repository ships,
    split="test" reads those two files after checking them against data/SHA256SUMS.
    """
    import torchvision

    if split not in ("train", "test"):
        raise ValueError(f"MNIST split is 'train' or 'test', got {split!r}")
    root = Path(root) if root else config.data_root()
    download = config.download_allowed() if download is None else download
    raw = root / "MNIST" / "raw"
    shipped = split == "test" and (raw / MNIST_TEST_FILES[0]).exists()
    if shipped:  # the test pair alone (torchvision insists on all four files): read it ourselves
        x, y = _read_mnist_test(raw)
        return ImageSet(x.float().unsqueeze(1) / 255.0, y, [str(i) for i in range(10)],
                        "mnist/test", source=f"MNIST test set{_where(raw)}")
    try:
        ds = torchvision.datasets.MNIST(root, train=(split == "train"), download=download)
    except RuntimeError:
        raise DatasetNotFoundError(
            f"MNIST ({split}) not found in {raw}. Get it with AEH_DOWNLOAD=1 (torchvision "
            f"downloads it there), or copy the four IDX files into {raw}, or point "
            f"{config.DATA_ENV} at a folder that holds MNIST/raw/. The repository ships only the "
            f"test set (data.mnist('test'), data.mnist_splits()).") from None
    return ImageSet(ds.data.float().unsqueeze(1) / 255.0, ds.targets, [str(i) for i in range(10)],
                    f"mnist/{split}", source=f"MNIST {split} set{_where(raw)}")


MNIST_TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def _read_idx_gz(path: Path, magic: int, item_shape: tuple) -> torch.Tensor:
    """Read one gzipped IDX file (LeCun's MNIST format) into a uint8 tensor, checking its header."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as err:
        raise DatasetCorruptError(f"{path} is not a readable gzip file ({err}); restore it with "
                                  f"`git checkout -- {path.name}` in its folder") from None
    head = 4 + 4 * (1 + len(item_shape))
    dims = np.frombuffer(raw[:head], dtype=">i4") if len(raw) >= head else np.array([0])
    n = int(dims[1]) if len(dims) > 1 else 0
    if dims[0] != magic or len(raw) != head + n * int(np.prod(item_shape)) or \
            tuple(dims[2:]) != item_shape:
        raise DatasetCorruptError(f"{path} does not hold MNIST data (bad IDX header or length); "
                                  f"restore it with `git checkout -- {path.name}` in its folder")
    return torch.from_numpy(np.frombuffer(raw, np.uint8, offset=head).reshape(n, *item_shape).copy())


def _read_mnist_test(raw: Path):
    for name in MNIST_TEST_FILES:
        path = raw / name
        if not path.exists():
            raise DatasetNotFoundError(f"{path} is missing; restore it with `git checkout -- data/` "
                                       f"or copy MNIST's test files into {raw}")
        verify_shipped(path)  # no-op for a file that is not one the repository ships
    x = _read_idx_gz(raw / MNIST_TEST_FILES[0], 2051, (28, 28))
    y = _read_idx_gz(raw / MNIST_TEST_FILES[1], 2049, ())
    if len(x) != len(y):
        raise DatasetCorruptError(f"{raw}: {len(x)} images but {len(y)} labels")
    return x, y


def shipped_checksums() -> dict[str, str]:
    """{path relative to data/: sha256} of every file the repository ships, from data/SHA256SUMS."""
    sums = SHIPPED_ROOT / "SHA256SUMS"
    if not sums.exists():
        raise DatasetNotFoundError(f"{sums} is missing; restore it with `git checkout -- data/`")
    pairs = (line.split("  ", 1) for line in sums.read_text().splitlines() if line.strip())
    return {rel: digest for digest, rel in pairs}


def verify_shipped(path=None) -> int:
    """Check shipped files (all, or those at or under `path`) against data/SHA256SUMS; return how many.

    A missing file raises DatasetNotFoundError, an altered one DatasetCorruptError, each naming
    the file. A `path` outside data/ or not listed there is not the repository's: nothing to check.
    """
    sums = shipped_checksums()
    if path is not None:
        try:
            rel = Path(path).resolve().relative_to(SHIPPED_ROOT.resolve()).as_posix()
        except ValueError:
            return 0
        sums = {k: v for k, v in sums.items() if k == rel or k.startswith(rel.rstrip("/") + "/")}
    for rel, digest in sums.items():
        file = SHIPPED_ROOT / rel
        if not file.exists():
            raise DatasetNotFoundError(f"shipped file {file} is missing; restore it with "
                                       f"`git checkout -- data/`")
        if hashlib.sha256(file.read_bytes()).hexdigest() != digest:
            raise DatasetCorruptError(f"shipped file {file} does not match its checksum in "
                                      f"data/SHA256SUMS (damaged or edited); restore it with "
                                      f"`git checkout -- data/`")
    return len(sums)


def mnist_splits(profile: str = "default", root=None) -> tuple[ImageSet, ImageSet, ImageSet]:
    """(train, val, test) MNIST sets for a profile: the course's one split, the same everywhere.

    default: the shipped 10,000 test images cut 8,000 / 1,000 / 1,000 with seed MNIST_SPLIT_SEED.
    smoke: the first 512 / 256 / 256 of that same split. full: torchvision's 60,000 training
    images cut 54,000 / 6,000 (seed MNIST_SPLIT_SEED) and the 10,000 test images.
    """
    if profile not in config.PROFILES:
        raise ValueError(f"profile is one of {config.PROFILES}, got {profile!r}")
    if profile == "full":
        train, val, _ = split(mnist("train", root=root), val=0.1, test=0.0, seed=MNIST_SPLIT_SEED)
        test = mnist("test", root=root)
        train.name, val.name, test.name = "mnist-train/train", "mnist-train/val", "mnist-test"
        return train, val, test
    full_test = mnist("test", root=root if root else SHIPPED_ROOT)
    n_train, n_val, n_test = MNIST_SPLIT_SIZES
    order = torch.randperm(len(full_test), generator=torch.Generator().manual_seed(MNIST_SPLIT_SEED))
    parts = (order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:][:n_test])
    if profile == "smoke":  # the same images, fewer: CI runs the default's code path
        parts = (parts[0][:512], parts[1][:256], parts[2][:256])
    return tuple(full_test.subset(p, f"mnist-test/{s}") for p, s in zip(parts, ("train", "val", "test")))


def describe(**sets: ImageSet) -> dict:
    """What a notebook trained and tested on, for metrics.json: source and size of each set."""
    sources = sorted({s.source for s in sets.values()})
    out = {"source": sources[0] if len(sources) == 1 else sources}
    out.update({name: {"name": s.name, "n": len(s), "shape": list(s.shape)} for name, s in sets.items()})
    names = [s.name for s in sets.values()]
    if any(n.startswith("mnist-test/") for n in names):
        out["split"] = (f"seeded split (seed {MNIST_SPLIT_SEED}) of MNIST's 10,000 test images, "
                        f"{'/'.join(f'{n:,}' for n in MNIST_SPLIT_SIZES)} train/val/test")
        used = [len(s) for s in sets.values() if s.name.startswith("mnist-test/")]
        if max(used) < min(MNIST_SPLIT_SIZES):  # smoke: a prefix of each part
            out["split"] += f"; this run uses the first {'/'.join(map(str, used))} of them"
    elif any(n.startswith("mnist-train/") for n in names):
        out["split"] = (f"MNIST's 60,000 training images cut 54,000/6,000 train/val (seed "
                        f"{MNIST_SPLIT_SEED}), tested on its 10,000 test images")
    else:
        out["split"] = ", ".join(f"{k} {len(s):,}" for k, s in sets.items())
    return out


def fruits360(split: str = "Training", size: int = 100, grey: bool = False, root=None,
              on_error: str = "raise", varieties="Apple*") -> ImageSet:
    """Fruits-360 images from <root>/fruits360/<split>/<variety>/ (root: data/ or $AEH_DATA).

    The repository ships 150 Training and 50 Validation images of each of the four apple
    varieties; the whole dataset, put in $AEH_DATA/fruits360/, is read the same way.
    `varieties` (glob patterns) picks the class folders; None reads every fruit.
    """
    folder = (Path(root) if root else config.data_root()) / "fruits360" / split
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"Fruits-360 not found in {folder}. The repository ships an apple subset in "
            f"data/fruits360/ (restore it with `git checkout -- data/`); for the whole dataset, "
            f"download it from https://github.com/fruits-360 (or Kaggle 'moltean/fruits') and "
            f"point {config.DATA_ENV} at the folder that holds fruits360/.")
    verify_shipped(folder)  # the shipped apples are checked; a user's own copy is not ours to check
    ds = image_folder(folder, size=size, grey=grey, on_error=on_error, name=f"fruits360/{split}",
                      classes=varieties)
    ds.source = f"Fruits-360 {split} ({', '.join(ds.classes)}){_where(folder)}"
    return ds


def cat_photos(size: int = 100, grey: bool = False, root=None,
               on_error: str = "raise") -> ImageSet:
    """The assignment's cat photos (anomalies) from <root>/anomalies/ (root: data/ or $AEH_DATA)."""
    folder = (Path(root) if root else config.data_root()) / "anomalies"
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"cat photos not found in {folder}. Put a few photos of cats (any size) there, or "
            f"point {config.DATA_ENV} at a folder that holds anomalies/.")
    return image_folder(folder, size=size, grey=grey, on_error=on_error, name="cats")
