"""data: containers, splits, loaders, and a fuzz of bad image folders and missing datasets.

Every bad input is either loaded with the right values or reported by file name; on_error
chooses between stopping ("raise") and going on ("skip", listed in ImageSet.skipped).
"""

import math
import os
import re

import numpy as np
import pytest
import torch
from PIL import Image

from aehelpers import data, folders

# ---------------------------------------------------------------------------------------------
# containers, splits, loaders
# ---------------------------------------------------------------------------------------------


def test_imageset_checks_its_shape_and_subsets():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        data.ImageSet(torch.zeros(3, 8, 8))
    ds = data.ImageSet(torch.rand(10, 1, 8, 8), torch.arange(10))
    assert ds.shape == (1, 8, 8) and len(ds) == 10
    assert ds.subset([2, 5]).y.tolist() == [2, 5]
    with pytest.raises(ValueError, match=r"uint8 \(0-255\); pass x.float\(\) / 255"):
        data.ImageSet(torch.zeros(2, 1, 4, 4, dtype=torch.uint8))


def test_split_is_seeded_and_disjoint():
    ds = data.ImageSet(torch.rand(50, 1, 4, 4), torch.arange(50))
    a = data.split(ds, val=0.2, test=0.1, seed=3)
    b = data.split(ds, val=0.2, test=0.1, seed=3)
    assert [len(p) for p in a] == [35, 10, 5]
    assert all(torch.equal(p.y, q.y) for p, q in zip(a, b))
    assert sorted(torch.cat([p.y for p in a]).tolist()) == list(range(50))
    with pytest.raises(ValueError, match="val \\+ test < 1"):
        data.split(ds, val=0.6, test=0.5)


def test_loader_batches_cover_every_sample_with_an_uneven_last_batch():
    ds = data.ImageSet(torch.arange(10.0).view(10, 1, 1, 1), torch.arange(10))
    loader = data.TensorLoader(ds, batch_size=4, shuffle=True, seed=0)
    sizes = [len(x) for x, _ in loader]
    assert sizes == [4, 4, 2] and len(loader) == 3
    first, second = [y.tolist() for _, y in loader], [y.tolist() for _, y in loader]
    assert first != second  # a new order each epoch...
    again = data.TensorLoader(ds, batch_size=4, shuffle=True, seed=0)
    assert [y.tolist() for _, y in again] == [y.tolist() for _, y in
                                              data.TensorLoader(ds, 4, True, seed=0)]  # ...seeded


# ---------------------------------------------------------------------------------------------
# image_folder fuzz: writing the bad files
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def folder(tmp_path):
    """An empty folder of its own (tmp_path also holds the test's media/ folder)."""
    path = tmp_path / "images"
    path.mkdir()
    return path


def save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array), mode).save(path) if mode else \
        Image.fromarray(np.asarray(array)).save(path)
    return path


def truncated(path, fmt):
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path, fmt)
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    return path


