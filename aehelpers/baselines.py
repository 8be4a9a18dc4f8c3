"""Anomaly scores that learn nothing: how far an image's plain statistics lie from the training set's.

    scores = baselines.statistic_scores(x, train_x)   # {"saturation": (N,), "brightness": ..., ...}
    name, auc = baselines.best_on(scores_val, y_val)   # the statistic that validation data prefers

If one of these separates normal from anomalous images as well as an autoencoder does, the task is
a sanity check, not a result: the model is not what finds the anomalies (03_anomaly_cats). Every
score is "higher = more anomalous" and uses nothing of the training images but their mean
statistics. Introduced in 03_anomaly_cats. This module imports only anomaly (for the AUROC).
"""

from __future__ import annotations

import torch

from .anomaly import auroc

STATISTICS = {"saturation": "mean colour saturation", "brightness": "mean brightness",
              "histogram": "colour histogram distance", "darkest": "darkest spot"}


def _saturation(x: torch.Tensor) -> torch.Tensor:
    """Mean HSV saturation per image, (max - min) / max over the channels; 0 for grey images."""
    hi, lo = x.amax(1), x.amin(1)
    return ((hi - lo) / hi.clamp_min(1e-6)).flatten(1).mean(1)


def _histogram(x: torch.Tensor, bins: int = 8) -> torch.Tensor:
    """Per-image histogram of each channel's values in [0, 1], (N, C * bins), each channel's sums 1."""
    idx = (x.clamp(0, 1) * bins).long().clamp(max=bins - 1).flatten(2)  # (N, C, H*W)
    counts = torch.zeros(*idx.shape[:2], bins).scatter_add_(2, idx, torch.ones_like(idx, dtype=torch.float))
    return (counts / idx.shape[-1]).flatten(1)


def _darkest(x: torch.Tensor) -> torch.Tensor:
    """Darkest 3x3-averaged spot of the grey image: 1 minus its brightness (a dark blemish raises it)."""
    grey = torch.nn.functional.avg_pool2d(x.mean(1, keepdim=True), 3, stride=1)
    return 1 - grey.flatten(1).amin(1)


def statistic_scores(x: torch.Tensor, train: torch.Tensor) -> dict[str, torch.Tensor]:
    """Learning-free anomaly scores of images x (N, C, H, W) in [0, 1] against training images:
    the absolute difference of mean saturation, mean brightness and darkest spot to the training
    mean, and the L1 distance of the colour histogram to the training mean histogram. (N,) each."""
    if x.dim() != 4 or train.dim() != 4 or x.shape[1:] != train.shape[1:]:
        raise ValueError(f"x and train must be image batches of the same (C, H, W), got "
                         f"{tuple(x.shape)} and {tuple(train.shape)}")
    x, train = x.detach().float().cpu(), train.detach().float().cpu()
    out = {}
    for name, fn in (("saturation", _saturation), ("brightness", lambda t: t.flatten(1).mean(1)),
                     ("darkest", _darkest)):
        out[name] = (fn(x) - fn(train).mean()).abs()
    out["histogram"] = (_histogram(x) - _histogram(train).mean(0)).abs().sum(1)
    return {k: out[k] for k in STATISTICS}


def best_on(scores: dict[str, torch.Tensor], labels) -> tuple[str, float]:
    """The statistic with the highest AUROC on (scores, labels), e.g. validation data, and that AUROC."""
    aurocs = {k: auroc(v, labels) for k, v in scores.items()}
    name = max(aurocs, key=aurocs.get)
    return name, aurocs[name]
