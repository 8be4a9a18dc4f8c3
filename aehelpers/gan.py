"""Training a GAN: the two networks, their losses, one step of each player (`gan_step`), the loop.

    G = gan.Generator((1, 28, 28), latent_dim=32, num_classes=10)
    D = gan.Discriminator((1, 28, 28), num_classes=10, spectral_norm=True)
    history = gan.fit_gan(G, D, train_loader, num_epochs=10, loss="hinge")
    history["d_loss"], history["g_loss"]     # one number per epoch
    history.snapshots[-1]                   # G(fixed z) after the last epoch, (n, C, H, W)

`gan_step` is the lesson, as in pytorch/examples `dcgan/main.py`: (1) update D on a real batch
and a fake batch G(z); (2) update G so that the freshly updated D calls the same fakes real.
`fit_gan` loops it over epochs with what a run needs around it: seeded noise, a moving average
of G, fixed-noise snapshots, a per-epoch History and a check for non-finite losses. It is not
train.fit: it trains two models with two optimisers. Imports config, blocks and train; draws
no figure. Introduced in 06_gan_csp.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from . import config
from .blocks import CropTo, CSPUp, PadToMultiple, norm_layer, padded_size
from .train import History, NonFiniteLossError, predict

# -- the networks: a generator of CSPUp blocks and a discriminator with a global view ------------

class Generator(nn.Module):
    """GAN generator of CSPUp blocks (06_gan_csp): z (B, latent_dim) [+ labels y] -> x (B, C, H, W).

    channels[0] is the width at the start map of ceil(H / 2**k) x ceil(W / 2**k), k = number of
    up-sampling blocks = len(channels) - 1; each CSPUp doubles H and W, and the output is
    cropped to out_shape, so any size works. num_classes > 0 makes it conditional: an embedding
    of the label joins z; label_every_stage=True also feeds the one-hot label as channels into
    every block. block: the up-sampling block class, block(c_in, c_out, norm) (CSPUp; 004-a
    compares blocks.PlainUp). Outputs are in (0, 1) like the pixels (a sigmoid).
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


