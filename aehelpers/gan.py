"""Training a GAN: the two networks, their losses, one step of each player (`gan_step`), the loop.

    G = gan.Generator((1, 28, 28), latent_dim=32, num_classes=10)
    D = gan.Discriminator((1, 28, 28), num_classes=10, spectral_norm=True)
    avg, snaps = gan.MovingAverage(G, decay=0.999), gan.Snapshots(30)
    history = gan.fit_gan(G, D, train_loader, gan.Recipe(loss="hinge"), num_epochs=10,
                          callbacks=[avg, snaps])   # history["d_loss"]: one number per epoch
    avg.model.sample(8, labels); snaps.images[-1]   # G's average; G(fixed z) after each epoch

`gan_step` is the lesson, as in pytorch/examples `dcgan/main.py`: (1) update D on a real batch
and a fake batch G(z); (2) update G so that the freshly updated D calls the same fakes real.
`fit_gan` loops it over epochs with seeded noise, a per-epoch History and a stop on non-finite
losses; options are a `Recipe`, the rest are callbacks. It is not train.fit: it trains two models
with two optimisers. Imports config, blocks and train; draws no figure. Introduced in 06_gan_csp.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from . import config
from .blocks import CropTo, CSPUp, PadToMultiple, norm_layer, padded_size
from .train import History, LossCheck

# -- the networks: a generator of CSPUp blocks and a discriminator with a global view ------------

class Generator(nn.Module):
    """GAN generator of CSPUp blocks (06_gan_csp): z (B, latent_dim) [+ labels y] -> x (B, C, H, W).

    channels[0] is the width at the start map of ceil(H / 2**k) x ceil(W / 2**k), k = len(channels)
    - 1 up-sampling blocks, each doubling H and W; the output is cropped to out_shape, so any size
    works. num_classes > 0: an embedding of the label joins z; label_every_stage=True also feeds the
    one-hot label as channels into every block. block(c_in, c_out, norm): CSPUp, or blocks.PlainUp
    (004-a). Outputs are in (0, 1) like the pixels (a sigmoid).
    """

    def __init__(self, out_shape, latent_dim=32, channels=(64, 32, 16), num_classes=0,
                 embed_dim=10, norm="batch", block=CSPUp, label_every_stage=False):
        super().__init__()
        if len(channels) < 2:
            raise ValueError(f"channels needs a start width and at least one up-sampling stage, "
                             f"got {channels}")
        self.out_shape, self.latent_dim = tuple(out_shape), latent_dim
        self.num_classes = num_classes
        c, h, w = self.out_shape
        m = 2 ** (len(channels) - 1)
        self.start = (channels[0], padded_size(h, m) // m, padded_size(w, m) // m)  # e.g. 64x7x7
        self.embed = nn.Embedding(num_classes, embed_dim) if num_classes else None
        z_in = latent_dim + (embed_dim if num_classes else 0)
        self.stem = nn.Sequential(nn.Linear(z_in, math.prod(self.start), bias=norm is None),
                                  nn.Unflatten(1, self.start), norm_layer(norm, channels[0]),
                                  nn.ReLU())
        self.label_every_stage = bool(num_classes) and label_every_stage
        k = num_classes if self.label_every_stage else 0  # one-hot label channels per stage
        self.ups = nn.ModuleList(
            nn.Sequential(block(c_in + k, c_out, norm), nn.ReLU())  # h x w => 2h x 2w
            for c_in, c_out in zip(channels[:-1], channels[1:]))
        self.to_image = nn.Conv2d(channels[-1], c, 3, padding=1)
        self.crop = CropTo()  # 28 => 28, 25 => 28 => 25

    def forward(self, z, y=None):
        if self.num_classes:
            y = _check_labels(y, len(z), self.num_classes)
            z = torch.cat([z, self.embed(y)], dim=1)
        x = self.stem(z)
        for up in self.ups:
            if self.label_every_stage:  # the label again, as channels, before every block
                x = _with_label_maps(x, y, self.num_classes)
            x = up(x)
        return torch.sigmoid(self.crop(self.to_image(x), self.out_shape[1:]))

    @torch.no_grad()
    def sample(self, n, y=None, generator=None, z=None):
        """n images from z ~ N(0, I) (or the given z), labels y (n,) if conditional; eval mode."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator) if z is None else z
        z = z.to(device)
        was_training = self.training
        self.eval()
        try:
            return self(z, None if y is None else y.to(device))
        finally:
            self.train(was_training)


