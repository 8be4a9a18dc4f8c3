"""Speed tables 1 and 2: what train.fit costs over a hand-written loop (and Lightning), and what
the data path costs (tensors in memory vs a DataLoader that converts one image per item).

    rows = speed.loop_overhead(quick=True)     # images/s and ratio to the hand-written loop
    rows = speed.data_path(quick=True)         # images/s of one pass and ratio to TensorLoader

Every contender trains the same model (models.ConvAE, latent 2, on 28x28 MNIST digits) from the same
initial weights on the same batches, on CPU; the contenders are interleaved and the median of
several rounds is taken (common.median_times).
"""

from __future__ import annotations

import logging
import warnings

import common
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import functional as TF

from aehelpers import data, losses, models, train

# ---------------------------------------------------------------------------------------------
# table 1: the training loop
# ---------------------------------------------------------------------------------------------


def fresh_model() -> torch.nn.Module:
    """The benchmark model, with the same initial weights every call."""
    torch.manual_seed(0)
    return models.ConvAE(in_shape=(1, 28, 28), latent_dim=2)


def hand_loop(model, train_loader, num_epochs: int):
    """The minimal PyTorch loop (as pytorch/examples vae/main.py): forward, loss, backward, step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(num_epochs):
        train_loss = 0.0
        for x, _ in train_loader:
            x_hat = model(x)
            loss = losses.bce(x_hat, x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            train_loss += loss.item() * len(x)  # the running loss every such loop prints
    return train_loss


def fit_loop(model, train_loader, num_epochs: int):
    """aehelpers.train.fit with its progress bar off (a bar is a terminal cost, not the loop's)."""
    return train.fit(model, train_loader, loss=losses.bce, num_epochs=num_epochs, device="cpu",
                     progress=False)


def lightning_available() -> str | None:
    """The installed Lightning version, or None (it is an optional extra: pip install .[bench])."""
    try:
        import lightning
    except ImportError:
        return None
    return lightning.__version__


def lightning_loop(model, train_loader, num_epochs: int):
    """A lightning.Trainer with logging, checkpoints, progress bar and summary off (its leanest)."""
    import lightning as L

    class Module(L.LightningModule):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def training_step(self, batch, batch_idx):
            x = batch[0]
            return losses.bce(self.net(x), x)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    trainer = L.Trainer(max_epochs=num_epochs, accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(Module(model), train_dataloaders=train_loader)


def quiet_lightning():
    """Silence Lightning's start-up banners and advice, which would flood the tables."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def loop_overhead(quick: bool) -> dict:
    """Images/s of fit, a hand-written loop and Lightning: same model, data, epochs (CPU)."""
    ds = data.mnist_splits("default")[0].subset(torch.arange(512 if quick else 2048))  # shipped MNIST
    batch_size, num_epochs = 64, (1 if quick else 2)
    repeats = 3 if quick else 4
    train_loader = data.TensorLoader(ds, batch_size=batch_size, shuffle=True, seed=0)
    contenders = {
        "hand-written loop": lambda: hand_loop(fresh_model(), train_loader, num_epochs),
        "aehelpers.train.fit": lambda: fit_loop(fresh_model(), train_loader, num_epochs),
    }
    version = lightning_available()
    if version:
        quiet_lightning()
        contenders[f"lightning.Trainer {version}"] = (
            lambda: lightning_loop(fresh_model(), train_loader, num_epochs))
    seconds = common.median_times(contenders, repeats=repeats, warmup=1)
    images = len(ds) * num_epochs
    base = seconds["hand-written loop"]
    overhead = per_batch_overhead(contenders, version, 50 if quick else 200, repeats)
    rows = [{"loop": name, "seconds": s, "images/s": images / s, "ratio": base / s,
             "overhead per batch (us)": overhead[name]} for name, s in seconds.items()]
    if not version:
        rows.append({"loop": "lightning.Trainer", "seconds": "not installed",
                     "images/s": "-", "ratio": "-"})
    return {"rows": rows, "images": images, "num_epochs": num_epochs, "batch_size": batch_size,
            "repeats": repeats,
            "dataset": f"MNIST (shipped test set, the course split's train part), {len(ds)} images",
            "lightning": version or "not installed"}


def tiny_model() -> torch.nn.Module:
    """A model so small that a step costs almost nothing: what is left is the loop's own cost."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 16), torch.nn.Sigmoid(),
                               torch.nn.Unflatten(1, (1, 4, 4)))


def per_batch_overhead(contenders: dict, lightning_version, n_batches: int, repeats: int) -> dict:
    """Microseconds per batch each loop adds to the hand-written one, on a 4x4 one-layer model."""
    tiny = data.ImageSet(torch.rand(64 * n_batches, 1, 4, 4))
    loader = data.TensorLoader(tiny, batch_size=64)
    loops = {"hand-written loop": hand_loop, "aehelpers.train.fit": fit_loop}
    if lightning_version:
        loops[f"lightning.Trainer {lightning_version}"] = lightning_loop
    seconds = common.median_times({name: (lambda f=f: f(tiny_model(), loader, 1))
                                   for name, f in loops.items()}, repeats=repeats, warmup=1)
    base = seconds["hand-written loop"]
    return {name: (s - base) / n_batches * 1e6 for name, s in seconds.items()}


# ---------------------------------------------------------------------------------------------
# table 2: the data path
# ---------------------------------------------------------------------------------------------


class PerItemDataset(Dataset):
    """uint8 images converted one per item, as torchvision.datasets.MNIST does (PIL, to_tensor)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = Image.fromarray(self.images[i], mode="L")
        return TF.to_tensor(img), int(self.labels[i])


def one_pass(loader, device):
    """Iterate over every batch once, moving it to the device; return the image count."""
    n = 0
    for x, _ in loader:
        x = x.to(device, non_blocking=True)
        n += len(x)
    return n


def data_path(quick: bool, device: torch.device | None = None) -> dict:
    """Images/s of one pass: TensorLoader (data on the device) vs DataLoader over PerItemDataset."""
    device = device or torch.device("cpu")
    n, batch_size = (2_000 if quick else 10_000), 128
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)  # MNIST-sized
    labels = rng.integers(0, 10, size=n)
    x = torch.from_numpy(images).float().unsqueeze(1) / 255.0
    resident = data.ImageSet(x, torch.from_numpy(labels))
    tensor_loader = data.TensorLoader(resident, batch_size, shuffle=True, device=device)
    per_item = PerItemDataset(images, labels)
    pin = device.type == "cuda"
    contenders = {
        "TensorLoader (in memory)": lambda: one_pass(tensor_loader, device),
        "DataLoader, per item, 0 workers": lambda: one_pass(
            DataLoader(per_item, batch_size, shuffle=True, pin_memory=pin), device),
        "DataLoader, per item, 2 workers": lambda: one_pass(
            DataLoader(per_item, batch_size, shuffle=True, num_workers=2, pin_memory=pin), device),
    }
    seconds = common.median_times(contenders, repeats=3 if quick else 5, warmup=1)
    base = seconds["TensorLoader (in memory)"]
    rows = [{"loader": name, "device": device.type, "images/s": n / s, "ratio": base / s,
             "speed-up of TensorLoader": s / base} for name, s in seconds.items()]
    return {"rows": rows, "images": n, "batch_size": batch_size}
