"""Image-quality and classification metrics, per image where that makes sense.

    metrics.psnr(x_hat, x)        # dB per image, shape (B,)
    metrics.ssim(x_hat, x)        # structural similarity per image in [-1, 1], shape (B,)

Images are float tensors (B, C, H, W) with values in [0, 1]. Introduced in 01 (mse) and 02 (psnr,
ssim), 04 (active_units) and 05 (cell_crop, center_of_mass_cell, position_accuracy: judging
where a generated digit was drawn); anomaly scores and AUROC live in `anomaly`.
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
# VAE latents (04) and judging where a digit was drawn (05)
# ---------------------------------------------------------------------------------------------

def active_units(mu: torch.Tensor, threshold: float = 0.01) -> tuple[int, torch.Tensor]:
    """Latent dims whose posterior mean varies across images: (count, variance per dim (D,)).

    A unit is active when Var_x(E_q[z_u | x]) > threshold (Burda et al. 2016); an inactive one
    gives every image the same code, so the decoder ignores it (posterior collapse, 04).
    """
    variance = mu.detach().float().var(0)
    return int((variance > threshold).sum()), variance


def cell_crop(x: torch.Tensor, row, col, grid: int = 3) -> torch.Tensor:
    """Cut cell (row, col) of a grid x grid canvas out of each image: (B, C, H/grid, W/grid)."""
    h, w = x.shape[-2] // grid, x.shape[-1] // grid
    row = torch.as_tensor(row).long().expand(len(x))
    col = torch.as_tensor(col).long().expand(len(x))
    return torch.stack([x[i, :, r * h:(r + 1) * h, c * w:(c + 1) * w]
                        for i, (r, c) in enumerate(zip(row.tolist(), col.tolist()))])


def center_of_mass_cell(x: torch.Tensor, grid: int = 3, threshold: float = 0.0):
    """(row, col) of the grid cell that holds each image's centre of mass (of intensity): (B,) each.

    Pixels at or below `threshold` count as empty, so a faint haze over the whole canvas does not
    pull the centre towards the middle. An empty image has no centre: row and col are -1.
    """
    x = x.detach().float().sum(1)  # (B, H, W), channels summed
    x = x * (x > threshold)
    b, h, w = x.shape
    mass = x.flatten(1).sum(1)
    ys = (x.sum(2) * torch.arange(h, device=x.device)).sum(1) / mass.clamp_min(1e-12)
    xs = (x.sum(1) * torch.arange(w, device=x.device)).sum(1) / mass.clamp_min(1e-12)
    row = ((ys + 0.5) * grid / h).long().clamp(0, grid - 1)  # pixel centres at i + 0.5
    col = ((xs + 0.5) * grid / w).long().clamp(0, grid - 1)
    empty = mass <= 1e-6
    return row.masked_fill(empty, -1), col.masked_fill(empty, -1)


def position_accuracy(x: torch.Tensor, row, col, grid: int = 3, threshold: float = 0.0) -> float:
    """Fraction of images whose centre of mass lies in the asked cell (row, col)."""
    r, c = center_of_mass_cell(x, grid, threshold)
    row = torch.as_tensor(row).to(r.device).expand(len(x))
    col = torch.as_tensor(col).to(c.device).expand(len(x))
    return ((r == row) & (c == col)).float().mean().item()