class Discriminator(nn.Module):
    """GAN discriminator (06_gan_csp): x (B, C, H, W) [+ labels y] -> one logit per image (B,).

    4x4 stride-2 convolutions with LeakyReLU(0.2) as in DCGAN, summed over positions (any H x W),
    then a linear head. Conditional (num_classes > 0) twice over: the one-hot label enters as
    num_classes extra input channels (Mirza & Osindero, 2014), and the head adds the projection
    embed(y).h (Miyato & Koyama, 2018); label_input / projection switch each off. spectral_norm
    divides every weight by its largest singular value (Miyato et al., 2018): D reacts less
    sharply and training calms. view="patch" sums the last map over positions (each feature
    sees a patch); view="global" flattens it, so the head sees where each part of the image sits.
    """

    def __init__(self, in_shape, channels=(32, 64), num_classes=0, norm=None,
                 spectral_norm=False, view="patch", label_input=True, projection=True):
        super().__init__()
        self.in_shape, self.num_classes = tuple(in_shape), num_classes
        self.label_input = bool(num_classes) and label_input
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda layer: layer)
        layers = [PadToMultiple(2 ** len(channels))]
        c = in_shape[0] + (num_classes if self.label_input else 0)
        for i, c_out in enumerate(channels):  # H x W => H/2 x W/2
            layers += [sn(nn.Conv2d(c, c_out, 4, stride=2, padding=1)),
                       norm_layer(norm if i else None, c_out),  # no norm on the input layer
                       nn.LeakyReLU(0.2)]
            c = c_out
        self.features = nn.Sequential(*layers)
        if view not in ("patch", "global"):
            raise ValueError(f"view must be 'patch' or 'global', got {view!r}")
        self.view = view
        if view == "global":  # features of every position: c x h x w numbers
            m = 2 ** len(channels)
            c *= (padded_size(in_shape[1], m) // m) * (padded_size(in_shape[2], m) // m)
        self.head = sn(nn.Linear(c, 1))
        self.embed = sn(nn.Embedding(num_classes, c)) if num_classes and projection else None

    def forward(self, x, y=None):
        """One logit per image (B,): high for what D takes as real (as the label y, if any)."""
        if self.num_classes:
            y = _check_labels(y, len(x), self.num_classes)
        if self.label_input:
            x = _with_label_maps(x, y, self.num_classes)  # the label as input channels
        h = self.features(x)
        h = h.flatten(1) if self.view == "global" else h.sum(dim=(2, 3))  # (B, features)
        logit = self.head(h).squeeze(1)
        if self.embed is not None:
            logit = logit + (self.embed(y) * h).sum(1)  # projection
        return logit


def _with_label_maps(x, y, num_classes):
    """x (B, C, H, W) with the one-hot labels y appended as num_classes constant channels."""
    maps = F.one_hot(y, num_classes).float()[:, :, None, None]
    return torch.cat([x, maps.expand(-1, -1, *x.shape[-2:])], dim=1)


def _check_labels(y, n, num_classes):
    if y is None or y.shape != (n,):
        got = None if y is None else tuple(y.shape)
        raise ValueError(f"this model is conditional: pass integer labels y of shape ({n},) "
                         f"with values in 0..{num_classes - 1}, got {got}")
    return y.long()


# -- losses --------------------------------------------------------------------------------------

def d_loss(real_logits, fake_logits, label_smoothing: float = 0.0) -> torch.Tensor:
    """Discriminator loss in nats per image: BCE(D(x), 1 - s) + BCE(D(G(z)), 0).

    One-sided label smoothing (Salimans et al., 2016) asks D for 1 - s instead of 1 on real images
    only, so D stops growing over-confident and G keeps getting a gradient.
    """
    real = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, 1.0 - label_smoothing))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def g_loss(fake_logits) -> torch.Tensor:
    """Non-saturating generator loss in nats per image: BCE(D(G(z)), 1) = -log D(G(z)); the
    log(1 - D(G(z))) of the theory (Goodfellow et al., 2014) gives no gradient while D wins."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def d_hinge_loss(real_logits, fake_logits, label_smoothing: float = 0.0) -> torch.Tensor:
    """Hinge discriminator loss per image: mean relu(1 - D(x)) + mean relu(1 + D(G(z))).

    Lim & Ye (2017), with spectral norm in Miyato et al. (2018): D stops pushing an image once its
    logit is past the margin 1, so it cannot grow over-confident; label_smoothing: margin 1 - s.
    """
    return F.relu(1.0 - label_smoothing - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_hinge_loss(fake_logits) -> torch.Tensor:
    """Hinge generator loss per image: -mean D(G(z)) (Lim & Ye, 2017)."""
    return -fake_logits.mean()


LOSSES = {"bce": (d_loss, g_loss), "hinge": (d_hinge_loss, g_hinge_loss)}


def grid_labels(num_classes: int, n_rows: int) -> torch.Tensor:
    """Labels 0..K-1 repeated n_rows times: a grid with one image per class in each row."""
    return torch.arange(num_classes).repeat(n_rows)


# -- the loop ------------------------------------------------------------------------------------

def gan_step(netG, netD, opt_g, opt_d, x, y, z, y_fake, *, loss: str = "hinge",
             augment=None, label_smoothing: float = 0.0, check=None) -> dict:
    """One step of each player on a real batch x (labels y; y and y_fake None when unconditional).

    Returns D's and G's losses and D's mean probabilities that the real and the fake images are
    real, as tensors on the model's device (nothing is read back to the host here). augment(x)
    transforms real and fake images alike before D sees them (DiffAugment); check(loss, name),
    if given, looks at each loss before its optimiser step.
    """
    loss_d_fn, loss_g_fn = LOSSES[loss]
    aug = augment if augment is not None else (lambda t: t)
    fake = netG(z, y_fake)

    # (1) update D: real images towards "real", generated ones towards "fake"
    real_logits = netD(aug(x), y)
    fake_logits = netD(aug(fake.detach()), y_fake)  # detach: no gradient into G in this phase
    loss_d = loss_d_fn(real_logits, fake_logits, label_smoothing)
    if check is not None:
        check(loss_d, "d_loss")
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    # (2) update G: the same fakes, read by the D just updated, should pass as real
    loss_g = loss_g_fn(netD(aug(fake), y_fake))
    if check is not None:
        check(loss_g, "g_loss")
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"d_loss": loss_d.detach(), "g_loss": loss_g.detach(),
            "d_real": torch.sigmoid(real_logits).mean().detach(),
            "d_fake": torch.sigmoid(fake_logits).mean().detach()}


@dataclass(frozen=True)
class Recipe:
    """How fit_gan trains the two players; DCGAN's settings by default (Radford et al., 2015)."""

    loss: str = "bce"  # "bce" (d_loss, g_loss) or "hinge" (d_hinge_loss, g_hinge_loss)
    lr: float = 2e-4  # Adam's rate for G, and for D unless lr_d gives D its own
    lr_d: float | None = None
    betas: tuple = (0.5, 0.999)  # Adam's
    label_smoothing: float = 0.0  # taken off the real target (d_loss, d_hinge_loss)
    augment: Callable | None = None  # x -> x on real and fake alike before D (diff_augment)

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"label_smoothing is the amount taken off the real target (0 to 0.5),"
                             f" got {self.label_smoothing}")


