"""aehelpers.metrics: image distances, latent codes, judged samples."""

import pytest
import torch

from aehelpers import metrics


def test_knn_accuracy_is_one_for_separated_codes_and_near_chance_for_noise():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(400) % 4
    apart = torch.randn(400, 3, generator=g) * 0.1 + 5 * torch.eye(4, 3)[y]
    assert metrics.knn_accuracy(apart[:300], y[:300], apart[300:], y[300:]) == 1.0
    noise = torch.randn(400, 3, generator=g)
    assert metrics.knn_accuracy(noise[:300], y[:300], noise[300:], y[300:]) < 0.45  # chance 0.25
    with pytest.raises(ValueError, match="need at least"):
        metrics.knn_accuracy(noise[:5], y[:5], noise[5:10], y[5:10], k=10)


def test_gaussian_blur_keeps_the_mass_and_spreads_a_point():
    x = torch.zeros(2, 1, 15, 15)
    x[:, 0, 7, 7] = 1.0
    y = metrics.gaussian_blur(x, torch.tensor([0.5, 1.5]), radius=3)
    assert y.shape == x.shape
    assert torch.allclose(y.sum((1, 2, 3)), torch.ones(2), atol=1e-5)  # far from the border
    assert y[0, 0, 7, 7] > y[1, 0, 7, 7] > 0  # the wider sigma spreads the point further
    assert torch.allclose(y[1, 0, 7], y[1, 0, :, 7])  # the same along rows and columns
    assert y[1, 0, 7, 9] > 0.01 > y[0, 0, 7, 9]


def test_gaussian_blur_rejects_a_non_positive_sigma():
    with pytest.raises(ValueError):
        metrics.gaussian_blur(torch.zeros(1, 1, 8, 8), 0.0)


def test_variety_and_distance_ratio():
    from aehelpers import metrics
    x = torch.rand(6, 1, 5, 5)
    same = x.mean(0, keepdim=True).expand_as(x)
    assert metrics.variety_ratio(same, x) == pytest.approx(0.0, abs=1e-6)
    assert metrics.variety_ratio(x, x) == pytest.approx(1.0)
    assert metrics.distance_ratio(same, x, x.mean(0)) == pytest.approx(0.0, abs=1e-6)
    assert metrics.distance_ratio(x, x, x.mean(0)) == pytest.approx(1.0)


def test_psnr_known_value():
    x = torch.zeros(2, 1, 4, 4)
    x_hat = x + 0.1  # MSE 0.01 -> 20 dB
    assert torch.allclose(metrics.psnr(x_hat, x), torch.tensor([20.0, 20.0]))


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 1, 32, 32, generator=g)
    y = (x + 0.1 * torch.randn(1, 1, 32, 32, generator=g)).clamp(0, 1)
    ours = metrics.ssim(y, x, window=11).item()
    ref = structural_similarity(y[0, 0].numpy(), x[0, 0].numpy(), data_range=1.0,
                                gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    assert ours == pytest.approx(ref, abs=1e-3)
    assert metrics.ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)


def test_checkerboard_detects_the_pattern():
    board = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2
    x = board.float().view(1, 1, 8, 8)
    assert metrics.checkerboard(x).item() == pytest.approx(0.5)
    assert metrics.checkerboard(torch.ones(1, 1, 8, 8)).item() == pytest.approx(0.0)


def test_active_units_counts_dims_whose_mean_varies():
    torch.manual_seed(0)
    mu = torch.cat([torch.randn(200, 2), torch.full((200, 3), 0.7)], dim=1)
    count, variance = metrics.active_units(mu)
    assert count == 2 and variance.shape == (5,)
    assert torch.all(variance[2:] == 0)
