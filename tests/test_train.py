"""train: history means over samples, argument checks, early stopping, and seeded runs.

Reproducibility: the same seed gives the same metrics and weights twice on the CPU, for every
model family (AE, VAE, CVAE, classifier, GAN); another seed gives other numbers.
"""

import pytest
import torch
import torch.nn.functional as F

from aehelpers import config, data, gan, losses, models, train


class Scale(torch.nn.Module):
    """x -> w * x with one weight: a model whose loss we can compute by hand."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        return self.w * x


def mean_step(model, batch, epoch=0):
    return {"loss": model(batch[0]).mean(), "first": batch[0][0].mean()}


def ten_values(batch_size=4):
    """Images holding 0, 1, ..., 9: batches [0-3], [4-7], [8, 9] (an uneven last batch)."""
    ds = data.ImageSet(torch.arange(10.0).view(10, 1, 1, 1))
    return data.TensorLoader(ds, batch_size=batch_size)


# ---------------------------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------------------------

def test_history_is_the_mean_over_samples_not_batches():
    loader = ten_values()
    # batch means are 1.5, 5.5 and 8.5: their plain mean would be 5.1666..., the sample mean 4.5
    logs = train.evaluate(Scale(), loader, step=mean_step)
    assert logs["loss"] == pytest.approx(4.5, abs=1e-12)
    assert logs["first"] == pytest.approx((0 * 4 + 4 * 4 + 8 * 2) / 10, abs=1e-12)
    model = Scale()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # the weight stays at 1
    history = train.fit(model, loader, ten_values(3), step=mean_step, num_epochs=2,
                        optimizer=optimizer, progress=False)
    assert history["train_loss"] == [4.5, 4.5] and history["val_loss"] == [4.5, 4.5]
    assert history["epoch"] == [1, 2] and len(history["seconds"]) == 2


def test_fit_keeps_every_training_step_and_their_sample_mean_is_the_epoch():
    model = Scale()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)  # the weight moves: steps differ
    history = train.fit(model, ten_values(), ten_values(3), step=mean_step, num_epochs=3,
                        optimizer=optimizer, progress=False)
    steps = history.steps["train_loss"]
    assert len(steps) == 3 * 3 and list(history.steps) == ["train_loss"]  # 3 batches per epoch
    assert steps[0] == pytest.approx(1.5) and steps[1] != pytest.approx(5.5)  # w < 1 by step 2
    sizes = [4, 4, 2]
    for epoch in range(3):
        batch_means = steps[3 * epoch:3 * epoch + 3]
        mean = sum(m * n for m, n in zip(batch_means, sizes)) / 10
        assert history["train_loss"][epoch] == pytest.approx(mean, rel=1e-6)
    history.log_steps("train_loss", torch.tensor([1.0, 2.0]))
    assert history.steps["train_loss"][-2:] == [1.0, 2.0]


def test_history_helpers():
    history = train.History()
    for value in (3.0, 1.0, 2.0):
        history.log("val_loss", torch.tensor(value))
    assert history.last("val_loss") == 2.0 and history.best_epoch("val_loss") == 2
    assert history.best_epoch("val_loss", mode="max") == 1


def test_fit_checks_its_arguments():
    loader = ten_values()
    with pytest.raises(ValueError, match="exactly one of loss="):
        train.fit(Scale(), loader, num_epochs=1)
    with pytest.raises(ValueError, match="exactly one of loss="):
        train.fit(Scale(), loader, loss=losses.mse, step=mean_step, num_epochs=1)
    with pytest.raises(ValueError, match="num_epochs must be >= 1, got 0"):
        train.fit(Scale(), loader, step=mean_step, num_epochs=0)


def test_early_stopping_stops_and_restores_the_best_weights():
    model = Scale()
    stop = train.EarlyStopping(patience=2)
    history = train.History()
    for epoch, (w, val) in enumerate([(1.0, 3.0), (2.0, 1.0), (3.0, 2.0), (4.0, 2.5)], start=1):
        model.w.data.fill_(w)
        history.log("val_loss", val)
        stopped = stop(epoch, model, history)
    assert stopped and stop.best_epoch == 2 and model.w.item() == 2.0


def test_resume_after_the_last_epoch_trains_nothing(tmp_path):
    model = Scale()
    ckpt = train.Checkpoint(tmp_path / "c.pt", monitor=None)
    train.fit(model, ten_values(), step=mean_step, num_epochs=2, callbacks=[ckpt],
              progress=False)
    history = train.fit(Scale(), ten_values(), step=mean_step, num_epochs=2,
                        resume_from=ckpt.path, progress=False)
    assert history["epoch"] == [1, 2]
    assert not ckpt.best_path.exists()  # monitor=None: no best file


# ---------------------------------------------------------------------------------------------
# reproducibility: one seeded run per model family, twice
# ---------------------------------------------------------------------------------------------

def digits_like(n=24, size=8, classes=3):
    g = torch.Generator().manual_seed(7)
    x = torch.rand(n, 1, size, size, generator=g)
    return data.ImageSet(x, torch.arange(n) % classes, [str(i) for i in range(classes)])


def run_family(family, seed):
    """Seed, build the model and the loaders, train two epochs: (history, final weights)."""
    config.seed_everything(seed)
    ds = digits_like()
    train_loader, val_loader = data.loaders(ds.subset(range(16)), ds.subset(range(16, 24)), 6,
                                            seed=seed)
    kw = dict(num_epochs=2, progress=False, seed=seed)
    if family == "gan":
        g = gan.Generator((1, 8, 8), latent_dim=4, channels=(8, 4))
        d = gan.Discriminator((1, 8, 8), channels=(4, 8))
        history = gan.fit_gan(g, d, train_loader, **kw)
        return history, {**g.state_dict(), **{f"d.{k}": v for k, v in d.state_dict().items()}}
    shape, channels = (1, 8, 8), (4, 8)
    if family == "ae":
        model, fit = models.ConvAE(shape, channels=channels), dict(loss=losses.bce)
    elif family == "vae":
        model, fit = models.ConvVAE(shape, channels=channels), dict(step=losses.vae_step())
    elif family == "cvae":
        model = models.ConvCVAE(shape, cond_dim=3, channels=channels)
        fit = dict(step=losses.vae_step(condition=lambda y: F.one_hot(y, 3).float()))
    else:  # a classifier with dropout: the draws must repeat too
        model = models.ConvClassifier(shape, num_classes=3, channels=channels)
        fit = dict(step=train.classifier_step())
    history = train.fit(model, train_loader, val_loader, **fit, **kw)
    return history, model.state_dict()


@pytest.mark.parametrize("family", ["ae", "vae", "cvae", "classifier", "gan"])
def test_same_seed_same_metrics_twice_other_seed_other_metrics(family):
    (h1, w1), (h2, w2) = run_family(family, 0), run_family(family, 0)
    numbers = lambda h: {k: v for k, v in h.items() if k != "seconds"}
    assert numbers(h1) == numbers(h2)  # exactly, not approximately
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    h3, _ = run_family(family, 1)
    assert numbers(h3) != numbers(h1)


def test_an_empty_loader_is_named():
    empty = data.TensorLoader(data.ImageSet(torch.zeros(0, 1, 4, 4)))
    with pytest.raises(ValueError, match="val_loader yields no batches: its dataset is empty"):
        train.fit(Scale(), ten_values(), empty, step=mean_step, num_epochs=1, progress=False)
    with pytest.raises(ValueError, match="train_loader yields no batches"):
        train.fit(Scale(), empty, step=mean_step, num_epochs=1, progress=False)


def test_best_weights_keeps_the_best_epoch_and_never_stops():
    model = torch.nn.Linear(2, 2)
    history = train.History()
    best = train.BestWeights("val_auroc", mode="max")
    for epoch, value in enumerate([0.6, 0.9, 0.7], start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        history.log("val_auroc", value)
        assert best(epoch, model, history) is False
    assert best.best_epoch == 2 and best.best == 0.9
    best.restore(model)
    assert torch.all(model.weight == 2)
    with pytest.raises(ValueError, match="'min' or 'max'"):
        train.BestWeights(mode="up")


def test_best_weights_offer_serves_other_loops_and_compares_tuples_in_order():
    model = torch.nn.Linear(2, 2)
    best = train.BestWeights(mode="max")  # 06: (worst digit, all digits) after each GAN epoch
    for epoch, score in enumerate([(0.5, 0.9), (0.8, 0.7), (0.8, 0.6)], start=1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        best.offer(epoch, model, score)
    assert best.best_epoch == 2 and best.best == (0.8, 0.7)  # the first entry decides, then the second
    best.restore(model)
    assert torch.all(model.weight == 2)


def test_keep_at_copies_the_model_after_its_epoch_only():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 3)
    x = torch.rand(16, 3)
    loader = data.loaders(data.ImageSet(x[:, None, None, :], torch.zeros(16).long()), None,
                          batch_size=8, seed=0)[0]
    step = lambda m, batch, epoch: {"loss": ((m(batch[0].flatten(1)) - 1) ** 2).mean()}
    seen = []
    early = train.KeepAt(2)
    train.fit(model, loader, step=step, num_epochs=4, progress=False, seed=0,
              callbacks=[early, lambda e, m, h: seen.append(m.weight.detach().clone())])
    assert torch.equal(early.model.weight, seen[1]) and not torch.equal(early.model.weight, seen[3])
    assert early.model is not model
    other = torch.nn.Linear(3, 3)
    early.restore(other)
    assert torch.equal(other.weight, seen[1])
    with pytest.raises(RuntimeError, match="never finished epoch 9"):
        train.KeepAt(9).restore(other)
    with pytest.raises(ValueError, match="counts from 1"):
        train.KeepAt(0)


class _TwoInputStrict(torch.nn.Module):
    """forward(x, c) that asserts both inputs sit on the device of its weights."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, x, c):
        assert x.device == c.device == self.w.device, (x.device, c.device, self.w.device)
        if self.w.device.type == "meta":  # meta tensors hold no numbers
            return torch.zeros(len(x), 2), torch.zeros(len(x))
        return x.flatten(1)[:, :2] + c[:, :2], c.sum(1)


