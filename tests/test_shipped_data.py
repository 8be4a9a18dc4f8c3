"""The data that ships in data/: checksums, offline loading, the one MNIST split, clear errors."""

import gzip
import hashlib
import re
import shutil
import socket

import pytest
import torch

from aehelpers import data, losses

SHIPPED = data.SHIPPED_ROOT


def test_every_shipped_file_matches_its_checksum():
    sums = data.shipped_checksums()
    assert len(sums) == 802  # 2 MNIST files + 4 varieties x (150 + 50) apples
    for rel, digest in sums.items():
        assert hashlib.sha256((SHIPPED / rel).read_bytes()).hexdigest() == digest, rel
    assert data.verify_shipped() == 802


def test_shipped_files_are_listed_and_small():
    files = [p for p in SHIPPED.rglob("*") if p.is_file()]
    listed = {SHIPPED / rel for rel in data.shipped_checksums()}
    extra = {p for p in files if p.name not in ("README.md", "SHA256SUMS")} - listed
    assert not extra, f"files in data/ that SHA256SUMS does not list: {sorted(extra)[:3]}"
    assert sum(p.stat().st_size for p in listed) < 5_000_000


def test_readme_states_the_checksums_it_ships():
    readme = (SHIPPED / "README.md").read_text()
    sums_digest = hashlib.sha256((SHIPPED / "SHA256SUMS").read_bytes()).hexdigest()
    assert sums_digest in readme
    for name in data.MNIST_TEST_FILES:  # torchvision's MD5s, which users check against
        md5 = hashlib.md5((SHIPPED / "MNIST" / "raw" / name).read_bytes()).hexdigest()
        assert md5 in readme
    assert {"9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"} <= set(
        re.findall(r"[0-9a-f]{32}", readme))
    for credit in ("LeCun", "CC BY-SA 3.0", "Fruits-360", "CC BY-SA 4.0"):
        assert credit in readme


def test_mnist_test_set_loads_without_a_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("data.mnist tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    ds = data.mnist("test", root=SHIPPED, download=False)
    assert ds.x.shape == (10000, 1, 28, 28) and ds.x.dtype == torch.float32
    assert 0 <= ds.x.min() and ds.x.max() == 1
    assert torch.bincount(ds.y).tolist()[:3] == [980, 1135, 1032]  # MNIST's known test counts
    assert ds.source == "MNIST test set (shipped in data/)"


def test_mnist_splits_are_one_fixed_split_and_smoke_is_its_prefix():
    train, val, test = data.mnist_splits("default")
    assert (len(train), len(val), len(test)) == data.MNIST_SPLIT_SIZES
    again = data.mnist_splits("default")
    assert torch.equal(train.x, again[0].x) and torch.equal(test.y, again[2].y)
    everything = torch.cat([train.x, val.x, test.x]).flatten(1)
    assert len(torch.unique(everything, dim=0)) > 9990  # disjoint (MNIST has a few duplicates)
    smoke = data.mnist_splits("smoke")
    assert [len(s) for s in smoke] == [512, 256, 256]
    assert torch.equal(smoke[0].x, train.x[:512]) and torch.equal(smoke[2].x, test.x[:256])
    with pytest.raises(ValueError, match="profile is one of"):
        data.mnist_splits("fast")


def test_describe_names_source_split_and_sizes():
    train, val, test = data.mnist_splits("smoke")
    d = data.describe(train=train, val=val, test=test)
    assert d["source"] == "MNIST test set (shipped in data/)"
    assert d["train"] == {"name": "mnist-test/train", "n": 512, "shape": [1, 28, 28]}
    assert "seed 0" in d["split"] and "8,000/1,000/1,000" in d["split"]
    apples = data.fruits360("Validation", size=8)
    d = data.describe(normal=apples, cats=data.cat_crops(n=2, size=8))
    assert len(d["source"]) == 2 and d["split"] == "normal 200, cats 2"


def test_shipped_apples_load_through_the_folder_loader():
    train = data.fruits360("Training", size=16)
    val = data.fruits360("Validation", size=16, grey=True)
    assert train.x.shape == (600, 3, 16, 16) and val.x.shape == (200, 1, 16, 16)
    assert train.classes == ["Apple Braeburn", "Apple Golden 1", "Apple Granny Smith", "Apple Red 1"]
    assert torch.bincount(train.y).tolist() == [150] * 4
    assert train.source.endswith("(shipped in data/)")


def copy_of_shipped(tmp_path):
    """A writable copy of data/ whose files keep their checksums' relative paths."""
    root = tmp_path / "data"
    shutil.copytree(SHIPPED / "MNIST", root / "MNIST")
    shutil.copy(SHIPPED / "SHA256SUMS", root / "SHA256SUMS")
    return root


def test_missing_shipped_mnist_file_is_named(tmp_path, monkeypatch):
    root = copy_of_shipped(tmp_path)
    (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(data, "SHIPPED_ROOT", root)
    with pytest.raises(data.DatasetNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        data.mnist_splits("smoke")


def test_altered_shipped_file_fails_its_checksum_by_name(tmp_path, monkeypatch):
    root = copy_of_shipped(tmp_path)
    images = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-100])  # truncated, as an interrupted copy leaves it
    monkeypatch.setattr(data, "SHIPPED_ROOT", root)
    with pytest.raises(data.DatasetCorruptError,
                       match=r"t10k-images-idx3-ubyte.gz does not match its checksum.*git checkout"):
        data.mnist("test", root=root)


def test_corrupt_idx_file_outside_data_is_refused_by_name(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    shutil.copy(SHIPPED / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz", raw)
    with pytest.raises(data.DatasetCorruptError, match="t10k-images-idx3-ubyte.gz is not a readable gzip"):
        data.mnist("test", root=tmp_path)
    (raw / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 40))
    with pytest.raises(data.DatasetCorruptError, match="does not hold MNIST data"):
        data.mnist("test", root=tmp_path)


def test_bernoulli_entropy_is_the_floor_of_bce():
    x = torch.rand(4, 1, 5, 5)
    floor = losses.bernoulli_entropy(x)
    assert floor.shape == (4,)
    assert torch.allclose(floor.mean(), losses.bce(x.clamp(1e-6, 1 - 1e-6), x), rtol=1e-3)
    x_hat = (x + 0.2 * torch.randn_like(x)).clamp(0.01, 0.99)
    assert losses.bce(x_hat, x) > floor.mean()  # any other prediction pays more
    binary = (x > 0.5).float()
    assert losses.bernoulli_entropy(binary).abs().max() == 0
    half = torch.full((1, 1, 2, 2), 0.5)
    assert torch.allclose(losses.bernoulli_entropy(half), torch.tensor([4 * 0.6931472]))


def test_describe_names_the_full_profile_split():
    x = torch.zeros(3, 1, 28, 28)
    train = data.ImageSet(x, name="mnist-train/train")
    d = data.describe(train=train, test=data.ImageSet(x, name="mnist-test"))
    assert "60,000 training images" in d["split"]
