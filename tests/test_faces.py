"""The face experiments' tools (06_gan_csp): hard non-faces and diversity."""

import pytest
import torch

from aehelpers import faces, metrics


def test_diversity_sees_collapse_and_copies():
    g = torch.Generator().manual_seed(0)
    train, real = torch.rand(20, 1, 6, 6, generator=g), torch.rand(20, 1, 6, 6, generator=g)
    collapsed = train[:1].repeat(20, 1, 1, 1)  # one training image, twenty times
    fake, held = faces.diversity(collapsed, train), faces.diversity(real, train)
    assert fake["pixels"] == fake["blurred"] == 0.0 < held["blurred"] < held["pixels"]
    assert fake["nn_train"] == 0.0 < held["nn_train"]


def test_shuffle_patches_keeps_the_tiles_and_moves_them():
    x = torch.arange(2 * 100.0).view(2, 1, 10, 10)
    y = faces.shuffle_patches(x, patch=5, generator=torch.Generator().manual_seed(1))
    tiles = lambda t: sorted(tuple(t[0, r:r + 5, c:c + 5].flatten().tolist())
                             for r in (0, 5) for c in (0, 5))
    for i in range(2):
        assert tiles(y[i]) == tiles(x[i])  # the same four tiles, same pixels
    assert not torch.equal(y, x)


def test_phase_scramble_keeps_brightness_and_loses_the_layout():
    x = torch.zeros(4, 1, 16, 16)
    x[:, :, 4:12, 6:10] = 0.8  # a bright bar in the middle
    y = faces.phase_scramble(x, generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    assert abs(y.mean().item() - x.mean().item()) < 0.1  # the DC term is kept (up to clamping)
    assert (y - x).abs().mean() > 0.1  # the bar is gone from its place


def test_nearest_neighbour_distance_known_values():
    ref = torch.zeros(3, 1, 2, 2)
    ref[1] = 1.0
    x = torch.stack([ref[1], torch.full((1, 2, 2), 0.25)])
    # x[0] is a copy of ref[1]; x[1] is 0.25 from ref[0] in every pixel
    assert metrics.nearest_neighbour_distance(x, ref).tolist() == pytest.approx([0.0, 0.25])
    assert metrics.nearest_neighbour_distance(x, ref, chunk=1).tolist() == pytest.approx(
        [0.0, 0.25])
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.nearest_neighbour_distance(x, torch.zeros(3, 1, 3, 3))
