"""The face experiments' tools (06_gan_csp): hard non-faces for a face judge, and diversity.

    hard = torch.cat([faces.shuffle_patches(x, 5), faces.phase_scramble(x)])  # face pixels, no face
    faces.diversity(generated, train)     # {"pixels", "blurred", "nn_train"}, per-pixel RMS units

A judge that tells faces from non-faces must not call any image with a face's pixels or a face's
spectrum a face: shuffled tiles and scrambled phases keep those and lose the layout. `diversity`
says how far apart a set of images lies, with and without its pixel noise, and how close it sits
to the training images (copying).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import metrics


def shuffle_patches(x: torch.Tensor, patch: int = 5, generator=None) -> torch.Tensor:
    """Each image cut into patch x patch tiles, shuffled: its pixels, not its layout (a hard non-face)."""
    n, c, h, w = x.shape
    gh, gw = h // patch, w // patch
    tiles = x[:, :, :gh * patch, :gw * patch].unfold(2, patch, patch).unfold(3, patch, patch)
    tiles = tiles.reshape(n, c, gh * gw, patch, patch)
    order = torch.stack([torch.randperm(gh * gw, generator=generator) for _ in range(n)])
    tiles = tiles[torch.arange(n)[:, None], :, order].permute(0, 2, 1, 3, 4)  # (n, c, tiles, p, p)
    tiles = tiles.reshape(n, c, gh, gw, patch, patch).permute(0, 1, 2, 4, 3, 5)
    out = x.clone()
    out[:, :, :gh * patch, :gw * patch] = tiles.reshape(n, c, gh * patch, gw * patch)
    return out


def phase_scramble(x: torch.Tensor, generator=None) -> torch.Tensor:
    """x with its Fourier amplitudes kept and its phases randomised: face statistics, no face."""
    f = torch.fft.fft2(x)
    noise = torch.angle(torch.fft.fft2(torch.rand(x.shape, generator=generator)))  # symmetric
    return torch.fft.ifft2(f.abs() * torch.exp(1j * (torch.angle(f) + noise))).real.clamp(0, 1)


def diversity(x: torch.Tensor, train: torch.Tensor) -> dict:
    """Diversity and copying of a set of images x, in per-pixel RMS units (06).

    pixels: mean distance between all pairs of x; blurred: the same after 2x2 average pooling
    (pixel noise makes any set look diverse, blurring keeps the shapes); nn_train: mean distance
    from each image to its nearest training image. A collapsed G has pairwise distances far below
    real images'; a G that copies has nn_train far below that of held-out real images.
    """
    return {"pixels": metrics.mean_pairwise_distance(x),
            "blurred": metrics.mean_pairwise_distance(F.avg_pool2d(x, 2)),
            "nn_train": metrics.nearest_neighbour_distance(x, train).mean().item()}
