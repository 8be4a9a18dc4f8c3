"""Losses: known KL values, the Monte-Carlo estimator's mean, likelihood units, the ELBO step."""

import math

import pytest
import torch
from torch.distributions import Normal

from aehelpers import losses, models


def test_closed_form_kl_is_zero_for_the_prior():
    mu, logvar = torch.zeros(4, 3), torch.zeros(4, 3)
    assert losses.kl_per_dim(mu, logvar).sum().item() == 0.0
    assert torch.equal(losses.kl_per_dim(mu, logvar), torch.zeros(3))


def test_closed_form_kl_hand_example():
    # KL(N(1, e^1) || N(0, 1)) = -1/2 (1 + 1 - 1 - e) = (e - 1) / 2 per dimension
    mu, logvar = torch.ones(1, 2), torch.ones(1, 2)
    assert losses.kl_per_dim(mu, logvar).sum().item() == pytest.approx(2 * (math.e - 1) / 2)
    # and torch.distributions agrees on another point
    mu, logvar = torch.tensor([[0.3, -2.0]]), torch.tensor([[-1.0, 0.5]])
    q, p = Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)
    expected = torch.distributions.kl_divergence(q, p).sum()
    assert losses.kl_per_dim(mu, logvar).sum().item() == pytest.approx(expected.item(), rel=1e-5)


def test_monte_carlo_kl_mean_approaches_closed_form():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g) * 0.5
    draws = losses.kl_mc_draws(mu, logvar, num_draws=20000, generator=g)  # (20000, 8)
    closed = (-0.5 * (1 + logvar - mu**2 - logvar.exp())).sum(1)
    stderr = draws.std(0) / math.sqrt(len(draws))
    assert torch.all((draws.mean(0) - closed).abs() < 5 * stderr)
    assert torch.all(draws.std(0) > 0)  # the estimator is noisy, the closed form is not


def test_monte_carlo_kl_matches_log_densities():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 4), torch.randn(6, 4)
    z = mu + (0.5 * logvar).exp() * torch.randn(6, 4)
    q = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(1)
    p = Normal(0.0, 1.0).log_prob(z).sum(1)
    assert losses.kl_monte_carlo(z, mu, logvar).item() == pytest.approx((q - p).mean().item(),
                                                                         rel=1e-5)


@pytest.mark.parametrize("sigma", [1.0, 0.1])
def test_gaussian_nll_matches_torch_normal(sigma):
    torch.manual_seed(0)
    x, x_hat = torch.rand(3, 1, 5, 7), torch.rand(3, 1, 5, 7)
    expected = -Normal(x_hat, sigma).log_prob(x).flatten(1).sum(1).mean()
    assert losses.gaussian_nll(x_hat, x, sigma=sigma).item() == pytest.approx(expected.item(),
                                                                              rel=1e-5)


def test_bce_is_summed_per_image_not_per_pixel():
    x = torch.rand(4, 1, 6, 6).round()
    x_hat = torch.full_like(x, 0.5)
    # every pixel costs log 2 nats, 36 pixels per image, whatever the batch size
    assert losses.bce(x_hat, x).item() == pytest.approx(36 * math.log(2), rel=1e-5)
    assert losses.bce(x_hat[:1], x[:1]).item() == pytest.approx(36 * math.log(2), rel=1e-5)


@pytest.mark.parametrize("beta", [0.0, 0.5, lambda epoch: 0.1 * epoch])
def test_vae_step_logs_neg_elbo_as_recon_plus_kl_whatever_beta(beta):
    torch.manual_seed(0)
    model = models.ConvVAE((1, 12, 12), latent_dim=3, channels=(8,))
    batch = (torch.rand(5, 1, 12, 12), torch.zeros(5, dtype=torch.long))
    logs = losses.vae_step(beta=beta)(model, batch, epoch=3)
    b = beta(3) if callable(beta) else beta
    assert logs["neg_elbo"].item() == pytest.approx((logs["recon"] + logs["kl"]).item(), rel=1e-6)
    assert logs["loss"].item() == pytest.approx((logs["recon"] + b * logs["kl"]).item(), rel=1e-5)


def test_vae_step_without_sampling_is_deterministic_and_evaluation_uses_closed_kl():
    torch.manual_seed(0)
    model = models.ConvVAE((1, 12, 12), latent_dim=3, channels=(8,)).eval()
    batch = (torch.rand(5, 1, 12, 12), torch.zeros(5, dtype=torch.long))
    step = losses.vae_step(kl="mc", sample=False)
    a, b = step(model, batch), step(model, batch)
    assert a["loss"].item() == b["loss"].item()
    mu, logvar = model.encode(batch[0])
    assert a["kl"].item() == pytest.approx(losses.kl_per_dim(mu, logvar).sum().item(), rel=1e-6)


