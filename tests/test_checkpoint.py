"""Checkpoints (atomic, safe to load, exact resumption) and bad numbers (NaN, inf, divergence)."""

import os
import pickle
import random

import pytest
import torch

from aehelpers import data, losses, models, noise, train


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return models.ConvAE((1, 12, 12), latent_dim=2, channels=(4, 8))


def tiny_loaders(n=40, batch_size=16, seed=0):
    x = torch.rand(n, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    return data.loaders(data.ImageSet(x[:32]), data.ImageSet(x[32:]), batch_size, seed=seed)


def noisy(x):  # draws from the global RNG, so resuming must restore it
    return (x + 0.2 * torch.randn_like(x)).clamp(0, 1)


def run(num_epochs, callbacks=(), resume_from=None, model_seed=0, corrupt=noisy):
    model = tiny_model(model_seed)
    train_loader, val_loader = tiny_loaders()
    history = train.fit(model, train_loader, val_loader, loss=losses.bce, noise=corrupt,
                        num_epochs=num_epochs, progress=False, callbacks=callbacks,
                        resume_from=resume_from)
    return model, history


def without_time(history):
    return {k: v for k, v in history.items() if k != "seconds"}


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------

def own_generator_noise():  # a Noise that draws from its own generator, saved with the rest
    return noise.gaussian_noise(0.2, generator=torch.Generator().manual_seed(5))


@pytest.mark.parametrize("make_noise", [lambda: noisy, own_generator_noise],
                         ids=["global_rng", "noise_generator"])
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path, make_noise):
    full_model, full_history = run(4, corrupt=make_noise())
    ckpt = train.Checkpoint(tmp_path / "ae.pt", every=1)
    run(2, callbacks=[ckpt], corrupt=make_noise())  # "interrupted" after epoch 2
    # a fresh model with other initial weights and fresh loaders: everything comes from the file
    model, history = run(4, callbacks=[ckpt], resume_from=ckpt.path, model_seed=123,
                         corrupt=make_noise())
    for key, value in full_model.state_dict().items():
        assert torch.equal(value, model.state_dict()[key]), key  # bitwise, atol 0
    assert without_time(history) == without_time(full_history)
    assert history.steps == full_history.steps  # the steps before the interruption come back too
    assert len(history.steps["train_loss"]) == 4 * len(tiny_loaders()[0])
    assert history["epoch"] == [1, 2, 3, 4]
    assert train.load_checkpoint(ckpt.path)["epoch"] == 4


def test_resume_restores_the_loader_order(tmp_path):
    train_loader, _ = tiny_loaders()
    model, opt = tiny_model(), None
    next(iter(train_loader))  # the shuffle generator moved on
    path = train.save_checkpoint(tmp_path / "c.pt", model, opt, epoch=1, loaders=[train_loader])
    expected = [x for x, _ in train_loader]
    fresh, _ = tiny_loaders()
    assert not torch.equal(next(iter(fresh))[0], expected[0])
    train.resume(path, tiny_model(), loaders=[fresh])
    assert all(torch.equal(a, b) for (a, _), b in zip(fresh, expected))


def test_checkpoint_every_n_and_at_the_best_score(tmp_path):
    ckpt = train.Checkpoint(tmp_path / "ae.pt", every=2, monitor="val_loss")
    _, history = run(3, callbacks=[ckpt])
    assert train.load_checkpoint(ckpt.path)["epoch"] == 2  # epochs 2 only: every=2 of 3
    best = train.load_checkpoint(ckpt.best_path)
    assert best["epoch"] == history.best_epoch("val_loss")
    assert best["history"]["val_loss"] == history["val_loss"][:best["epoch"]]


def test_improved_reads_the_history_and_ignores_nan():
    ckpt = train.Checkpoint("unused.pt", monitor="val_loss")
    assert ckpt.improved({"val_loss": [3.0]})
    assert ckpt.improved({"val_loss": [3.0, 2.0]})
    assert not ckpt.improved({"val_loss": [3.0, 2.0, 2.5]})
    assert not ckpt.improved({"val_loss": [3.0, float("nan")]})
    assert not ckpt.improved({"train_loss": [1.0]})  # no validation: no best file
    assert train.Checkpoint("u.pt", monitor="acc", mode="max").improved({"acc": [0.5, 0.6]})


def test_save_is_atomic_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = train.save_checkpoint(tmp_path / "ckpt" / "c.pt", tiny_model(), epoch=1)
    good = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        train.save_checkpoint(path, tiny_model(), epoch=2)
    assert path.read_bytes() == good
    assert sorted(p.name for p in path.parent.iterdir()) == ["c.pt"]  # no temporary file left


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_checkpoint_that_runs_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (os.system, ("echo this must never run",))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "aehelpers-checkpoint-1", "model": Payload()}, evil)
    with pytest.raises(train.CheckpointError, match=r"refused to load .*evil\.pt.*run code"):
        train.load_checkpoint(evil)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(train.CheckpointError, match="refused to load .*raw.pkl"):
        train.load_checkpoint(raw)


@pytest.mark.parametrize("damage", ["truncated", "empty", "cut_tail"] + [f"random{seed}" for seed in
                                                                         (2, 20, 7, 99)])
