"""Speed tables 1 and 2: what train.fit costs over a hand-written loop (and Lightning), and what
the data path costs (TensorLoader vs a DataLoader over the same tensors, and vs per-item conversion).

    rows = speed.loop_overhead(quick=True)     # images/s and ratio to the hand-written loop
    rows = speed.data_path(quick=True)         # images/s of one pass and speed-up of TensorLoader

Table 1: every contender trains the same model (models.ConvAE, latent 2, on 28x28 MNIST digits)
from the same initial weights on the same batches, on CPU. Table 2: every contender makes one pass
over the same images in batches of the same size and moves each batch to the device; loaders are
built before the clock starts. In both, the contenders run interleaved over several rounds
(common.interleaved_times) and every ratio is the median of the per-round ratios, with its range
over the rounds (common.compare, common.Spread: "median (min-max)").
"""

from __future__ import annotations

import common
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, TensorDataset
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
    """A lightning.Trainer with logging, checkpoints, progress bar and summary off (its leanest),
    on the step fit takes (aehelpers.lit, as notebook 01 trains it)."""
    from aehelpers import lit

    module = lit.StepModule(model, train.reconstruction_step(losses.bce), lr=1e-3)
    lit.quiet_trainer(num_epochs, accelerator="cpu").fit(module, train_dataloaders=train_loader)


def loop_overhead(quick: bool) -> dict:
    """Images/s of fit, a hand-written loop and Lightning: same model, data, epochs (CPU)."""
    ds = data.mnist_splits("default")[0].subset(torch.arange(512 if quick else 2048))  # shipped MNIST
    batch_size, num_epochs = 64, (1 if quick else 2)
    repeats = 3 if quick else 5
    train_loader = data.TensorLoader(ds, batch_size=batch_size, shuffle=True, seed=0)
    contenders = {
        "hand-written loop": lambda: hand_loop(fresh_model(), train_loader, num_epochs),
        "aehelpers.train.fit": lambda: fit_loop(fresh_model(), train_loader, num_epochs),
    }
    version = lightning_available()
    if version:
        contenders[f"lightning.Trainer {version}"] = (
            lambda: lightning_loop(fresh_model(), train_loader, num_epochs))
    images = len(ds) * num_epochs
    rounds = common.interleaved_times(contenders, repeats=repeats, warmup=1)
    stats = common.compare(rounds, base="hand-written loop", work=images)
    overhead = per_batch_overhead(version, 50 if quick else 200, repeats)
    rows = [{"loop": name, "seconds": float(st["seconds"]), "images/s": images / st["seconds"],
             "ratio": st["ratio"], "overhead per batch (us)": overhead[name],
             "seconds_rounds": st["seconds"].values, "ratio_range": st["ratio"].as_dict(),
             "overhead_range_us": overhead[name].as_dict()}
            for name, st in stats.items()]
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


def per_batch_overhead(lightning_version, n_batches: int, repeats: int) -> dict:
    """Microseconds per batch each loop adds to the hand-written one, on a 4x4 one-layer model.

    Per round: (loop's seconds - hand-written loop's seconds) / batches; a Spread over rounds.
    """
    tiny = data.ImageSet(torch.rand(64 * n_batches, 1, 4, 4))
    loader = data.TensorLoader(tiny, batch_size=64)
    loops = {"hand-written loop": hand_loop, "aehelpers.train.fit": fit_loop}
    if lightning_version:
        loops[f"lightning.Trainer {lightning_version}"] = lightning_loop
    rounds = common.interleaved_times({name: (lambda f=f: f(tiny_model(), loader, 1))
                                       for name, f in loops.items()}, repeats=repeats, warmup=1)
    stats = common.compare(rounds, base="hand-written loop")
    return {name: common.Spread.of([s / n_batches * 1e6 for s in st["extra_s"].values])
            for name, st in stats.items()}


# ---------------------------------------------------------------------------------------------
# table 2: the data path
# ---------------------------------------------------------------------------------------------


class PerItemDataset(Dataset):
    """uint8 images converted one per item, as torchvision.datasets.MNIST does (PIL, to_tensor).

    Extra work over the other contenders, which start from the float tensors already in memory:
    every item makes a PIL image from its uint8 array and converts it to a float tensor in [0, 1].
    """

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
        x = x.to(device)
        n += len(x)
    return n


TENSOR_LOADER = "TensorLoader (in-memory tensors)"
SAME_TENSORS = "DataLoader over the same in-memory tensors (TensorDataset), 0 workers"
CONVERT = "also converts each image (uint8 -> PIL -> float)"  # its extra work, in its name


def data_path(quick: bool, device: torch.device | None = None) -> dict:
    """Images/s of one pass over the same images with each loader, batches moved to `device`.

    Like for like: TensorLoader and a DataLoader over a TensorDataset hold the same float tensors
    on the CPU, batch 128, shuffled, and one_pass moves every batch to the device. The per-item
    contenders do more: they convert every uint8 image through PIL (as torchvision's MNIST does),
    with 0 and with 2 worker processes. Every loader is built before the clock starts; the
    2-worker one keeps its workers between passes (persistent_workers), so their start-up falls
    into the untimed warm-up round. No loader pins memory, so the copies to a GPU are alike.
    """
    device = device or torch.device("cpu")
    n, batch_size = (2_000 if quick else 10_000), 128
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)  # MNIST-sized
    labels = rng.integers(0, 10, size=n)
    x = torch.from_numpy(images).float().unsqueeze(1) / 255.0  # decoded once, before any timing
    y = torch.from_numpy(labels)
    tensor_loader = data.TensorLoader(data.ImageSet(x, y), batch_size, shuffle=True, seed=0)
    same_tensors = DataLoader(TensorDataset(x, y), batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(0))
    per_item = PerItemDataset(images, labels)
    per_item_0 = DataLoader(per_item, batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
    per_item_2 = DataLoader(per_item, batch_size, shuffle=True, num_workers=2,
                            persistent_workers=True, generator=torch.Generator().manual_seed(0))
    loaders = {TENSOR_LOADER: tensor_loader, SAME_TENSORS: same_tensors,
               f"DataLoader, 0 workers, {CONVERT}": per_item_0,
               f"DataLoader, 2 workers, {CONVERT}": per_item_2}
    repeats = 3 if quick else 7
    rounds = common.interleaved_times({name: (lambda ld=ld: one_pass(ld, device))
                                       for name, ld in loaders.items()}, repeats=repeats, warmup=1)
    stats = common.compare(rounds, base=TENSOR_LOADER, work=n)
    rows = [{"loader": name, "device": device.type, "images/s": n / st["seconds"],
             "ratio": st["ratio"], "speed-up of TensorLoader": st["slowdown"],
             "seconds_rounds": st["seconds"].values,
             "speed-up_range": st["slowdown"].as_dict()} for name, st in stats.items()]
    return {"rows": rows, "images": n, "batch_size": batch_size, "repeats": repeats}
