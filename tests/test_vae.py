"""VAE and CVAE models: free heads, shapes on odd sizes, clear condition errors, reproducibility."""

import pytest
import torch

from aehelpers import data, losses, metrics, models, positions, train


def test_encoder_heads_have_no_activation():
    torch.manual_seed(0)
    model = models.ConvVAE((1, 16, 16), latent_dim=4, channels=(8, 16)).eval()
    with torch.no_grad():  # scale the heads up: without an activation the outputs follow
        for head in (model.to_mu, model.to_logvar):
            head.weight.mul_(100)
    mu, logvar = model.encode(torch.rand(32, 1, 16, 16))
    for t in (mu, logvar):
        assert t.min() < -1 and t.max() > 1  # neither clipped to (0, 1) nor (-1, 1) nor >= 0
    assert isinstance(model.to_mu, torch.nn.Linear) and isinstance(model.to_logvar, torch.nn.Linear)


@pytest.mark.parametrize("shape", [(1, 27, 19), (3, 13, 29), (1, 28, 28)])
def test_vae_shapes_on_odd_sizes(shape):
    model = models.ConvVAE(shape, latent_dim=5, channels=(8, 16))
    x = torch.rand(3, *shape)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == x.shape and mu.shape == logvar.shape == (3, 5)
    assert 0 < x_hat.min() and x_hat.max() < 1
    assert model.sample(4).shape == (4, *shape)


def test_cvae_shapes_and_condition_changes_the_output():
    model = models.ConvCVAE((1, 21, 21), cond_dim=16, latent_dim=3, channels=(8, 16)).eval()
    z = torch.zeros(2, 3)
    c = positions.position_condition([1, 1], [0, 2], [0, 2])
    x_hat = model.decode(z, c)
    assert x_hat.shape == (2, 1, 21, 21)
    assert not torch.allclose(x_hat[0], x_hat[1])  # same z, different position


def test_cvae_raises_clear_error_for_missing_or_wrong_condition():
    model = models.ConvCVAE((1, 16, 16), cond_dim=16, latent_dim=2, channels=(8,))
    x = torch.rand(4, 1, 16, 16)
    with pytest.raises(ValueError, match=r"conditional: pass c of shape \(4, 16\), got None"):
        model.encode(x)
    with pytest.raises(ValueError, match=r"got \(4, 10\)"):
        model.encode(x, torch.zeros(4, 10))
    with pytest.raises(ValueError, match="conditional"):
        model.decode(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="cond_dim >= 1"):
        models.ConvCVAE((1, 16, 16), cond_dim=0)


def test_unconditional_vae_refuses_a_condition_instead_of_ignoring_it():
    model = models.ConvVAE((1, 16, 16), latent_dim=2, channels=(8,))
    with pytest.raises(ValueError, match="not conditional"):
        model.encode(torch.rand(2, 1, 16, 16), torch.zeros(2, 16))


def test_vae_step_with_condition_trains_a_cvae():
    ds = positions.digit_positions(cell=8, limit=64)
    cond = lambda y: positions.position_condition(*positions.position_parts(y))
    model = models.ConvCVAE(ds.shape, cond_dim=16, latent_dim=2, channels=(8,))
    loader = data.TensorLoader(ds, 32)
    h = train.fit(model, loader, loader, step=losses.vae_step(condition=cond), num_epochs=3,
                  lr=3e-3, progress=False, seed=0)
    assert {"train_neg_elbo", "val_kl", "val_recon"} <= set(h)
    for e in range(3):  # the logged parts add up, and the bound is a positive number of nats
        assert h["val_neg_elbo"][e] == pytest.approx(h["val_recon"][e] + h["val_kl"][e], rel=1e-4)
        assert h["val_kl"][e] >= 0 and h["val_recon"][e] > 0
    assert h["train_neg_elbo"][-1] < h["train_neg_elbo"][0]  # it learns


def _run(seed):
    small = data.mnist_splits("smoke")[0].subset(range(96))
    ds = data.ImageSet(data.resize(small.x, 12), small.y)
    loader = data.TensorLoader(ds, 32, shuffle=True, seed=seed)
    torch.manual_seed(seed)
    model = models.ConvVAE(ds.shape, latent_dim=2, channels=(8,))
    h = train.fit(model, loader, loader, step=losses.vae_step(kl="mc"), num_epochs=2, seed=seed,
                  progress=False)
    return h["train_neg_elbo"] + h["val_neg_elbo"]


def test_same_seed_gives_same_metrics_twice():
    first, second = _run(0), _run(0)
    assert first == second
    assert _run(1) != first  # and the seed matters


def test_active_units_counts_dims_whose_mean_varies():
    torch.manual_seed(0)
    mu = torch.cat([torch.randn(200, 2), torch.full((200, 3), 0.7)], dim=1)
    count, variance = metrics.active_units(mu)
    assert count == 2 and variance.shape == (5,)
    assert torch.all(variance[2:] == 0)
