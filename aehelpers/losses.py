"""Losses as standalone functions, each summed over an image's pixels and averaged over the batch.

Units: a loss here is "per image" (nats per image for log-likelihoods), so a VAE's negative ELBO
is comparable with published MNIST figures (~100 nats). Divide by H*W*C for a per-pixel figure.

    loss = losses.bce(x_hat, x)                               # 01: Bernoulli log-likelihood
    step = losses.vae_step(kl="closed", beta=1.0)             # 04: negative ELBO for train.fit

Introduced in 01 (bce, its floor `bernoulli_entropy`, mse) and 04 (the ELBO, the two KL
estimators, `kl_mc_draws` to measure the Monte-Carlo estimator's noise, and `importance_nll`, a
tighter bound than the ELBO).
This module imports nothing else from the package.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


# ---------------------------------------------------------------------------------------------
# reconstruction log-likelihoods
# ---------------------------------------------------------------------------------------------

def bce(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood -sum[x log x_hat + (1-x) log(1-x_hat)] per image (nats).

    x_hat must be probabilities in (0, 1), which is why the decoder ends in a sigmoid.
    """
    return F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x)


def bce_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood of each image (nats): shape (B,); its mean is bce."""
    return F.binary_cross_entropy(x_hat, x, reduction="none").flatten(1).sum(1)


def bernoulli_entropy(x: torch.Tensor) -> torch.Tensor:
    """The BCE floor: -sum[x log x + (1-x) log(1-x)] per image (nats), one value per image.

    BCE(x_hat, x) >= BCE(x, x) = this entropy for grey pixels x in [0, 1], with equality only at
    x_hat = x: even a perfect model pays it. It is 0 for binary images; on MNIST's grey pixels it
    is about 45 nats per image, so a BCE "loss" in nats reads as (BCE - floor) of modelling error + floor.
    """
    x = x.flatten(1).double()
    h = -(torch.xlogy(x, x) + torch.xlogy(1 - x, 1 - x))  # xlogy: 0 log 0 = 0
    return h.sum(1).float()


def mse(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error summed over pixels, mean over images (pixel units squared per image)."""
    return F.mse_loss(x_hat, x, reduction="sum") / len(x)


