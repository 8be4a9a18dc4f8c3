"""Image-quality and classification metrics, per image where that makes sense.

    metrics.psnr(x_hat, x)        # dB per image, shape (B,)
    metrics.ssim(x_hat, x)        # structural similarity per image in [-1, 1], shape (B,)

Images are float tensors (B, C, H, W) with values in [0, 1]. Introduced in 01 (mse) and 02 (psnr,
ssim), 04 (active_units) and 05 (probe_accuracy: what a latent code knows); where a generated
digit was drawn is judged in `positions`, anomaly scores and AUROC live in `anomaly`.
This module imports nothing else from the package.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def mse_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image (mean over C, H, W): shape (B,)."""
    return (x_hat - x).pow(2).flatten(1).mean(1)


def psnr(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB: 10 log10(range^2 / MSE); shape (B,)."""
    mse = mse_per_image(x_hat, x).clamp_min(1e-12)  # a perfect copy gives 120 dB, not inf
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_window(size: int, sigma: float, channels: int, device) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-coords.pow(2) / (2 * sigma**2))
    g = (g / g.sum())[:, None] @ (g / g.sum())[None, :]
    return g.expand(channels, 1, size, size).contiguous()


def ssim(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0, window: int = 7,
         sigma: float = 1.5) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004) per image, Gaussian window, mean over the map: (B,).

    The window shrinks to fit images smaller than `window` (an odd size, at least 3).
    """
    c = x.shape[1]
    window = min(window, x.shape[-1], x.shape[-2])
    window = max(3, window - (window + 1) % 2)  # odd
    w = _gaussian_window(window, sigma, c, x.device)
    blur = lambda t: F.conv2d(t, w, groups=c)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x_hat), blur(x)
    var_x = blur(x_hat * x_hat) - mu_x.pow(2)
    var_y = blur(x * x) - mu_y.pow(2)
    cov = blur(x_hat * x) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x.pow(2) + mu_y.pow(2) + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1)


def gaussian_blur(x: torch.Tensor, sigma, radius: int | None = None) -> torch.Tensor:
    """Blur each channel of x (B, C, H, W) with a Gaussian of sigma px, one number or one per
    image (B,); edges replicated; radius defaults to 2.5 x the largest sigma (at least 1 px).

    03 and 07 blur error maps with it; 05 trains its judge on blurred digits, because a VAE
    decodes pixel probabilities, so its digits are soft-edged.
    """
    b, c, h, w = x.shape
    sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(b)
    if (sigma <= 0).any():
        raise ValueError("sigma must be positive")
    radius = max(1, round(2.5 * float(sigma.max()))) if radius is None else radius
    k = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-k[None] ** 2 / (2 * sigma[:, None] ** 2))
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B * C, 2r + 1)
    y = F.pad(x.reshape(1, b * c, h, w), (radius, radius, radius, radius), mode="replicate")
    y = F.conv2d(y, kernel[:, None, None, :], groups=b * c)  # along the rows: separable
    y = F.conv2d(y, kernel[:, None, :, None], groups=b * c)  # along the columns
    return y.reshape(b, c, h, w)


def checkerboard(x: torch.Tensor) -> torch.Tensor:
    """Strength of the 2x2 checkerboard pattern per image: |mean of x * (-1)^(i+j)| over pixels, (B,).

    This is the image's Fourier coefficient at the highest frequency in both directions, the one
    a stride-2 transposed convolution with a 3x3 kernel prints (Odena et al., 2016).
    """
    h, w = x.shape[-2:]
    i = torch.arange(h, device=x.device)[:, None]
    j = torch.arange(w, device=x.device)[None, :]
    sign = 1.0 - 2.0 * ((i + j) % 2).float()  # +1 -1 +1 ... in a checkerboard
    return (x * sign).mean(dim=(-2, -1)).abs().flatten(1).mean(1)


def accuracy(logits_or_labels: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of predictions equal to target; takes logits (B, K) or predicted labels (B,)."""
    pred = logits_or_labels.argmax(1) if logits_or_labels.ndim == 2 else logits_or_labels
    return (pred == target).float().mean().item()


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance between all pairs of images in x (B, ...), per pixel RMS units."""
    flat = x.flatten(1)
    d = torch.cdist(flat, flat) / flat.shape[1] ** 0.5
    n = len(flat)
    return (d.sum() / (n * (n - 1))).item() if n > 1 else 0.0


def nearest_neighbour_distance(x: torch.Tensor, reference: torch.Tensor,
                               chunk: int = 512) -> torch.Tensor:
    """Distance from each image of x to its nearest image in reference, per pixel RMS units: (B,).

    Introduced in 06_gan_csp: a generator that copies its training images scores near 0.
    """
    if x.shape[1:] != reference.shape[1:]:
        raise ValueError(f"x and reference images differ in shape: {tuple(x.shape[1:])} vs "
                         f"{tuple(reference.shape[1:])}")
    flat, ref = x.flatten(1).float(), reference.flatten(1).float()
    best = [torch.cdist(flat[i:i + chunk], ref).min(1).values for i in range(0, len(flat), chunk)]
    return torch.cat(best) / flat.shape[1] ** 0.5


# ---------------------------------------------------------------------------------------------
# VAE latents (04, 05)
# ---------------------------------------------------------------------------------------------

def active_units(mu: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Latent dims whose posterior mean varies across images: (count, variance per dim (D,)).

    A unit is active when Var_x(E_q[z_u | x]) > threshold (Burda et al. 2016); an inactive one
    gives every image the same code, so the decoder ignores it (posterior collapse, 04).
    """
    variance = mu.detach().float().var(0)
    return int((variance > threshold).sum()), variance


def knn_accuracy(z_train: torch.Tensor, y_train: torch.Tensor, z_test: torch.Tensor,
                 y_test: torch.Tensor, k: int = 10, chunk: int = 1024) -> float:
    """Accuracy of a k-nearest-neighbour vote (Euclidean) in code space: what codes z know of y.

    A probe of a latent space (05): near chance when the codes hold nothing of the labels, near 1
    when codes of one label sit together. Ties go to the smallest label; no fitting, no seed.
    """
    if len(z_train) < k:
        raise ValueError(f"k={k} neighbours need at least {k} training codes, got {len(z_train)}")
    z_train, z_test = z_train.flatten(1).float(), z_test.flatten(1).float()
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    hits = 0
    for i in range(0, len(z_test), chunk):
        near = torch.cdist(z_test[i:i + chunk], z_train).topk(k, largest=False).indices
        votes = F.one_hot(y_train[near], num_classes).sum(1)  # (b, num_classes)
        hits += (votes.argmax(1) == y_test[i:i + chunk]).sum().item()
    return hits / len(z_test)


# ---------------------------------------------------------------------------------------------
# "the same face for every input" and judged samples (04)
# ---------------------------------------------------------------------------------------------

def variety_ratio(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """Mean pairwise distance of the reconstructions over that of their inputs: 0 = one image
    for every input, 1 = as varied as the inputs (04's "same face" measure)."""
    return mean_pairwise_distance(x_hat) / max(mean_pairwise_distance(x), 1e-12)


def distance_ratio(x_hat: torch.Tensor, x: torch.Tensor, reference: torch.Tensor) -> float:
    """Mean distance of x_hat to one reference image (e.g. the mean face) over that of x:
    0 = every output is the reference, 1 = as far from it as the inputs are (04)."""
    d_hat = (x_hat - reference).flatten(1).norm(dim=1).mean()
    d_x = (x - reference).flatten(1).norm(dim=1).mean()
    return (d_hat / d_x.clamp_min(1e-12)).item()
