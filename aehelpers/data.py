"""Datasets with one call, seeded splits and fast in-memory batches.

    train, val, test = data.mnist_splits(cfg.profile)   # the course's one MNIST split, offline
    train_loader, val_loader = data.loaders(train, val, batch_size=64, seed=0)
    apples = data.fruits360("Training", size=48)         # the shipped Fruits-360 apples

Every loader returns an `ImageSet`: images as a float tensor (N, C, H, W) in [0, 1], integer labels
and class names. What ships in the repository's `data/` (the MNIST test set, 800 Fruits-360 apples;
see data/README.md) is checked against `data/SHA256SUMS` before it is used. Faces and the cat photo
come from scikit-image. Full datasets (MNIST's 60,000, the whole Fruits-360, your own folder) are
read with torchvision's loaders from `data/` or $AEH_DATA; when one is missing,
`DatasetNotFoundError` says where it looked and how to get it.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from . import config

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                    ".pgm")


SHIPPED_ROOT = config.REPO_ROOT / "data"  # what the repository ships: MNIST test set, apples
MNIST_SPLIT_SEED = 0  # the one split of the shipped 10,000 MNIST images that every notebook uses
MNIST_SPLIT_SIZES = (8000, 1000, 1000)  # train / val / test of that split


class DatasetNotFoundError(FileNotFoundError):
    """A named dataset is not on disk; the message says where we looked and how to get it."""


class DatasetCorruptError(ValueError):
    """A dataset file is on disk but damaged or altered; the message names it and how to restore it."""


# ---------------------------------------------------------------------------------------------
# containers
# ---------------------------------------------------------------------------------------------

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


def resize(x: torch.Tensor, size) -> torch.Tensor:
    """Resize a batch (N, C, H, W) to `size` (int or (H, W)) with antialiased bilinear filtering."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", antialias=True,
                         align_corners=False).clamp(0, 1)


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


def _where(folder: Path) -> str:
    """' (shipped in data/)' for the repository's own files, else '' (no private paths in reports)."""
    try:
        Path(folder).resolve().relative_to(SHIPPED_ROOT.resolve())
        return " (shipped in data/)"
    except ValueError:
        return ""


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