def gaussian_nll(x_hat: torch.Tensor, x: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Gaussian negative log-likelihood with fixed sigma, per image (nats).

    -log N(x; x_hat, sigma^2 I) = sum (x - x_hat)^2 / (2 sigma^2) + D log(sigma) + D/2 log(2 pi):
    MSE is this likelihood up to a scale and a constant, so "MSE" means "Gaussian pixels".
    """
    d = x[0].numel()
    sq = F.mse_loss(x_hat, x, reduction="sum") / len(x)
    return sq / (2 * sigma**2) + d * (math.log(sigma) + 0.5 * LOG_2PI)


# ---------------------------------------------------------------------------------------------
# KL divergence between q(z|x) = N(mu, diag(exp(logvar))) and p(z) = N(0, I)
# ---------------------------------------------------------------------------------------------

def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form KL of each latent dimension, mean over the batch: shape (latent_dim,), nats.

    KL(N(mu, s^2) || N(0, 1)) = -1/2 (1 + log s^2 - mu^2 - s^2)   (Kingma & Welling 2014, App. B)
    A dimension whose KL stays near 0 carries no information about x ("inactive unit").
    """
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))) summed over dims: shape (B,), nats."""
    return -0.5 * ((z - mu).pow(2) * torch.exp(-logvar) + logvar + LOG_2PI).sum(1)


def kl_monte_carlo(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """One-sample estimate log q(z|x) - log p(z) at z ~ q, mean over the batch (nats).

    Unbiased for the closed form but noisy: its variance is what 04 measures.
    """
    zeros = torch.zeros_like(z)
    return (log_normal(z, mu, logvar) - log_normal(z, zeros, zeros)).mean()


# ---------------------------------------------------------------------------------------------
# the VAE objective
# ---------------------------------------------------------------------------------------------

RECON = {"bce": bce, "gaussian": gaussian_nll}


def neg_elbo(x_hat, x, mu, logvar, z=None, recon: str = "bce", kl: str = "closed",
             beta: float = 1.0, free_bits: float = 0.0, **recon_kwargs):
    """Negative ELBO = recon NLL + beta * KL, per image (nats); returns (total, recon, kl).

    free_bits > 0 (nats per latent dimension; Kingma et al. 2016) charges each dimension's
    batch-mean KL only above that allowance, max(KL_j, free_bits), in `total`: a dimension may
    carry that much for free, so the KL cannot switch every dimension off (posterior
    collapse). `kl` is always the true KL, so the returned recon + kl stays the negative ELBO.
    """
    if recon not in RECON:
        raise ValueError(f"recon is one of {list(RECON)}, got {recon!r}")
    if free_bits < 0 or (free_bits and kl != "closed"):
        raise ValueError(f"free_bits is a non-negative allowance in nats per dimension and needs "
                         f"the closed-form KL, got free_bits={free_bits}, kl={kl!r}")
    nll = RECON[recon](x_hat, x, **recon_kwargs)
    if kl == "closed":
        per_dim = kl_per_dim(mu, logvar)
        kl_value = per_dim.sum()
    elif kl == "mc":
        if z is None:
            raise ValueError("the Monte-Carlo KL needs the sampled z")
        kl_value = kl_monte_carlo(z, mu, logvar)
    else:
        raise ValueError(f"kl is 'closed' or 'mc', got {kl!r}")
    charged = per_dim.clamp_min(free_bits).sum() if free_bits else kl_value  # free_bits: closed
    return nll + beta * charged, nll, kl_value


def vae_step(recon: str = "bce", kl: str = "closed", beta=1.0, condition=None,
             sample: bool = True, free_bits: float = 0.0, **recon_kwargs):
    """A train.fit step for (conditional) VAEs: logs loss (negative ELBO), recon and kl, nats/image.

    `beta` is a number or a function of the epoch (KL warm-up); `condition(y)` turns labels into
    the condition vector of a conditional VAE. `sample=False` decodes mu instead of a draw, so
    `beta=0, sample=False` trains the same network as a plain autoencoder (04 compares them).
    `recon_kwargs` go to the reconstruction loss, e.g. sigma=0.1 for recon="gaussian".
    `free_bits` (nats per latent dimension, training only) is neg_elbo's KL allowance (05).
    """
    if free_bits and kl != "closed":
        raise ValueError("free_bits needs the closed-form KL (kl='closed')")
    def step(model, batch, epoch=0):
        x, y = batch[0], batch[1]
        c = condition(y) if condition is not None else None
        mu, logvar = model.encode(x, c) if c is not None else model.encode(x)
        # one sample, in evaluation too (as pytorch/examples), unless sample=False
        z = model.reparameterize(mu, logvar) if sample else mu
        x_hat = model.decode(z, c) if c is not None else model.decode(z)
        b = beta(epoch) if callable(beta) else beta
        # evaluation always reports the closed-form KL, so both variants share one test metric
        total, nll, kl_value = neg_elbo(x_hat, x, mu, logvar, z, recon,
                                        kl if model.training else "closed", b,
                                        free_bits if model.training else 0.0, **recon_kwargs)
        elbo = nll + kl_value  # the true negative ELBO, whatever beta is
        return {"loss": total, "neg_elbo": elbo.detach(), "recon": nll.detach(),
                "kl": kl_value.detach()}
    return step


# ---------------------------------------------------------------------------------------------
# measuring the estimators and the likelihood (04)
# ---------------------------------------------------------------------------------------------

def kl_mc_draws(mu: torch.Tensor, logvar: torch.Tensor, num_draws: int = 100,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """num_draws one-sample Monte-Carlo KL estimates per image: shape (num_draws, B), nats.

    Their mean approaches kl_per_dim(...).sum() per image; their spread is the estimator's noise,
    which the closed form does not have (04 measures it).
    """
    eps = torch.randn((num_draws, *mu.shape), generator=generator).to(mu.device)
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)  # (z - mu)^2 / s^2 = eps^2
    log_p = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
    return log_q - log_p


@torch.no_grad()
def importance_nll(model, x: torch.Tensor, c=None, num_samples: int = 50) -> torch.Tensor:
    """Importance-sampled -log p(x) per image (nats), Bernoulli pixels: shape (B,).

    -log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) with z_k ~ q(z|x) (Burda et al. 2016): a tighter
    bound than the negative ELBO, approaching -log p(x) as K grows. Runs the model in eval mode.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device  # helpers move inputs to the model (device rule)
    x = x.to(device)
    c = c.to(device) if c is not None else None
    try:
        mu, logvar = model.encode(x, c) if c is not None else model.encode(x)
        log_w = []
        for _ in range(num_samples):
            z = model.reparameterize(mu, logvar)
            x_hat = model.decode(z, c) if c is not None else model.decode(z)
            log_px = -F.binary_cross_entropy(x_hat, x, reduction="none").flatten(1).sum(1)
            zeros = torch.zeros_like(z)
            log_w.append(log_px + log_normal(z, zeros, zeros) - log_normal(z, mu, logvar))
        return -(torch.logsumexp(torch.stack(log_w), 0) - math.log(num_samples)).cpu()
    finally:
        model.train(was_training)


@torch.no_grad()
def neg_elbo_per_image(model, x: torch.Tensor, seed: int = 0, batch_size: int = 500) -> torch.Tensor:
    """One-sample negative ELBO of each image (nats), closed-form KL, Bernoulli pixels: (B,) CPU.

    The per-image form of vae_step's test metric, for paired comparisons of two models on the
    same images (04); z's noise is drawn from `seed`, so two calls give the same draws.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    out = []
    try:
        for xb in x.split(batch_size):
            xb = xb.to(device)
            mu, logvar = model.encode(xb)
            eps = torch.randn(mu.shape, generator=g).to(device)
            x_hat = model.decode(mu + torch.exp(0.5 * logvar) * eps)
            kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1)
            out.append((bce_per_image(x_hat, xb) + kl).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out)
