"""Input corruptions for denoising autoencoders: vectorised, batch-wise, reproducible.

    corrupt = noise.masking_noise(p=0.3)              # a Noise: call it on a batch
    x_noisy = corrupt(x)                              # x (B, C, H, W) in [0, 1]; x is not changed
    history = train.fit(model, train_loader, val_loader, loss=losses.mse, noise=corrupt)
    noise.NOISES["gaussian"](sigma=0.3)               # the same zoo, by name

Every transform works on a whole batch on the batch's device, returns a new tensor in [0, 1]
(the clean x stays available as the target), raises ValueError for parameters out of range, and
takes an optional torch.Generator (given to the factory, or to the call) for reproducible draws.
A generator on x's device draws there; a CPU generator draws on the CPU and copies the draws
over, so the same seed gives the same noise on any device.

The "student masks" are what students wrote, e.g. `x[torch.randn_like(x) < 0.5] = 0`: each pixel
is zeroed independently when a draw falls below a threshold, so the zeroed fraction is that
distribution's CDF at the threshold (Phi(0.5) ~ 0.69 here, not 0.5). `Noise.zero_probability`
gives the exact value and `zeroed_fraction` measures it. Introduced in 02_denoising_noise_zoo,
with `per_pixel_masking`, the per-pixel loop kept to time it; 03 adds `student_mask` (001's masks
exactly as written, bugs included), `blemish` (a dark spot) and `cut_and_shift` (an outline cut
and shifted, every pixel value kept): its hard cases.
This module imports nothing else from the package.
"""

from __future__ import annotations

import math
import random

import torch

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def _draw(kind: str, x: torch.Tensor, generator, **kw) -> torch.Tensor:
    """Draws shaped like x, on the generator's device (then moved to x's): 'rand' or 'randn'."""
    device = generator.device if generator is not None else x.device
    fn = torch.rand if kind == "rand" else torch.randn
    return fn(x.shape, generator=generator, device=device, dtype=x.dtype).to(x.device)


def _on_generator_device(t: torch.Tensor, generator) -> torch.Tensor:
    return t.to(generator.device) if generator is not None else t


def _check_input(x) -> None:
    if not torch.is_tensor(x) or not x.is_floating_point():
        what = x.dtype if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"noise takes a float tensor with values in [0, 1], got {what}; "
                         f"convert uint8 images with x.float() / 255")


def _check(name: str, value, low=None, high=None, low_open=False) -> float:
    """Return value as float, or raise ValueError naming the parameter and its allowed range."""
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if not math.isfinite(value) or too_low or too_high:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        bracket = "(" if low_open or low is None else "["
        raise ValueError(f"{name} must be in {bracket}{lo}, {hi}], got {value}")
    return value


class Noise:
    """A corruption x -> x_noisy with its parameters; call it on a batch (B, C, H, W) in [0, 1]."""

    def __init__(self, name: str, fn, params: dict, generator=None, zero_probability=None):
        self.name, self.fn, self.params = name, fn, params
        self.generator = generator  # used when a call passes none
        self.zero_probability = zero_probability  # chance a pixel is set to 0 (masks), else None

    def __call__(self, x: torch.Tensor, generator=None) -> torch.Tensor:
        _check_input(x)
        return self.fn(x, generator if generator is not None else self.generator, **self.params)

    @property
    def label(self) -> str:
        """Short text for tables and figure titles, e.g. 'gaussian sigma=0.3'."""
        return " ".join([self.name] + [f"{k}={v:g}" for k, v in self.params.items()])

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Noise({self.name}: {args})"


# ---------------------------------------------------------------------------------------------
# the transforms (each returns a new tensor in [0, 1])
# ---------------------------------------------------------------------------------------------

def _gaussian(x, g, sigma):
    return (x + sigma * _draw("randn", x, g)).clamp(0, 1)


def _masking(x, g, p):
    return x * (_draw("rand", x, g) >= p)


