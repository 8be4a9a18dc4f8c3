"""models.MLPVAE, pytorch/examples' VAE as 04's peer: its network, its contract, its training,
and bench/peer_vae.py's measurement on a few shipped digits."""

import importlib.util
from pathlib import Path

import pytest
import torch

from aehelpers import data, losses, models, train

BENCH = Path(__file__).resolve().parents[1] / "bench" / "peer_vae.py"


def test_mlp_vae_is_the_pytorch_examples_network():
    model = models.MLPVAE((1, 28, 28))
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {"fc1.weight": (400, 784), "fc1.bias": (400,),
                      "fc21.weight": (20, 400), "fc21.bias": (20,),
                      "fc22.weight": (20, 400), "fc22.bias": (20,),
                      "fc3.weight": (400, 20), "fc3.bias": (400,),
                      "fc4.weight": (784, 400), "fc4.bias": (784,)}
    assert models.count_parameters(model) == 652_824  # as vae/main.py's VAE


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 13, 9)])
def test_mlp_vae_has_the_conv_vae_contract(shape):
    model = models.MLPVAE(shape, hidden=32, latent_dim=5)
    x = torch.rand(4, *shape)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == x.shape and mu.shape == logvar.shape == (4, 5)
    assert 0 < x_hat.min() and x_hat.max() < 1
    assert model.decode(model.reparameterize(mu, logvar)).shape == x.shape
    assert model.sample(3).shape == (3, *shape)


def test_mlp_vae_heads_are_free_and_eval_decodes_mu():
    torch.manual_seed(0)
    model = models.MLPVAE((1, 8, 8), hidden=16, latent_dim=3).eval()
    with torch.no_grad():
        for head in (model.fc21, model.fc22):
            head.weight.mul_(100)
    x = torch.rand(16, 1, 8, 8)
    mu, logvar = model.encode(x)
    assert mu.min() < -1 < 1 < mu.max() and logvar.min() < -1 < 1 < logvar.max()
    x_hat, mu2, _ = model(x)
    assert torch.equal(mu, mu2) and torch.equal(x_hat, model.decode(mu))  # no draw in eval


def test_mlp_vae_says_what_shape_it_takes():
    model = models.MLPVAE((1, 28, 28))
    with pytest.raises(ValueError, match=r"expected a batch \(B, 1, 28, 28\).*got \(2, 1, 32, 32\)"):
        model(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="got \\(1, 28, 28\\)"):
        model.encode(torch.rand(1, 28, 28))  # no batch dimension


def test_sampling_is_reproducible_with_a_generator():
    model = models.MLPVAE((1, 8, 8), hidden=16, latent_dim=3)
    a = model.sample(4, generator=torch.Generator().manual_seed(1))
    b = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


def test_vae_step_and_fit_train_the_peer_on_shipped_digits():
    train_set, val_set, test_set = data.mnist_splits("smoke")
    torch.manual_seed(0)
    model = models.MLPVAE(train_set.shape)
    loaders = data.loaders(train_set, val_set, batch_size=64, seed=0)
    history = train.fit(model, *loaders, step=losses.vae_step(), num_epochs=3, lr=1e-3,
                        seed=0, progress=False)
    val = history["val_neg_elbo"]
    assert val[-1] < val[0]
    for key in ("train_recon", "train_kl", "val_recon", "val_kl"):
        assert len(history[key]) == 3
    # the ELBO adds up, and no model beats the floor of grey pixels
    logs = train.evaluate(model, data.TensorLoader(test_set, 128), step=losses.vae_step())
    assert logs["neg_elbo"] == pytest.approx(logs["recon"] + logs["kl"], rel=1e-5)
    floor = losses.bernoulli_entropy(test_set.x).mean().item()
    assert logs["recon"] > floor
    nll = losses.importance_nll(model, test_set.x[:32], num_samples=5)
    assert nll.shape == (32,) and torch.isfinite(nll).all() and (nll > 0).all()


def test_bench_measures_both_contenders_with_the_same_recipe():
    spec = importlib.util.spec_from_file_location("peer_vae_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    train_set, val_set, test_set = data.mnist_splits("smoke")
    train_set = train_set.subset(range(256))
    rows = {name: bench.fit_and_score(arch, train_set, val_set, test_set, num_epochs=1, lr=1e-3)
            for name, arch in bench.CONTENDERS.items()}
    assert {r["steps"] for r in rows.values()} == {2}  # 256 images in batches of 128
    for r in rows.values():
        assert r["neg_elbo"] == pytest.approx(r["recon"] + r["kl"], rel=1e-5)
        assert r["train_s"] > 0 and r["ms_per_step"] > 0
    assert rows["MLPVAE (pytorch/examples)"]["params"] == 652_824