def d_hinge_loss(real_logits, fake_logits, label_smoothing: float = 0.0) -> torch.Tensor:
    """Hinge discriminator loss per image: mean relu(1 - D(x)) + mean relu(1 + D(G(z))).

    Lim & Ye (2017), used with spectral norm by Miyato et al. (2018): D stops pushing an image
    once its logit is past the margin 1, so it cannot grow over-confident. label_smoothing
    shrinks the real margin to 1 - s.
    """
    return F.relu(1.0 - label_smoothing - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def g_hinge_loss(fake_logits) -> torch.Tensor:
    """Hinge generator loss per image: -mean D(G(z)) (Lim & Ye, 2017)."""
    return -fake_logits.mean()


LOSSES = {"bce": (d_loss, g_loss), "hinge": (d_hinge_loss, g_hinge_loss)}


def grid_labels(num_classes: int, n_rows: int) -> torch.Tensor:
    """Labels 0..K-1 repeated n_rows times: a grid with one image per class in each row."""
    return torch.arange(num_classes).repeat(n_rows)


def judged_accuracy(netG, judge, n_per_class: int = 100, generator=None) -> tuple[float, dict]:
    """Share of G's images (n_per_class per label) the judge reads as the label asked; per label too."""
    asked = grid_labels(netG.num_classes, n_per_class)
    pred = predict(judge, netG.sample(len(asked), asked, generator=generator)).argmax(1)
    per = {str(k): (pred[asked == k] == k).float().mean().item() for k in range(netG.num_classes)}
    return (pred == asked).float().mean().item(), per


def judge_each_epoch(netG, judge, curve: list, n_per_class: int = 50, seed: int = 5,
                     steps_per_epoch: int = 1):
    """fit_gan's on_snapshot: after each epoch append {step, accuracy, min (the worst label)} of
    netG's judged draws (the same seeded draws every epoch) to curve. It only records: nothing
    is kept or chosen by it."""
    def on_epoch(epoch, images):
        acc, per = judged_accuracy(netG, judge, n_per_class,
                                   generator=torch.Generator().manual_seed(seed))
        curve.append({"step": epoch * steps_per_epoch, "accuracy": acc, "min": min(per.values())})
    return on_epoch


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema's weights <- decay x ema's + (1 - decay) x model's; buffers (BatchNorm statistics) copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


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


def fit_gan(netG, netD, train_loader, *, num_epochs: int = 5, lr: float = 2e-4,
            betas=(0.5, 0.999), label_smoothing: float = 0.0, fixed_z=None,
            n_snapshot: int = 40, on_snapshot=None, device=None, seed: int | None = None,
            progress: bool = True, loss: str = "bce", lr_d: float | None = None,
            augment=None, ema=None, ema_decay: float = 0.99,
            channels_last: bool = True) -> History:
    """Train G and D with `gan_step` for num_epochs; return a History (d_loss, g_loss, d_real,
    d_fake: means per image over each epoch, and its seconds).

    d_real / d_fake: D's mean probability that a real / fake image is real (before the D step).
    After each epoch G draws the same fixed noise (fixed_z, else n_snapshot seeded draws;
    conditional models get labels 0..K-1 repeated) into history.snapshots and, if given,
    on_snapshot(epoch, images). Adam with lr 2e-4 and beta1 0.5 are DCGAN's settings (Radford et
    al., 2015); lr_d (default lr) gives D its own rate. loss: "bce" or "hinge". augment(x), e.g.
    diff_augment, transforms real and fake images alike before D sees them (Zhao et al., 2020).
    ema: a copy of netG (copy.deepcopy) that follows netG's weights as an exponential moving
    average, w_ema <- d w_ema + (1 - d) w after the t-th G step, d = min(ema_decay,
    (1 + t) / (10 + t)) (Karras et al., 2018: it smooths G's step-to-step swings; the warm-up
    forgets the untrained start); the snapshots are then drawn by it. Each loss is checked
    before its optimiser step (eagerly on the CPU; on an accelerator the first bad batch is
    reported when the epoch ends, one host sync per epoch). channels_last: train in that memory
    layout (06's digit GAN: about 15% faster per step on 2 CPU cores); the models come back in
    the usual layout.
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs must be >= 1, got {num_epochs}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing is the amount taken off the real target (0 to 0.5),"
                         f" got {label_smoothing}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    device = torch.device(device) if device else config.current().device
    layout = torch.channels_last if channels_last else torch.contiguous_format
    for net in (n for n in (netG, netD, ema) if n is not None):
        net.to(device, memory_format=layout)
    num_classes = getattr(netG, "num_classes", 0)
    # z and fake labels: a generator of their own, from `seed` or (None) from the global seed
    base = int(torch.randint(2**62, (1,))) if seed is None else seed
    if seed is not None:
        torch.manual_seed(seed)  # any other draw (augmentation, dropout) starts from the seed too
    rng = torch.Generator().manual_seed(base)
    if fixed_z is None:
        fixed_z = torch.randn(n_snapshot, netG.latent_dim,
                              generator=torch.Generator().manual_seed(10_000 + base))
    fixed_y = (grid_labels(num_classes, -(-len(fixed_z) // num_classes))[:len(fixed_z)]
               if num_classes else None)
    opt_d = torch.optim.Adam(netD.parameters(), lr=lr if lr_d is None else lr_d, betas=betas)
    opt_g = torch.optim.Adam(netG.parameters(), lr=lr, betas=betas)
    history, g_steps = History(), 0
    history.snapshots = []  # an attribute: every key of the dict is a per-epoch list of numbers

    bar = tqdm(range(1, num_epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        start, sums, n_seen = time.perf_counter(), {}, 0
        finite = _FiniteCheck(device, epoch)
        netG.train(), netD.train()
        for b, (x, y, *_) in enumerate(train_loader, start=1):
            x, n = (x.to(device, memory_format=layout) if x.dim() == 4 else x.to(device)), len(x)
            z = torch.randn(n, netG.latent_dim, generator=rng).to(device)
            y_fake = (torch.randint(num_classes, (n,), generator=rng).to(device)
                      if num_classes else None)
            finite.batch = b
            logs = gan_step(netG, netD, opt_g, opt_d, x, y.to(device) if num_classes else None,
                            z, y_fake, loss=loss, augment=augment,
                            label_smoothing=label_smoothing, check=finite)
            if ema is not None:  # warm-up: short memory at first, so the start is forgotten
                g_steps += 1
                ema_update(ema, netG, min(ema_decay, (1 + g_steps) / (10 + g_steps)))
            for key, value in logs.items():  # summed on the device: no host sync per batch
                sums[key] = sums.get(key, 0.0) + value * n
            n_seen += n
        finite.raise_if_bad()
        history.log("epoch", epoch)
        totals = torch.stack([sums[k] for k in sums]).cpu().tolist()  # one read per epoch
        for key, total in zip(sums, totals):
            history.log(key, total / max(n_seen, 1))  # mean over images, not batches
        history.log("seconds", time.perf_counter() - start)
        images = (netG if ema is None else ema).sample(len(fixed_z), fixed_y, z=fixed_z).cpu()
        history.snapshots.append(images)
        if on_snapshot is not None:
            on_snapshot(epoch, images)
        bar.set_postfix(d_loss=f"{history.last('d_loss'):.3f}",
                        g_loss=f"{history.last('g_loss'):.3f}")
    for net in (n for n in (netG, netD, ema) if n is not None):  # the usual layout: .view works
        net.to(memory_format=torch.contiguous_format)
    netG.eval(), netD.eval()
    return history


class _FiniteCheck:
    """gan_step's check: stop before a non-finite loss reaches its optimiser (CPU, where reading
    it is free), or remember the first bad batch and raise when the epoch ends (accelerator)."""

    def __init__(self, device, epoch: int):
        self.eager, self.epoch, self.batch, self.bad = device.type == "cpu", epoch, 0, None

    def __call__(self, loss, name):
        if self.eager:
            if not torch.isfinite(loss):
                raise NonFiniteLossError(
                    f"GAN {name} became {loss.item()} at epoch {self.epoch}, batch {self.batch}, "
                    f"before its optimiser step: lower lr or try spectral_norm")
            return
        here = torch.where(torch.isfinite(loss), 0, self.batch)
        self.bad = here if self.bad is None else torch.where(self.bad != 0, self.bad, here)

    def raise_if_bad(self):
        if self.bad is not None and int(self.bad) != 0:
            raise NonFiniteLossError(f"GAN loss became non-finite at epoch {self.epoch}, batch "
                                     f"{int(self.bad)}: lower lr or try spectral_norm")


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