def test_neg_elbo_rejects_unknown_names_clearly():
    t = torch.rand(2, 1, 4, 4)
    mu = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="recon is one of"):
        losses.neg_elbo(t, t, mu, mu, recon="l1")
    with pytest.raises(ValueError, match="'closed' or 'mc'"):
        losses.neg_elbo(t, t, mu, mu, kl="exact")
    with pytest.raises(ValueError, match="needs the sampled z"):
        losses.neg_elbo(t, t, mu, mu, kl="mc")


def test_free_bits_charge_each_dimension_at_least_its_allowance():
    x = torch.rand(4, 1, 4, 4)
    x_hat = torch.full_like(x, 0.5)
    # dimension 0 carries 2 nats per image (mu = 2), dimensions 1-2 nothing (the prior)
    mu = torch.tensor([[2.0, 0.0, 0.0]]).repeat(4, 1).requires_grad_()
    logvar = torch.zeros(4, 3)
    plain, nll, kl = losses.neg_elbo(x_hat, x, mu, logvar)
    total, nll_fb, kl_fb = losses.neg_elbo(x_hat, x, mu, logvar, free_bits=0.5)
    assert kl_fb.item() == pytest.approx(kl.item()) == pytest.approx(2.0)  # the true KL
    assert nll_fb.item() == pytest.approx(nll.item())
    # 2 nats above the allowance are charged as they are, the two idle dimensions 0.5 each
    assert total.item() == pytest.approx(plain.item() + 2 * 0.5)
    total.backward()
    assert mu.grad[:, 0].abs().sum() > 0  # dimension 0 is still pulled towards the prior
    assert torch.equal(mu.grad[:, 1:], torch.zeros(4, 2))  # below the allowance: no pull


def test_free_bits_apply_in_training_only_and_need_the_closed_kl():
    torch.manual_seed(0)
    model = models.ConvVAE((1, 12, 12), latent_dim=3, channels=(8,))
    batch = (torch.rand(5, 1, 12, 12), torch.zeros(5, dtype=torch.long))
    step = losses.vae_step(free_bits=10.0, sample=False)
    train_logs = step(model, batch)
    assert train_logs["loss"].item() == pytest.approx(train_logs["recon"].item() + 30.0,
                                                      rel=1e-5)  # 3 dims x 10 nats allowance
    model.eval()
    eval_logs = step(model, batch)
    assert eval_logs["loss"].item() == pytest.approx(eval_logs["neg_elbo"].item(), rel=1e-6)
    with pytest.raises(ValueError, match="closed-form KL"):
        losses.vae_step(kl="mc", free_bits=0.5)
    t, m = torch.rand(2, 1, 4, 4), torch.zeros(2, 2)
    with pytest.raises(ValueError, match="non-negative"):
        losses.neg_elbo(t, t, m, m, free_bits=-1.0)


def test_importance_nll_is_at_most_the_elbo_bound_on_average():
    torch.manual_seed(0)
    model = models.ConvVAE((1, 12, 12), latent_dim=2, channels=(8,)).eval()
    x = torch.rand(16, 1, 12, 12)
    nll = losses.importance_nll(model, x, num_samples=64)
    torch.manual_seed(1)
    mu, logvar = model.encode(x)
    elbo_terms = [losses.neg_elbo(model.decode(model.reparameterize(mu, logvar)), x, mu, logvar)[0]
                  for _ in range(64)]
    assert nll.shape == (16,)
    assert nll.mean().item() <= torch.stack(elbo_terms).mean().item() + 1e-3


# --- 04: same-face measures, bootstrap mean, the decoder's position bias, ReLU heads ----------


def test_neg_elbo_per_image_matches_the_batch_metric_in_the_mean():
    torch.manual_seed(0)
    m = models.MLPVAE((1, 6, 6), hidden=16, latent_dim=3)
    x = torch.rand(40, 1, 6, 6)
    per_image = losses.neg_elbo_per_image(m, x, seed=1)
    assert per_image.shape == (40,)
    assert torch.equal(per_image, losses.neg_elbo_per_image(m, x, seed=1))  # same draws
    mu, logvar = m.encode(x)
    g = torch.Generator().manual_seed(1)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)
    total, _, _ = losses.neg_elbo(m.decode(z), x, mu, logvar)
    assert per_image.mean().item() == pytest.approx(total.item(), rel=1e-5)
    assert (losses.bce_per_image(x, x) >= 0).all()
