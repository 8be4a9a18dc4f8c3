"""Your own images: a folder of class subfolders (or of images alone) read into an ImageSet.

    ds = folders.image_folder("my_images/", size=48, grey=True, on_error="skip")

Any size and PIL mode (16-bit, palette, RGBA, CMYK...) is converted to grey or RGB in [0, 1] and
resized; a file that cannot be read is named in the error (or skipped and listed). Photos far
larger than the target are reduced before they become floats. `data.image_folder` is this
function; `data.fruits360` and `data.cat_photos` read their folders through it.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import config
from .sets import DatasetNotFoundError, ImageSet, resize

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                    ".pgm")
SHIPPED_ROOT = config.REPO_ROOT / "data"  # what the repository ships: MNIST test set, apples


def _where(folder: Path) -> str:
    """' (shipped in data/)' for the repository's own files, else '' (no private paths in reports)."""
    try:
        Path(folder).resolve().relative_to(SHIPPED_ROOT.resolve())
        return " (shipped in data/)"
    except ValueError:
        return ""


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