def _salt_pepper(x, g, p, salt):
    u = _draw("rand", x, g)
    out = torch.where(u < p * salt, torch.ones_like(x), x)  # the first p*salt of [0, 1): white
    return torch.where((u >= p * salt) & (u < p), torch.zeros_like(x), out)  # the rest: black


def _poisson(x, g, photons):
    rate = _on_generator_device(x.clamp(0, 1) * photons, g)
    return (torch.poisson(rate, generator=g).to(x.device) / photons).clamp(0, 1)


def _speckle(x, g, sigma):
    return (x * (1 + sigma * _draw("randn", x, g))).clamp(0, 1)


def _zero_below(x, draws, threshold):
    return torch.where(draws.to(x.device) < threshold, torch.zeros_like(x), x)


def _randn_mask(x, g, threshold):
    return _zero_below(x, _draw("randn", x, g), threshold)


def _gamma_draws(shape, concentration, g, like):
    alpha = torch.full(shape, concentration, dtype=like.dtype,
                       device=g.device if g is not None else like.device)
    return torch._standard_gamma(alpha, generator=g)  # Gamma(concentration, rate=1)


def _gamma_mask(x, g, concentration, rate, threshold):
    return _zero_below(x, _gamma_draws(x.shape, concentration, g, x) / rate, threshold)


def _beta_mask(x, g, a, b, threshold):
    ga, gb = _gamma_draws(x.shape, a, g, x), _gamma_draws(x.shape, b, g, x)
    return _zero_below(x, ga / (ga + gb), threshold)  # Beta(a, b) = Ga / (Ga + Gb)


def _laplace_mask(x, g, loc, scale, threshold):
    u = _draw("rand", x, g) * 2 - 1  # uniform on [-1, 1): inverse CDF, as torch's Laplace does
    eps = torch.finfo(x.dtype).eps
    draws = loc - scale * torch.sign(u) * torch.log1p(-u.abs().clamp(max=1 - eps))
    return _zero_below(x, draws, threshold)


# ---------------------------------------------------------------------------------------------
# factories: check the parameters once, return a Noise
# ---------------------------------------------------------------------------------------------

def gaussian_noise(sigma: float = 0.3, generator=None) -> Noise:
    """Additive Gaussian: x + sigma * N(0, 1) per value, clipped to [0, 1] (sigma: pixel units)."""
    sigma = _check("sigma", sigma, low=0)
    return Noise("gaussian", _gaussian, {"sigma": sigma}, generator)


def masking_noise(p: float = 0.3, generator=None) -> Noise:
    """Masking (dropout on pixels): each value is set to 0 with probability p, else kept."""
    p = _check("p", p, 0, 1)
    return Noise("masking", _masking, {"p": p}, generator, zero_probability=p)


def salt_pepper_noise(p: float = 0.1, salt: float = 0.5, generator=None) -> Noise:
    """Salt and pepper: each value becomes 1 (prob. p*salt) or 0 (prob. p*(1-salt)), else kept."""
    p, salt = _check("p", p, 0, 1), _check("salt", salt, 0, 1)
    return Noise("salt_pepper", _salt_pepper, {"p": p, "salt": salt}, generator,
                 zero_probability=p * (1 - salt))


def poisson_noise(photons: float = 20.0, generator=None) -> Noise:
    """Shot noise: Poisson(photons * x) / photons, clipped to 1; fewer photons = noisier.

    A pixel of value x collects on average photons * x photons; its relative noise is
    1 / sqrt(photons * x), so dark pixels are relatively noisier and black stays black.
    """
    photons = _check("photons", photons, low=0, low_open=True)
    return Noise("poisson", _poisson, {"photons": photons}, generator)


def speckle_noise(sigma: float = 0.3, generator=None) -> Noise:
    """Multiplicative (speckle): x * (1 + sigma * N(0, 1)), clipped; black stays black."""
    sigma = _check("sigma", sigma, low=0)
    return Noise("speckle", _speckle, {"sigma": sigma}, generator)