def test_a_corrupt_checkpoint_gives_a_clear_error_and_resume_keeps_the_good_one(tmp_path, damage):
    good = train.save_checkpoint(tmp_path / "good.pt", tiny_model(), epoch=1)
    raw = good.read_bytes()
    bad = tmp_path / "bad.pt"
    damaged = {"truncated": raw[:len(raw) // 2], "empty": b"", "cut_tail": raw[:-10]}
    # seeded garbage: seeds 2 and 20 once escaped as IndexError / KeyError from the unpickler
    bad.write_bytes(damaged[damage] if damage in damaged
                    else random.Random(int(damage.removeprefix("random"))).randbytes(300))
    with pytest.raises(train.CheckpointError, match="bad.pt"):
        train.load_checkpoint(bad)
    ckpt = train.Checkpoint(good, every=1)
    with pytest.raises(train.CheckpointError, match="bad.pt"):
        run(3, callbacks=[ckpt], resume_from=bad)
    assert good.read_bytes() == raw  # nothing trained, nothing overwritten


def test_missing_foreign_and_mismatched_checkpoints(tmp_path):
    with pytest.raises(train.CheckpointError, match="does not exist.*Checkpoint"):
        train.load_checkpoint(tmp_path / "nope.pt")
    torch.save(tiny_model().state_dict(), tmp_path / "bare.pt")
    with pytest.raises(train.CheckpointError, match="not an aehelpers checkpoint"):
        train.load_checkpoint(tmp_path / "bare.pt")
    path = train.save_checkpoint(tmp_path / "c.pt", tiny_model(), epoch=1)
    other = models.ConvAE((1, 12, 12), latent_dim=3, channels=(4, 8))
    with pytest.raises(train.CheckpointError, match="does not fit this model"):
        train.load_checkpoint(path, other)


def test_checkpoint_arguments_are_checked():
    with pytest.raises(ValueError, match="every"):
        train.Checkpoint("c.pt", every=0)
    with pytest.raises(ValueError, match="mode"):
        train.Checkpoint("c.pt", mode="lowest")


# ---------------------------------------------------------------------------------------------
# bad numbers
# ---------------------------------------------------------------------------------------------

def test_nan_input_stops_with_epoch_batch_and_cause(tmp_path):
    x = torch.rand(40, 1, 12, 12)
    x[20, 0, 3, 3] = float("nan")  # in the second batch of 16
    train_loader = data.TensorLoader(data.ImageSet(x), batch_size=16)
    model = tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(train.NonFiniteLossError, match=r"epoch 1, batch 2 hold 1 NaN/inf"):
        train.fit(model, train_loader, loss=losses.mse, num_epochs=1, progress=False)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    assert any(not torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_infinite_input_stops_in_validation_too():
    x = torch.rand(20, 1, 12, 12)
    val = x.clone()
    val[3] = float("inf")
    train_loader, val_loader = data.loaders(data.ImageSet(x), data.ImageSet(val), 8)
    with pytest.raises(train.NonFiniteLossError, match=r"epoch 1, batch 1 hold 144 NaN/inf"):
        train.fit(tiny_model(), train_loader, val_loader, loss=losses.mse, num_epochs=1,
                  progress=False)


def test_diverging_learning_rate_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    # no sigmoid and plain SGD with a huge step: the weights blow up within a few batches
    torch.manual_seed(0)
    model = models.ConvAE((1, 12, 12), latent_dim=2, channels=(4, 8), out_activation=None,
                          norm=None)
    train_loader, val_loader = tiny_loaders(n=40, batch_size=4)
    ckpt = train.Checkpoint(tmp_path / "ae.pt", every=1)
    train.fit(model, train_loader, val_loader, loss=losses.mse, num_epochs=1, lr=1e-3,
              progress=False, callbacks=[ckpt])  # one good epoch, saved
    good = ckpt.path.read_bytes()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e4)
    with pytest.raises((train.NonFiniteLossError, train.NonFiniteWeightsError),
                       match=r"(epoch 1, batch \d+|after epoch 1)"):
        train.fit(model, train_loader, val_loader, loss=losses.mse, num_epochs=1,
                  optimizer=optimizer, progress=False, callbacks=[ckpt])
    assert ckpt.path.read_bytes() == good
    state = train.load_checkpoint(ckpt.path)
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_nan_weights_are_never_saved(tmp_path):
    model = tiny_model()
    path = train.save_checkpoint(tmp_path / "c.pt", model, epoch=1)
    good = path.read_bytes()
    with torch.no_grad():
        next(model.parameters())[0] = float("nan")
    with pytest.raises(train.NonFiniteWeightsError, match="epoch 2.*keeps the last good"):
        train.save_checkpoint(path, model, epoch=2)
    assert path.read_bytes() == good


@pytest.mark.parametrize("loss", [losses.bce, losses.mse])
def test_all_zero_images_train_to_finite_losses(loss):
    x = torch.zeros(24, 1, 12, 12)
    train_loader, val_loader = data.loaders(data.ImageSet(x[:16]), data.ImageSet(x[16:]), 8)
    history = train.fit(tiny_model(), train_loader, val_loader, loss=loss, num_epochs=2,
                        progress=False)
    assert all(torch.isfinite(torch.tensor(history[k])).all()
               for k in ("train_loss", "val_loss"))
    assert history["train_loss"][1] < history["train_loss"][0]  # it learns to output black
