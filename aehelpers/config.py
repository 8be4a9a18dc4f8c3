"""Run configuration: profile, seed, device and paths, set once at the top of a notebook.

    cfg = config.setup("01_conv_ae")   # prints: 01_conv_ae | profile=default seed=0 device=cpu ...
    num_epochs = cfg.pick(smoke=1, default=15, full=40)

The profile comes from, in order: the `profile=` argument (a papermill `parameters` cell passes it),
the environment variable ``AEH_PROFILE``, then ``"default"``.

- ``smoke``: CI; tiny data and one or two epochs, so each notebook runs well under a minute on 2 CPUs.
  Its figures and metrics go to ``build/smoke/media/`` so a test run never overwrites the report's.
- ``default``: ``make reports``; offline: the MNIST test set and Fruits-360 apples shipped in ``data/``,
  scikit-image's faces and cat photo, generated wells.
- ``full``: whole datasets (MNIST 60k, Fruits-360, your cats, ...) from ``data/`` or ``AEH_DATA``; a GPU.

This module imports nothing else from the package.
"""

from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

PROFILES = ("smoke", "default", "full")
PROFILE_ENV = "AEH_PROFILE"  # one switch for every notebook
DATA_ENV = "AEH_DATA"  # where real datasets live, if not in <repo>/data
DOWNLOAD_ENV = "AEH_DOWNLOAD"  # "1" allows loaders to download missing datasets
MEDIA_ENV = "AEH_MEDIA"  # where a run's figures go instead (the seeds run keeps media/ untouched)

REPO_ROOT = Path(__file__).resolve().parent.parent


def resolve_profile(profile: str | None = None) -> str:
    """Return the active profile name: the argument, else $AEH_PROFILE, else 'default'."""
    name = profile or os.environ.get(PROFILE_ENV) or "default"
    name = name.strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {', '.join(PROFILES)} "
            f"(set it with {PROFILE_ENV}=smoke or config.setup(..., profile='smoke'))"
        )
    return name


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a torch.Generator seeded the same."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the fastest available device (CUDA, then Apple MPS, then CPU), or `prefer` if given."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def data_root() -> Path:
    """Return the folder that holds real datasets: $AEH_DATA if set, else <repo>/data."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "data"


def download_allowed() -> bool:
    """Return True when loaders may download missing datasets ($AEH_DOWNLOAD=1)."""
    return os.environ.get(DOWNLOAD_ENV, "").strip().lower() in ("1", "true", "yes")


def media_root(profile: str) -> Path:
    """Return where figures go: $AEH_MEDIA if set, else <repo>/media, or build/smoke/media for smoke."""
    if os.environ.get(MEDIA_ENV):
        return Path(os.environ[MEDIA_ENV]).expanduser()
    if profile == "smoke":
        return REPO_ROOT / "build" / "smoke" / "media"
    return REPO_ROOT / "media"


@dataclass
class Config:
    """What a notebook runs with; `pick` chooses a value per profile."""

    notebook: str  # e.g. "01_conv_ae"; names the media/<notebook>/ folder
    profile: str = "default"  # smoke | default | full
    seed: int = 0  # every random draw in the run starts from this
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    media_dir: Path = REPO_ROOT / "media"  # figures and metrics.json of this notebook

    @property
    def smoke(self) -> bool:
        """True in the CI profile."""
        return self.profile == "smoke"

    @property
    def full(self) -> bool:
        """True in the real-dataset profile."""
        return self.profile == "full"

    def pick(self, smoke, default, full=None):
        """Return the value given for the active profile (`full` falls back to `default`)."""
        if self.profile == "smoke":
            return smoke
        if self.profile == "full" and full is not None:
            return full
        return default

    def generator(self, offset: int = 0) -> torch.Generator:
        """Return a fresh CPU torch.Generator seeded with seed + offset."""
        return torch.Generator().manual_seed(self.seed + offset)

    def summary(self) -> str:
        """One line: notebook, profile, seed, device and versions."""
        return (
            f"{self.notebook} | profile={self.profile} seed={self.seed} device={self.device} "
            f"torch={torch.__version__} python={platform.python_version()}"
        )


_current: Config | None = None


def setup(notebook: str, profile: str | None = None, seed: int = 0, device: str | None = None,
          verbose: bool = True) -> Config:
    """Resolve profile, seed everything, choose the device, print one summary line; return Config.

    A run starts a fresh media/<notebook>/: its metrics.json and figures (*.png) are removed, so
    no number or figure of an earlier run (or of another profile's) can survive into the report.
    """
    global _current
    name = resolve_profile(profile)
    seed_everything(seed)
    cfg = Config(notebook=notebook, profile=name, seed=seed, device=pick_device(device),
                 media_dir=media_root(name) / notebook)
    cfg.media_dir.mkdir(parents=True, exist_ok=True)
    for old in [cfg.media_dir / "metrics.json", *cfg.media_dir.glob("*.png")]:
        old.unlink(missing_ok=True)
    _current = cfg
    if verbose:
        print(cfg.summary())
    return cfg


def current() -> Config:
    """Return the Config of the last `setup` call (a default one when setup was never called)."""
    global _current
    if _current is None:
        name = resolve_profile(None)
        # figures from a script that never called setup go to build/, not into the reports' media/
        _current = Config(notebook="scratch", profile=name,
                          media_dir=REPO_ROOT / "build" / "scratch" / "media")
    return _current