def fit_gan(netG, netD, train_loader, recipe: Recipe = Recipe(), *, num_epochs: int = 5,
            callbacks=(), seed: int | None = None, device=None, progress: bool = True,
            channels_last: bool = True) -> History:
    """Train G and D with `gan_step` for num_epochs as `recipe` says; return a History (d_loss,
    g_loss, d_real, d_fake: means per image over each epoch, and its seconds). d_real / d_fake:
    D's mean probability that a real / fake image is real (before the D step).

    callbacks: objects with any of on_start(run), on_step(run) (after each step of both players),
    on_epoch(run), on_end(run); run holds netG, netD, device, layout, seed (of the run's noise),
    step, epoch and history (MovingAverage, Snapshots, EachEpoch). Each loss is checked before its
    optimiser step (train.LossCheck). channels_last: train in that memory layout (06's digit GAN:
    about 15% faster per step on 2 CPU cores); the models come back in the usual one.
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    device = torch.device(device) if device else config.current().device
    layout = torch.channels_last if channels_last else torch.contiguous_format
    netG.to(device, memory_format=layout), netD.to(device, memory_format=layout)
    num_classes = getattr(netG, "num_classes", 0)
    # z and fake labels: a generator of their own, from `seed` or (None) from the global seed
    base = int(torch.randint(2**62, (1,))) if seed is None else seed
    if seed is not None:
        torch.manual_seed(seed)  # any other draw (augmentation, dropout) starts from the seed too
    rng = torch.Generator().manual_seed(base)
    opt_d = torch.optim.Adam(netD.parameters(), lr=recipe.lr_d or recipe.lr, betas=recipe.betas)
    opt_g = torch.optim.Adam(netG.parameters(), lr=recipe.lr, betas=recipe.betas)
    run = SimpleNamespace(netG=netG, netD=netD, device=device, layout=layout, seed=base, step=0,
                          epoch=0, history=History())
    _call(callbacks, "on_start", run)
    bar = tqdm(range(1, num_epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        run.epoch, start, sums, n_seen = epoch, time.perf_counter(), {}, 0
        finite = LossCheck(device, epoch)
        netG.train(), netD.train()
        for b, (x, y, *_) in enumerate(train_loader, start=1):
            x, n = (x.to(device, memory_format=layout) if x.dim() == 4 else x.to(device)), len(x)
            z = torch.randn(n, netG.latent_dim, generator=rng).to(device)
            y_fake = (torch.randint(num_classes, (n,), generator=rng).to(device)
                      if num_classes else None)
            finite.batch = b
            logs = gan_step(netG, netD, opt_g, opt_d, x, y.to(device) if num_classes else None,
                            z, y_fake, loss=recipe.loss, augment=recipe.augment,
                            label_smoothing=recipe.label_smoothing, check=finite)
            run.step += 1
            _call(callbacks, "on_step", run)
            for key, value in logs.items():  # summed on the device: no host sync per batch
                sums[key] = sums.get(key, 0.0) + value * n
            n_seen += n
        finite.raise_if_bad()
        run.history.log("epoch", epoch)
        totals = torch.stack([sums[k] for k in sums]).cpu().tolist()  # one read per epoch
        for key, total in zip(sums, totals):
            run.history.log(key, total / max(n_seen, 1))  # mean over images, not batches
        run.history.log("seconds", time.perf_counter() - start)
        _call(callbacks, "on_epoch", run)
        bar.set_postfix(d_loss=f"{run.history.last('d_loss'):.3f}",
                        g_loss=f"{run.history.last('g_loss'):.3f}")
    _call(callbacks, "on_end", run)
    for net in (netG, netD):  # the usual layout again: .view works as before
        net.to(memory_format=torch.contiguous_format)
    netG.eval(), netD.eval()
    return run.history


def _call(callbacks, hook: str, run) -> None:
    for cb in callbacks:  # a callback defines the hooks it needs, and only those
        getattr(cb, hook, lambda run: None)(run)


# -- callbacks: the moving average, snapshots, a measurement each epoch --------------------------

class MovingAverage:
    """fit_gan callback: `model`, a copy of netG following its weights as an exponential moving
    average, w <- d w + (1 - d) w_G after step t, d = min(decay, (1 + t) / (10 + t)) (Karras et
    al., 2018: it smooths G's step-to-step swings; the warm-up forgets the untrained start)."""

    def __init__(self, netG: nn.Module, decay: float = 0.99):
        self.model, self.decay = copy.deepcopy(netG), decay

    def on_start(self, run):
        self.model.to(run.device, memory_format=run.layout)

    @torch.no_grad()
    def on_step(self, run):  # BatchNorm's running statistics are copied, not averaged
        d = min(self.decay, (1 + run.step) / (10 + run.step))
        for p_avg, p in zip(self.model.parameters(), run.netG.parameters()):
            p_avg.lerp_(p, 1.0 - d)
        for b_avg, b in zip(self.model.buffers(), run.netG.buffers()):
            b_avg.copy_(b)

    def on_end(self, run):
        self.model.to(memory_format=torch.contiguous_format)


class Snapshots:
    """fit_gan callback: after each epoch `of` (default: the G being trained) draws the same n
    noise vectors (seeded by the run's seed + 10,000; a conditional G gets labels 0..K-1
    repeated); the images (n, C, H, W), on the CPU, go to .images, one entry per epoch."""

    def __init__(self, n: int = 40, of: nn.Module | None = None):
        self.n, self.of, self.images = n, of, []

    def on_start(self, run):
        g = self.of if self.of is not None else run.netG
        self.z = torch.randn(self.n, g.latent_dim,
                             generator=torch.Generator().manual_seed(10_000 + run.seed))
        k = getattr(g, "num_classes", 0)
        self.y = grid_labels(k, -(-self.n // k))[:self.n] if k else None

    def on_epoch(self, run):
        g = self.of if self.of is not None else run.netG
        self.images.append(g.sample(self.n, self.y, z=self.z).cpu())


class EachEpoch:
    """fit_gan callback: fn(epoch) after each epoch, e.g. to measure G (it only records)."""

    def __init__(self, fn: Callable[[int], None]):
        self.fn = fn

    def on_epoch(self, run):
        self.fn(run.epoch)


def diff_augment(x: torch.Tensor, shift: float = 0.125, flip: bool = True,
                 generator=None) -> torch.Tensor:
    """Random horizontal flips and shifts (up to shift x size, zero fill), differentiable (DiffAugment)."""
    n, _, h, w = x.shape
    dev = x.device
    if flip:
        mask = torch.rand(n, generator=generator).to(dev) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    if shift > 0:
        sh, sw = max(1, int(h * shift + 0.5)), max(1, int(w * shift + 0.5))
        dy = torch.randint(-sh, sh + 1, (n,), generator=generator).to(dev)
        dx = torch.randint(-sw, sw + 1, (n,), generator=generator).to(dev)
        rows = (torch.arange(h, device=dev)[None, :] - dy[:, None])  # (n, h) source row
        cols = (torch.arange(w, device=dev)[None, :] - dx[:, None])
        valid = (((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :])
        r = rows.clamp(0, h - 1)[:, None, :, None].expand(-1, x.shape[1], -1, w)
        x = x.gather(2, r)
        c = cols.clamp(0, w - 1)[:, None, None, :].expand(-1, x.shape[1], h, -1)
        x = x.gather(3, c) * valid[:, None].to(x.dtype)
    return x