def randn_mask(threshold: float = 0.5, generator=None) -> Noise:
    """Student mask `x[torch.randn_like(x) < t] = 0`: zeroes each value with probability Phi(t).

    Phi is the standard normal CDF, Phi(t) = (1 + erf(t / sqrt 2)) / 2: t=0.5 zeroes ~69% of the
    pixels, t=0 half of them. The threshold is a z-score, not a probability.
    """
    t = _check("threshold", threshold)
    p = 0.5 * (1 + math.erf(t / math.sqrt(2)))
    return Noise("randn_mask", _randn_mask, {"threshold": t}, generator, zero_probability=p)


def gamma_mask(concentration: float = 2.0, rate: float = 2.0, threshold: float = 0.5,
               generator=None) -> Noise:
    """Student mask `x[Gamma(k, rate).sample(x.shape) < t] = 0`: zero probability P(k, rate * t).

    P is the regularised lower incomplete gamma function (the Gamma CDF); for k=2, rate=2, t=0.5
    it is 1 - 2/e ~ 0.26. Gamma draws are never negative, so t <= 0 zeroes nothing.
    """
    k = _check("concentration", concentration, low=0, low_open=True)
    rate = _check("rate", rate, low=0, low_open=True)
    t = _check("threshold", threshold)
    p = float(torch.special.gammainc(torch.tensor(k, dtype=torch.float64),
                                     torch.tensor(rate * max(t, 0.0), dtype=torch.float64)))
    return Noise("gamma_mask", _gamma_mask, {"concentration": k, "rate": rate, "threshold": t},
                 generator, zero_probability=p)


def beta_mask(a: float = 2.0, b: float = 5.0, threshold: float = 0.2, generator=None) -> Noise:
    """Student mask `x[Beta(a, b).sample(x.shape) < t] = 0`: zero probability I_t(a, b).

    I_t(a, b) is the regularised incomplete beta function (the Beta CDF); for a=2, b=5, t=0.2 it
    is ~0.34. Beta draws lie in (0, 1), so t >= 1 zeroes every pixel.
    """
    from scipy.special import betainc

    a = _check("a", a, low=0, low_open=True)
    b = _check("b", b, low=0, low_open=True)
    t = _check("threshold", threshold)
    p = float(betainc(a, b, min(max(t, 0.0), 1.0)))
    return Noise("beta_mask", _beta_mask, {"a": a, "b": b, "threshold": t}, generator,
                 zero_probability=p)


def laplace_mask(loc: float = 0.0, scale: float = 1.0, threshold: float = 0.5,
                 generator=None) -> Noise:
    """Student mask `x[Laplace(loc, scale).sample(x.shape) < t] = 0`: zero probability F(t).

    F(t) = exp((t - loc) / scale) / 2 for t < loc, else 1 - exp(-(t - loc) / scale) / 2;
    t = loc zeroes half of the pixels whatever the scale; loc=0, scale=1, t=0.5 zeroes ~70%.
    """
    loc, t = _check("loc", loc), _check("threshold", threshold)
    scale = _check("scale", scale, low=0, low_open=True)
    z = (t - loc) / scale
    p = 0.5 * math.exp(z) if z < 0 else 1 - 0.5 * math.exp(-z)
    return Noise("laplace_mask", _laplace_mask, {"loc": loc, "scale": scale, "threshold": t},
                 generator, zero_probability=p)


NOISES = {"gaussian": gaussian_noise, "masking": masking_noise, "salt_pepper": salt_pepper_noise,
          "poisson": poisson_noise, "speckle": speckle_noise, "randn_mask": randn_mask,
          "gamma_mask": gamma_mask, "beta_mask": beta_mask, "laplace_mask": laplace_mask}


def make(name: str, generator=None, **params) -> Noise:
    """Build a Noise by name (see NOISES) with its parameters; an unknown name lists the known."""
    if name not in NOISES:
        raise ValueError(f"unknown noise {name!r}; known: {', '.join(NOISES)}")
    return NOISES[name](generator=generator, **params)


