"""aehelpers: the small package behind the autoencoder course notebooks.

    from aehelpers import config, data, models, train, losses, plots, reports
    cfg = config.setup("01_conv_ae")

One concern per module: config (profile, seed, device, paths), data (datasets and loaders),
noise (input corruptions), blocks (layers and shape_trace), models (AE, VAE, CVAE), losses,
train (the fit loop), metrics, anomaly (scores and thresholds), plots (figures into media/), and
reports (metrics.json and PDF reports); gan (the GAN loop of 06).
"""

from . import anomaly, blocks, config, data, gan, losses, metrics, models, plots, reports, train
from .blocks import shape_trace
from .config import setup

__all__ = ["anomaly", "blocks", "config", "data", "gan", "losses", "metrics", "models", "plots",
           "reports", "train", "setup", "shape_trace"]
__version__ = "0.1.0"
