"""aehelpers: the small package behind the autoencoder course notebooks.

    from aehelpers import config, data, models, train, losses, plots, reports
    cfg = config.setup("01_conv_ae")

One concern per module: config (profile, seed, device, paths); data (the course's datasets) over
sets (ImageSet, loaders, splits) and folders (your own images); noise (input corruptions); blocks
(layers and shape_trace); models (AE, VAE, CVAE, classifiers); losses; train (the fit loop) with
checkpoint (safe saving and resuming); metrics (image distances, latent codes); stats (intervals
and verdict words); debug (checks before a long run); evaluate (the one digit judge of generated
samples); positions (05's digits at a place and its GridCVAE); anomaly (scores, thresholds),
baselines (scores that learn nothing); gan (the GAN's networks and loop, 06) and faces (06's face
judge and diversity); wells (07's well images); plots (figures into media/) with printing (their
text size in print), reports (numbers into metrics.json), findings (a section's sentence from
them) and pdfs (the PDF reports); runs (executing notebooks, only where their sources changed),
seeds (the seeds run) and spreads (each number over the seeds).

The device rule: helpers that run a model (train.predict, train.evaluate, the scoring functions
of anomaly, losses and metrics, gan's samplers) move their inputs to the model's device and
return CPU tensors; random draws happen on the data's device; the training loops sync with the
host once per epoch. Notebooks run a model on data only through these helpers, so a notebook runs
unchanged on a GPU (`config.setup` picks CUDA when there is one).
"""
from . import (
    anomaly,
    baselines,
    blocks,
    checkpoint,
    config,
    data,
    debug,
    evaluate,
    faces,
    findings,
    folders,
    gan,
    losses,
    metrics,
    models,
    noise,
    pdfs,
    plots,
    positions,
    printing,
    reports,
    runs,
    seeds,
    sets,
    spreads,
    stats,
    train,
    wells,
)
from .blocks import shape_trace
from .config import setup

__all__ = ["anomaly", "baselines", "blocks", "checkpoint", "config", "data", "debug", "evaluate",
           "faces", "findings", "folders", "gan", "losses", "metrics", "models", "noise", "pdfs",
           "plots", "positions", "printing", "reports", "runs", "seeds", "sets", "spreads", "stats", "train",
           "wells", "setup", "shape_trace"]
__version__ = "0.1.0"