# ---------------------------------------------------------------------------------------------
# measuring what a noise really did
# ---------------------------------------------------------------------------------------------

def changed_fraction(x: torch.Tensor, x_noisy: torch.Tensor, atol: float = 1e-6) -> float:
    """Fraction of values of x_noisy that differ from x by more than atol (0..1)."""
    return ((x_noisy - x).abs() > atol).float().mean().item()


def zeroed_fraction(x: torch.Tensor, x_noisy: torch.Tensor) -> float:
    """Fraction of the non-zero values of x that x_noisy set to exactly 0 (0..1; nan if none)."""
    alive = x != 0
    n = int(alive.sum())
    return ((x_noisy == 0) & alive).sum().item() / n if n else float("nan")


def measure(noise: Noise, shape=(64, 1, 28, 28), seed: int = 0) -> dict:
    """Noise a batch of mid-grey (0.5) images: measured zeroed/changed fractions and the formula."""
    x = torch.full(shape, 0.5)
    x_noisy = noise(x, torch.Generator().manual_seed(seed))
    return {"noise": noise.label, "zeroed": zeroed_fraction(x, x_noisy),
            "changed": changed_fraction(x, x_noisy), "expected_zeroed": noise.zero_probability}


# ---------------------------------------------------------------------------------------------
# the students' in-place bug, as a train.fit step (for the experiment that measures its cost)
# ---------------------------------------------------------------------------------------------

def inplace_target_step(loss, corrupt: Noise):
    """A `train.fit(step=...)` step with the students' bug: `x[mask] = 0` on the batch that is
    also the target, so the model learns noisy -> the same noisy image; no noise in eval mode.
    Compare with `train.reconstruction_step`, which keeps the clean x as the target."""
    def step(model, batch, epoch=0):
        x = batch[0]
        if model.training:
            x = x.clone()  # the data set stays clean, as in the students' __getitem__ (x / 255)
            x.copy_(corrupt(x))  # in place, like x[mask] = 0: input and target are one tensor
        return {"loss": loss(model(x), x)}
    return step


# ---------------------------------------------------------------------------------------------
# 001's noises as the students wrote them: which pixels each one really zeroes (03)
# ---------------------------------------------------------------------------------------------

# the share of values each mask zeroes, from its formula
STUDENT_MASK_SHARE = {
    "randn < 0.5": 0.6915,  # Phi(0.5): a z-score used as if it were a probability
    "Poisson(U) == 0": 0.6321,  # E[exp(-U)] = 1 - 1/e for U ~ Uniform(0, 1)
    "Gamma(U, 1).mean < 0.5": 0.5,  # the mean of Gamma(U, 1) is U itself: never a Gamma draw
    "Beta(2, 2) < 0.5": 0.5,  # symmetric around 0.5
    "Beta(2, 2) < 0.3": 0.216,  # 3 t^2 - 2 t^3 at t = 0.3
    "Laplace(0, 2) < 0": 0.5,  # symmetric around 0
}


def student_mask(kind: str, shape, generator=None) -> torch.Tensor:
    """Bool mask (True = set to 0) of one of 001's noises exactly as written (STUDENT_MASK_SHARE)."""
    g = generator
    if kind == "randn < 0.5":
        return torch.randn(shape, generator=g) < 0.5
    if kind == "Poisson(U) == 0":
        return torch.poisson(torch.rand(shape, generator=g), generator=g) == 0
    if kind == "Gamma(U, 1).mean < 0.5":
        alpha = torch.rand(shape, generator=g).clamp_min(1e-3)
        return torch.distributions.Gamma(alpha, torch.ones(shape)).mean < 0.5
    if kind.startswith("Beta(2, 2) < "):
        a = torch._standard_gamma(torch.full(shape, 2.0), generator=g)
        b = torch._standard_gamma(torch.full(shape, 2.0), generator=g)
        return a / (a + b) < float(kind.rsplit("<", 1)[1])
    if kind == "Laplace(0, 2) < 0":
        u = torch.rand(shape, generator=g) * 2 - 1  # inverse CDF, as torch's Laplace samples
        return -2.0 * torch.sign(u) * torch.log1p(-u.abs().clamp(max=1 - 1e-7)) < 0
    raise ValueError(f"unknown student mask {kind!r}: use one of {list(STUDENT_MASK_SHARE)}")


