"""aehelpers: the small package behind the autoencoder course notebooks.

    from aehelpers import config, data, models, train, losses, plots, reports
    cfg = config.setup("01_conv_ae")

One concern per module: config (profile, seed, device, paths), data (datasets and loaders),
noise (input corruptions), blocks (layers and shape_trace), models (AE, VAE, CVAE, GAN), losses,
train (the fit loop) with checkpoint (safe saving and resuming), metrics, positions (05's digits
at a place and their judges), anomaly (scores and thresholds), gan (the GAN loop of 06), wells
(the well images of 07), plots (figures into media/) and reports (metrics.json and PDF reports).
"""

from . import (
    anomaly,
    blocks,
    checkpoint,
    config,
    data,
    gan,
    losses,
    metrics,
    models,
    noise,
    plots,
    positions,
    reports,
    train,
    wells,
)
from .blocks import shape_trace
from .config import setup

__all__ = ["anomaly", "blocks", "checkpoint", "config", "data", "gan", "losses", "metrics",
           "models", "noise", "plots", "positions", "reports", "train", "wells", "setup",
           "shape_trace"]
__version__ = "0.1.0"