BAD_FILES = {  # name -> (writer, words the report must contain)
    "zero.png": (lambda p: p.write_bytes(b""), "is empty (0 bytes)"),
    "cut.png": (lambda p: truncated(p, "PNG"), "could not be decoded"),
    "cut.jpg": (lambda p: truncated(p, "JPEG"), "could not be decoded"),
    "notes.txt": (lambda p: p.write_text("not a picture"), "is not an image file"),
    "fake.png": (lambda p: p.write_text("text with an image name"), "could not be decoded"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_raises_naming_the_file_and_the_fix(folder, name):
    write, words = BAD_FILES[name]
    save(folder / "good.png", np.full((8, 8), 255, np.uint8))
    write(folder / name)
    with pytest.raises(ValueError, match=rf"{name} {re.escape(words)}.*on_error='skip'"):
        data.image_folder(folder)


def test_skip_loads_the_good_files_and_lists_every_bad_one(folder):
    save(folder / "a" / "good.png", np.full((8, 8), 255, np.uint8))
    save(folder / "b" / "good.png", np.zeros((8, 8), np.uint8))
    for name, (write, _) in BAD_FILES.items():
        write(folder / "b" / name)
    with pytest.warns(UserWarning, match=f"skipped {len(BAD_FILES)} file"):
        ds = data.image_folder(folder, grey=True, on_error="skip")
    assert ds.classes == ["a", "b"] and ds.y.tolist() == [0, 1]
    assert ds.x[:, 0, 0, 0].tolist() == [1.0, 0.0]
    skipped = {os.path.basename(p): reason for p, reason in ds.skipped}
    assert set(skipped) == set(BAD_FILES)
    for name, (_, words) in BAD_FILES.items():
        assert words in skipped[name]


def test_only_bad_files_is_an_error_that_gives_the_reasons(folder):
    BAD_FILES["zero.png"][0](folder / "zero.png")
    with pytest.warns(UserWarning), pytest.raises(data.DatasetNotFoundError,
                                                  match="none of 1 files.*zero.png is empty"):
        data.image_folder(folder, on_error="skip")


def test_empty_missing_and_hidden_only_folders(folder):
    with pytest.raises(data.DatasetNotFoundError, match="holds no files. Put images"):
        data.image_folder(folder)
    (folder / "cats").mkdir()  # a class folder with nothing in it
    (folder / ".DS_Store").write_bytes(b"\0\0")  # hidden files are not images
    with pytest.raises(data.DatasetNotFoundError, match="holds no files"):
        data.image_folder(folder)
    with pytest.raises(data.DatasetNotFoundError, match="does not exist. Create it"):
        data.image_folder(folder / "nope")
    with pytest.raises(ValueError, match="on_error is 'raise' or 'skip'"):
        data.image_folder(folder, on_error="ignore")


def test_different_sizes_need_size(folder):
    save(folder / "a.png", np.zeros((8, 8), np.uint8))
    save(folder / "b.png", np.zeros((9, 7), np.uint8))
    with pytest.raises(ValueError, match=r"different sizes.*pass size=\(H, W\)"):
        data.image_folder(folder)
    assert data.image_folder(folder, size=(6, 5)).x.shape == (2, 3, 6, 5)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads files whatever their permissions")
def test_unreadable_file_is_reported(folder):
    save(folder / "good.png", np.zeros((4, 4), np.uint8))
    locked = save(folder / "locked.png", np.zeros((4, 4), np.uint8))
    locked.chmod(0)
    try:
        with pytest.raises(ValueError, match="locked.png cannot be read .permission denied"):
            data.image_folder(folder)
        with pytest.warns(UserWarning):
            assert len(data.image_folder(folder, on_error="skip")) == 1
    finally:
        locked.chmod(0o644)


def test_permission_error_message_without_needing_a_non_root_user():
    reason = folders._describe_error("/x/locked.png", PermissionError(13, "denied"))
    assert reason == "/x/locked.png cannot be read (permission denied; fix it with chmod +r)"


# ---------------------------------------------------------------------------------------------
# image_folder fuzz: odd but valid images load with the right values
# ---------------------------------------------------------------------------------------------

def load_one(folder, **kwargs):
    return data.image_folder(folder, **kwargs).x[0]


def test_one_pixel_image(folder):
    save(folder / "dot.png", np.full((1, 1), 128, np.uint8))
    assert load_one(folder).shape == (3, 1, 1)
    x = load_one(folder, size=8, grey=True)
    assert x.shape == (1, 8, 8)
    assert torch.allclose(x, torch.full_like(x, 128 / 255))


def test_16_bit_png_is_scaled_by_65535(folder):
    values = np.array([[65535, 32768], [1000, 0]], np.uint16)
    save(folder / "deep.png", values)
    x = load_one(folder, grey=True)
    assert x.shape == (1, 2, 2)
    assert torch.allclose(x[0], torch.tensor(values / 65535.0, dtype=torch.float32))
    assert x.max() == 1.0
    assert torch.equal(load_one(folder, grey=False), x.expand(3, 2, 2))


def test_palette_images_with_and_without_transparency(folder):
    img = Image.new("P", (2, 1))
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)  # 0 = red, 1 = blue
    img.putpixel((1, 0), 1)
    img.save(folder / "a.png")
    x = load_one(folder)
    assert x[:, 0, 0].tolist() == [1.0, 0.0, 0.0] and x[:, 0, 1].tolist() == [0.0, 0.0, 1.0]
    img.save(folder / "a.png", transparency=0)  # red becomes see-through => white
    x = load_one(folder)
    assert x[:, 0, 0].tolist() == [1.0, 1.0, 1.0] and x[:, 0, 1].tolist() == [0.0, 0.0, 1.0]


def test_rgba_and_la_transparency_becomes_white(folder):
    rgba = np.array([[[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 0, 128]]], np.uint8)
    save(folder / "a.png", rgba, "RGBA")
    x = load_one(folder)
    assert x[:, 0, 0].tolist() == [1.0, 1.0, 1.0]  # transparent black => white
    assert x[:, 0, 1].tolist() == [1.0, 0.0, 0.0]  # opaque red stays red
    assert torch.allclose(x[:, 0, 2], torch.full((3,), 127 / 255), atol=1 / 255)  # half
    save(folder / "a.png", np.array([[[0, 0], [0, 255]]], np.uint8), "LA")
    assert load_one(folder, grey=True)[0, 0].tolist() == [1.0, 0.0]


def test_huge_image_is_reduced_before_it_becomes_floats(folder, monkeypatch):
    side = 3000  # 9 Mpixel: 108 MB as float32 RGB if it were converted before resizing
    Image.new("L", (side, side), 51).save(folder / "big.png", compress_level=1)
    arrays = []
    real_to_array = folders._to_array
    monkeypatch.setattr(folders, "_to_array", lambda img, grey: arrays.append(img.size)
                        or real_to_array(img, grey))
    x = load_one(folder, size=16, grey=True)
    assert x.shape == (1, 16, 16) and torch.allclose(x, torch.full_like(x, 0.2))
    assert arrays and max(arrays[0]) <= 4 * 16  # PIL shrank it (reduce) before the float copy


def test_decompression_bomb_limit(folder, monkeypatch):
    save(folder / "bomb.png", np.zeros((20, 20), np.uint8))  # 400 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # over the limit: PIL only warns
    with pytest.warns(Image.DecompressionBombWarning):
        assert load_one(folder).shape == (3, 20, 20)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # over twice the limit: PIL refuses
    with pytest.raises(ValueError, match="bomb.png is larger than PIL's decompression-bomb"):
        data.image_folder(folder)


# ---------------------------------------------------------------------------------------------
# named loaders
# ---------------------------------------------------------------------------------------------

def test_missing_real_datasets_say_where_and_how(folder):
    with pytest.raises(data.DatasetNotFoundError, match=r"MNIST \(train\) not found .*DOWNLOAD=1"):
        data.mnist(root=folder, download=False)
    with pytest.raises(data.DatasetNotFoundError, match="Fruits-360 not found in .*fruits360"):
        data.fruits360(root=folder)
    with pytest.raises(data.DatasetNotFoundError, match="cat photos not found"):
        data.cat_photos(root=folder)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.mnist("validation", root=folder)


def test_named_folder_loader_passes_on_error(folder):
    save(folder / "fruits360" / "Training" / "apple" / "a.png", np.zeros((4, 4, 3), np.uint8))
    (folder / "fruits360" / "Training" / "apple" / "b.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="b.jpg is empty"):
        data.fruits360(root=folder, size=4)
    with pytest.warns(UserWarning):
        ds = data.fruits360(root=folder, size=4, on_error="skip")
    assert len(ds) == 1 and ds.classes == ["apple"] and len(ds.skipped) == 1


def test_real_cat_photos(shared_data):
    ds = data.cat_photos(size=32, root=shared_data)
    assert ds.x.shape[1:] == (3, 32, 32) and not ds.skipped
    assert 0 <= ds.x.min() and ds.x.max() <= 1 and math.isfinite(float(ds.x.sum()))


def test_first_of_finds_the_first_image_of_a_label_and_names_a_missing_one():
    ds = data.ImageSet(torch.zeros(4, 1, 4, 4), torch.tensor([3, 1, 1, 3]), name="tiny")
    assert ds.first_of(1) == 1 and ds.first_of(3) == 0
    with pytest.raises(ValueError, match="tiny has no image with label 7"):
        ds.first_of(7)


def test_stretch_scales_each_image_to_a_maximum_of_one_and_leaves_empty_ones():
    x = torch.stack([torch.full((1, 4, 4), 0.25), torch.zeros(1, 4, 4)])
    x[0, 0, 1, 1] = 0.5
    out = data.stretch(x)
    assert out[0].max() == 1.0 and out[0, 0, 0, 0] == 0.5 and torch.equal(out[1], x[1])