def student_noise(kind: str, generator=None):
    """Training noise for train.fit: x -> a copy of x with student_mask(kind) set to 0 (the
    target stays clean: the students' in-place `x[mask] = 0` zeroed their target too)."""
    def corrupt(x):
        mask = student_mask(kind, tuple(x.shape), generator).to(x.device)
        return x.masked_fill(mask, 0.0)
    return corrupt


def per_pixel_masking(img, p: float = 0.3, rows: int | None = None, seed: int = 0):
    """Masking noise the way students first write it: a Python loop over every channel, row and
    column of one image (C, H, W), a tensor or a numpy array; a new image. Kept only to time it
    against masking_noise (02, bench/noise.py); `rows` limits the loop to the first rows."""
    draw = random.Random(seed).random
    out = img.clone() if torch.is_tensor(img) else img.copy()
    for c in range(out.shape[0]):
        for i in range(out.shape[1] if rows is None else rows):
            for j in range(out.shape[2]):
                if draw() < p:
                    out[c, i, j] = 0.0
    return out


def blemish(x: torch.Tensor, darkness: float = 0.7, radius: float = 3.0, seed: int = 0):
    """03's hard case: one dark, soft spot per image of x (N, C, H, W), near its centre (seeded).

    A Gaussian spot of `radius` px multiplies the pixels by 1 - darkness * spot: darkness 0.7
    takes 70% of the light at its middle, 0 changes nothing. Same seed, same places.
    """
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    if not 0 <= darkness <= 1:
        raise ValueError(f"darkness is a fraction in [0, 1], got {darkness}")
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    cy = h / 2 + (torch.rand(n, generator=g) - 0.5) * 0.4 * h
    cx = w / 2 + (torch.rand(n, generator=g) - 0.5) * 0.4 * w
    yy, xx = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    d2 = (yy[None] - cy[:, None, None]) ** 2 + (xx[None] - cx[:, None, None]) ** 2
    spot = torch.exp(-d2 / (2 * radius ** 2))[:, None].to(x.device, x.dtype)
    return x * (1 - darkness * spot)


def cut_and_shift(x: torch.Tensor, shift: tuple = (0.05, 0.1), cut: tuple = (0.35, 0.65),
                  seed: int = 0):
    """03's hard case with no statistic's help: each image of x (N, C, H, W) cut along one row
    and its top part rolled sideways (seeded).

    The cut falls between `cut` (fractions of H from the top); the roll is `shift` (fractions of
    W, rounded to at least 1 px), left or right. Every pixel value is kept, only moved: the
    brightness, colour and histogram of each image are those of the original.
    """
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    if not (0 <= shift[0] <= shift[1] < 1 and 0 < cut[0] <= cut[1] < 1):
        raise ValueError(f"shift and cut are (low, high) fractions in [0, 1), got {shift}, {cut}")
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = x.shape
    row = (h * (cut[0] + (cut[1] - cut[0]) * torch.rand(n, generator=g))).long()
    px = (w * (shift[0] + (shift[1] - shift[0]) * torch.rand(n, generator=g))).round().clamp(min=1)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1, 1)
    roll = (sign * px).long()
    # source column of each output pixel: rolled above the cut, in place below it
    cols = torch.arange(w)[None, None, :].expand(n, h, w)
    above = torch.arange(h)[None, :, None] < row[:, None, None]
    src = torch.where(above, (cols - roll[:, None, None]) % w, cols)
    src = src[:, None].expand(-1, x.shape[1], -1, -1).to(x.device)
    return x.gather(3, src)