def _to_array(img: Image.Image, grey: bool) -> np.ndarray:
    """Decode any PIL mode (16-bit, palette, RGBA, CMYK, ...) to float32 HxWxC in [0, 1]."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16/32-bit grey: scale by the range
        a = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(a / top, 0, 1)[..., None]
        return a if grey else np.repeat(a, 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")  # transparent pixels become white, like Fruits-360's background
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba)
    img = img.convert("L" if grey else "RGB")
    a = np.asarray(img, dtype=np.float32) / 255.0
    return a[..., None] if grey else a


def _shrink(img: Image.Image, size) -> Image.Image:
    """Box-reduce an image far larger than `size` in PIL's 8-bit form, before the float copy."""
    h, w = (size, size) if isinstance(size, int) else size
    factor = min(img.height // (2 * h), img.width // (2 * w))  # stay >= 2x the target
    # a 6000x6000 photo as float32 is 430 MB; reduce() first keeps it small and fast
    if factor >= 2 and img.mode in ("L", "RGB", "RGBA", "LA", "I", "F", "CMYK"):
        img = img.reduce(factor)  # palette and 16-bit modes cannot be averaged: left as they are
    return img


def _load_image(path: Path, grey: bool, size):
    with Image.open(path) as img:
        if size:  # JPEG decodes at 1/2, 1/4 or 1/8 scale for free when that is still >= 2x size
            h, w = (size, size) if isinstance(size, int) else size
            img.draft(img.mode, (2 * w, 2 * h))
        img.load()  # decode now, so a truncated file fails here with its name
        a = _to_array(_shrink(img, size) if size else img, grey)
    x = torch.from_numpy(a).permute(2, 0, 1).contiguous()
    return resize(x[None], size)[0] if size else x


def image_folder(root, size=None, grey: bool = False, on_error: str = "raise",
                 name: str | None = None, classes=None) -> ImageSet:
    """Load a folder of class subfolders (or of images alone, one class) into an ImageSet.

    Images of any size and mode are converted to grey or RGB and resized to `size` (int or (H, W)).
    A file that cannot be read is reported by name: `on_error="raise"` stops at once,
    `on_error="skip"` leaves it out, warns, and lists it in `ImageSet.skipped`.
    `classes` (glob patterns such as "Apple*", any case) keeps only the class subfolders that match.
    """
    import fnmatch

    from torchvision.datasets.folder import make_dataset

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error is 'raise' or 'skip', got {on_error!r}")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"image folder {root} does not exist. Create it with one subfolder per class "
            f"(e.g. {root}/normal/*.png) or a flat folder of images.")
    subdirs = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if classes is not None:
        patterns = [classes] if isinstance(classes, str) else list(classes)
        kept = [d for d in subdirs if any(fnmatch.fnmatch(d.lower(), p.lower()) for p in patterns)]
        if not kept:
            raise DatasetNotFoundError(f"image folder {root}: no class subfolder matches {patterns} "
                                       f"(it has {subdirs[:6]})")
        subdirs = kept
    visible = lambda p: not Path(p).name.startswith(".")  # .DS_Store, ._files, checkpoints
    if subdirs:
        classes = subdirs
        samples = make_dataset(str(root), {c: i for i, c in enumerate(classes)},
                               is_valid_file=visible, allow_empty=True)
    else:
        classes = [root.name]
        samples = [(str(p), 0) for p in sorted(root.iterdir()) if p.is_file() and visible(p)]
    if not samples:
        raise DatasetNotFoundError(
            f"image folder {root} holds no files. Put images ({', '.join(IMAGE_EXTENSIONS[:4])}, "
            f"...) in it, directly or in one subfolder per class.")
    images, labels, skipped = [], [], []
    for path, label in samples:
        try:
            images.append(_load_image(Path(path), grey, size))
            labels.append(label)
        except Exception as err:  # PIL raises many types; each is reported with the file name
            reason = _describe_error(path, err)
            if on_error == "raise":
                raise ValueError(f"{reason}. Remove or fix the file, or pass "
                                 f"on_error='skip'.") from err
            skipped.append((path, reason))
    if skipped:
        warnings.warn(f"image_folder({root}): skipped {len(skipped)} file(s): "
                      + "; ".join(r for _, r in skipped[:5]), stacklevel=2)
    if not images:
        raise DatasetNotFoundError(
            f"image folder {root}: none of {len(samples)} files could be read: "
            + "; ".join(r for _, r in skipped[:3]) + ". Put readable images in it.")
    shapes = {tuple(t.shape) for t in images}
    if len(shapes) > 1:
        raise ValueError(f"image folder {root}: images have different sizes {sorted(shapes)[:4]}; "
                         f"pass size=(H, W) to resize them all")
    return ImageSet(torch.stack(images), torch.tensor(labels), classes, name or root.name, skipped,
                    source=f"image folder {root.name}{_where(root)}")


def _describe_error(path, err: Exception) -> str:
    p = Path(path)
    if isinstance(err, PermissionError):
        return f"{path} cannot be read (permission denied; fix it with chmod +r)"
    if isinstance(err, Image.DecompressionBombError):
        return (f"{path} is larger than PIL's decompression-bomb limit ({err}); if you trust it, "
                f"raise PIL.Image.MAX_IMAGE_PIXELS or shrink the file")
    if p.suffix.lower() not in IMAGE_EXTENSIONS:
        return f"{path} is not an image file ({type(err).__name__}: {err})"
    if p.is_file() and p.stat().st_size == 0:
        return f"{path} is empty (0 bytes)"
    return f"{path} could not be decoded ({type(err).__name__}: {err})"


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
