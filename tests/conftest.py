"""Shared fixtures: a quiet smoke config, and the real data in ../shared/data when it is there."""

from pathlib import Path

import pytest
import torch

from aehelpers import config

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def smoke_config(tmp_path, monkeypatch):
    """Every test runs in the smoke profile with figures written to a temporary folder."""
    monkeypatch.setenv(config.PROFILE_ENV, "smoke")
    cfg = config.setup("test", profile="smoke", verbose=False)
    cfg.media_dir = tmp_path / "media"
    cfg.media_dir.mkdir()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return cfg


@pytest.fixture
def shared_data():
    """Path of ../shared/data (real MNIST test set, Fruits-360 apples, cat photos), else skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED_DATA