@pytest.mark.parametrize("device", ["meta", "cpu"] + (["cuda"] if torch.cuda.is_available() else []))
def test_predict_with_a_condition_moves_x_and_c_and_returns_cpu(device):
    model = _TwoInputStrict().to(device)
    x, c = torch.rand(5, 1, 4, 4), torch.rand(5, 16)
    a, b = train.predict(model, x, batch_size=2, extra=(c,))
    assert a.device.type == b.device.type == "cpu" and a.shape == (5, 2) and b.shape == (5,)
    if device != "meta":
        assert torch.allclose(a, x.flatten(1)[:, :2] + c[:, :2]) and torch.allclose(b, c.sum(1))
    assert model.training  # handed back in the mode it came in


def test_lit_step_module_trains_exactly_as_fit_does():
    lit = pytest.importorskip("aehelpers.lit")  # Lightning is installed by make setup

    def trained(by_lightning):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 16),
                                    torch.nn.Unflatten(1, (1, 4, 4)), torch.nn.Sigmoid())
        loader = data.TensorLoader(digits_like(size=4), batch_size=6, shuffle=True, seed=3)
        step = train.reconstruction_step(losses.bce)
        if by_lightning:
            lit.quiet_trainer(2).fit(lit.StepModule(model, step, lr=1e-2), loader)
        else:
            train.fit(model, loader, step=step, num_epochs=2, lr=1e-2, device="cpu",
                      progress=False)
        return model

    a, b = trained(False), trained(True)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name  # bit for bit: the same steps in the same order
    assert b.training  # Lightning leaves the module in training mode; fit leaves it in eval
    assert not a.training
