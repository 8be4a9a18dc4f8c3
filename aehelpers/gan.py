"""Training a GAN: the two-phase loop `fit_gan`, with per-epoch losses and fixed-noise snapshots.

    G = models.Generator((1, 28, 28), latent_dim=32, num_classes=10)
    D = models.Discriminator((1, 28, 28), num_classes=10, spectral_norm=True)
    history = gan.fit_gan(G, D, train_loader, num_epochs=10, label_smoothing=0.1)
    history["d_loss"], history["g_loss"]     # one number per epoch
    history.snapshots[-1]                   # G(fixed z) after the last epoch, (n, C, H, W)

Every batch runs two labelled phases, as in pytorch/examples `dcgan/main.py`:
(1) update D on a real batch (target 1) and a fake batch G(z) (target 0);
(2) update G so that D calls the same fake batch real (the non-saturating loss).

Why a module of its own rather than train.py: the loop trains two models with two optimisers and
shares nothing with `train.fit` but the History, and train.py stays short. It imports config,
train (History, NonFiniteLossError) and metrics; it knows no model class and draws no figure (a
notebook saves the snapshots). Introduced in 06_gan_csp.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from . import config, metrics
from .train import History, NonFiniteLossError

# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------

def d_loss(real_logits, fake_logits, label_smoothing: float = 0.0) -> torch.Tensor:
    """Discriminator loss in nats per image: BCE(D(x), 1 - s) + BCE(D(G(z)), 0).

    One-sided label smoothing (Salimans et al., 2016, "Improved Techniques for Training GANs")
    asks D for 1 - s instead of 1 on real images only, so D stops growing over-confident and
    G keeps getting a gradient; fakes keep target 0.
    """
    real = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, 1.0 - label_smoothing))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss(fake_logits) -> torch.Tensor:
    """Non-saturating generator loss in nats per image: BCE(D(G(z)), 1) = -log D(G(z)).

    Goodfellow et al. (2014) minimise log(1 - D(G(z))) in theory; its gradient vanishes while D
    still wins easily, so in practice G maximises log D(G(z)).
    """
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def grid_labels(num_classes: int, n_rows: int) -> torch.Tensor:
    """Labels 0..K-1 repeated n_rows times: a grid with one image per class in each row."""
    return torch.arange(num_classes).repeat(n_rows)


# ---------------------------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------------------------

def fit_gan(netG, netD, train_loader, *, num_epochs: int = 5, lr: float = 2e-4,
            betas=(0.5, 0.999), label_smoothing: float = 0.0, fixed_z=None, fixed_y=None,
            n_snapshot: int = 40, on_snapshot=None, device=None, seed: int | None = 0,
            progress: bool = True) -> History:
    """Train G and D for num_epochs; return a History (d_loss, g_loss, d_real, d_fake per epoch).

    d_real and d_fake are D's mean probability that a real / fake image is real (before the D
    step). After each epoch G draws the same fixed noise (fixed_z, else n_snapshot seeded draws;
    conditional models get fixed_y, else labels 0..K-1 repeated): the images go to
    history.snapshots and, if given, to on_snapshot(epoch, images), which may save a figure.
    Adam with lr 2e-4 and beta1 0.5 are the DCGAN settings (Radford et al., 2015).
    Each loss is checked before its optimiser step (on the CPU, where that is free; on an
    accelerator the first bad batch is reported when the epoch ends, one host sync per epoch).
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing is the amount taken off the real target (0 to 0.5),"
                         f" got {label_smoothing}")
    device = torch.device(device) if device else config.current().device
    eager = device.type == "cpu"
    netG.to(device), netD.to(device)
    num_classes = getattr(netG, "num_classes", 0)
    rng = torch.Generator().manual_seed(0 if seed is None else seed)  # z and fake labels
    if seed is not None:
        torch.manual_seed(seed)  # any other draw (dropout) starts from the seed too
    if fixed_z is None:
        fixed_z = torch.randn(n_snapshot, netG.latent_dim,
                              generator=torch.Generator().manual_seed(10_000 + (seed or 0)))
    if num_classes and fixed_y is None:
        fixed_y = grid_labels(num_classes, -(-len(fixed_z) // num_classes))[:len(fixed_z)]
    opt_d = torch.optim.Adam(netD.parameters(), lr=lr, betas=betas)
    opt_g = torch.optim.Adam(netG.parameters(), lr=lr, betas=betas)
    history = History()
    history.snapshots = []  # an attribute: every key of the dict is a per-epoch list of numbers

    def check(loss, name, epoch, b, bad):
        """Stop before a non-finite loss reaches its optimiser (CPU), or note the batch (GPU)."""
        if eager:
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"GAN {name} became {loss.item()} at epoch {epoch}, batch {b}, before its "
                    f"optimiser step: lower lr or try spectral_norm")
            return bad
        here = torch.where(torch.isfinite(loss), 0, b)
        return here if bad is None else torch.where(bad != 0, bad, here)

    bar = tqdm(range(1, num_epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        start, sums, n_seen, bad = time.perf_counter(), {}, 0, None
        netG.train(), netD.train()
        for b, (x, y, *_) in enumerate(train_loader, start=1):
            x, y, n = x.to(device), y.to(device), len(x)
            z = torch.randn(n, netG.latent_dim, generator=rng).to(device)
            y_fake = (torch.randint(num_classes, (n,), generator=rng).to(device)
                      if num_classes else None)
            y_real = y if num_classes else None
            fake = netG(z, y_fake)

            # (1) update D: push D(x) towards 1 (or 1 - s) and D(G(z)) towards 0
            real_logits = netD(x, y_real)
            fake_logits = netD(fake.detach(), y_fake)  # no gradient into G here
            loss_d = d_loss(real_logits, fake_logits, label_smoothing)
            bad = check(loss_d, "d_loss", epoch, b, bad)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            # (2) update G: push the freshly updated D(G(z)) towards 1
            loss_g = g_loss(netD(fake, y_fake))
            bad = check(loss_g, "g_loss", epoch, b, bad)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            logs = {"d_loss": loss_d, "g_loss": loss_g,
                    "d_real": torch.sigmoid(real_logits).mean(),
                    "d_fake": torch.sigmoid(fake_logits).mean()}
            for key, value in logs.items():  # summed on the device: no host sync per batch
                sums[key] = sums.get(key, 0.0) + value.detach() * n
            n_seen += n
        if bad is not None and int(bad) != 0:
            raise NonFiniteLossError(f"GAN loss became non-finite at epoch {epoch}, batch "
                                     f"{int(bad)}: lower lr or try spectral_norm")
        history.log("epoch", epoch)
        totals = torch.stack([sums[k] for k in sums]).cpu().tolist()  # one read per epoch
        for key, total in zip(sums, totals):
            history.log(key, total / max(n_seen, 1))  # mean over images, not batches
        history.log("seconds", time.perf_counter() - start)
        images = netG.sample(len(fixed_z), fixed_y, z=fixed_z).cpu()
        history.snapshots.append(images)
        if on_snapshot is not None:
            on_snapshot(epoch, images)
        bar.set_postfix(d_loss=f"{history.last('d_loss'):.3f}",
                        g_loss=f"{history.last('g_loss'):.3f}")
    netG.eval(), netD.eval()
    return history


# ---------------------------------------------------------------------------------------------
# diversity
# ---------------------------------------------------------------------------------------------

def diversity(fake: torch.Tensor, real: torch.Tensor, train: torch.Tensor) -> dict:
    """Diversity and copying, in per-pixel RMS units: mean pairwise distance within fake and
    within real images, and the mean distance from each to its nearest training image.

    A collapsed G has a fake pairwise distance far below the real one; a G that copies its
    training set has a nearest-neighbour distance far below that of held-out real images.
    """
    return {"pairwise_fake": metrics.mean_pairwise_distance(fake),
            "pairwise_real": metrics.mean_pairwise_distance(real),
            "nn_fake": metrics.nearest_neighbour_distance(fake, train).mean().item(),
            "nn_real": metrics.nearest_neighbour_distance(real, train).mean().item()}
