"""GAN pieces of 06_gan_csp: generator, discriminator, losses, gan_step and fit_gan."""

import math
from types import SimpleNamespace

import pytest
import torch

from aehelpers import blocks, data, gan, train


def tiny_gan(shape=(1, 12, 12), num_classes=0, spectral_norm=False):
    torch.manual_seed(0)
    g = gan.Generator(shape, latent_dim=4, channels=(8, 4), num_classes=num_classes,
                         embed_dim=3)
    d = gan.Discriminator(shape, channels=(4, 8), num_classes=num_classes,
                             spectral_norm=spectral_norm)
    return g, d


def tiny_loader(n=24, shape=(1, 12, 12), num_classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    ds = data.ImageSet(torch.rand(n, *shape, generator=g),
                       torch.randint(num_classes, (n,), generator=g))
    return data.loaders(ds, None, batch_size=8, seed=seed)[0]


# ---------------------------------------------------------------------------------------------
# generator and discriminator
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 25, 25), (3, 20, 13)])
def test_generator_any_size_and_range(shape):
    g = gan.Generator(shape, latent_dim=5, channels=(8, 4, 2))
    x = g(torch.randn(4, 5))
    assert x.shape == (4, *shape)
    assert x.min() >= 0 and x.max() <= 1


def test_conditional_generator_needs_labels_of_the_right_shape():
    g, _ = tiny_gan(num_classes=3)
    z = torch.randn(5, 4)
    assert g(z, torch.tensor([0, 1, 2, 0, 1])).shape == (5, 1, 12, 12)
    with pytest.raises(ValueError, match=r"labels y of shape \(5,\)"):
        g(z)
    with pytest.raises(ValueError, match=r"labels y of shape \(5,\)"):
        g(z, torch.zeros(5, 3))


def test_conditional_generator_uses_the_label():
    g, _ = tiny_gan(num_classes=3)
    g.eval()
    z = torch.randn(1, 4).repeat(3, 1)  # same noise, three labels
    x = g(z, torch.tensor([0, 1, 2]))
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])


def test_generator_sample_is_seeded():
    g, _ = tiny_gan()
    a = g.sample(4, generator=torch.Generator().manual_seed(1))
    b = g.sample(4, generator=torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, 12, 12) and torch.equal(a, b)


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 25, 17)])
def test_discriminator_gives_one_logit_per_image(shape, spectral_norm):
    d = gan.Discriminator(shape, channels=(4, 8), num_classes=10,
                             spectral_norm=spectral_norm)
    assert d(torch.rand(5, *shape), torch.arange(5)).shape == (5,)
    with pytest.raises(ValueError, match="conditional"):
        d(torch.rand(5, *shape))


def test_spectral_norm_bounds_the_largest_singular_value():
    _, d = tiny_gan(spectral_norm=True)
    d.train()
    for _ in range(30):  # power iterations converge while training
        d(torch.rand(4, 1, 12, 12))
    w = d.head.weight
    assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, rel=0.05)


# ---------------------------------------------------------------------------------------------
# losses, gan_step and fit_gan
# ---------------------------------------------------------------------------------------------

def test_losses_known_values():
    zero = torch.zeros(4)  # D unsure: p = 0.5 for everything
    assert gan.d_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert gan.g_loss(zero).item() == pytest.approx(math.log(2))
    # smoothing: the best real logit is log((1-s)/s) instead of +inf
    s = 0.1
    best = torch.full((4,), math.log((1 - s) / s))
    worse = best + 1.0
    assert gan.d_loss(best, zero, s) < gan.d_loss(worse, zero, s)


def one_step_setup(num_classes=3):
    g, d = tiny_gan(num_classes=num_classes)
    opt_g, opt_d = (torch.optim.Adam(m.parameters(), lr=1e-2) for m in (g, d))
    x, y = next(iter(tiny_loader(num_classes=num_classes)))
    z = torch.randn(len(x), g.latent_dim, generator=torch.Generator().manual_seed(1))
    return g, d, opt_g, opt_d, x, y, z, torch.arange(len(x)) % num_classes


def test_gan_step_updates_d_then_g_and_returns_device_tensors():
    g, d, opt_g, opt_d, x, y, z, y_fake = one_step_setup()
    g0 = [p.detach().clone() for p in g.parameters()]
    d0 = [p.detach().clone() for p in d.parameters()]
    out = gan.gan_step(g, d, opt_g, opt_d, x, y, z, y_fake, loss="hinge")
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad
               for v in out.values())
    assert any(not torch.equal(p, q) for p, q in zip(g.parameters(), g0))  # G moved
    assert any(not torch.equal(p, q) for p, q in zip(d.parameters(), d0))  # D moved
    # the D phase alone: with G's optimiser frozen, G's weights stay where they were
    g1 = [p.detach().clone() for p in g.parameters()]
    frozen = torch.optim.SGD(g.parameters(), lr=0.0)
    gan.gan_step(g, d, frozen, opt_d, x, y, z, y_fake, loss="bce")
    assert all(torch.equal(p, q) for p, q in zip(g.parameters(), g1))


def test_gan_step_hinge_losses_match_their_formula():
    g, d, opt_g, opt_d, x, y, z, y_fake = one_step_setup()
    with torch.no_grad():
        real, fake = d(x, y), d(g(z, y_fake), y_fake)
    out = gan.gan_step(g, d, opt_g, opt_d, x, y, z, y_fake, loss="hinge")
    expected = torch.relu(1 - real).mean() + torch.relu(1 + fake).mean()
    assert out["d_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert out["d_real"].item() == pytest.approx(torch.sigmoid(real).mean().item(), rel=1e-5)


def test_gan_step_check_sees_each_loss_before_its_step():
    g, d, opt_g, opt_d, x, y, z, y_fake = one_step_setup()
    seen = []
    d0 = [p.detach().clone() for p in d.parameters()]

    def check(loss, name):
        seen.append(name)
        if name == "d_loss":  # D has not stepped yet when its loss is checked
            assert all(torch.equal(p, q) for p, q in zip(d.parameters(), d0))
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        gan.gan_step(g, d, opt_g, opt_d, x, y, z, y_fake, check=check)
    assert seen == ["d_loss"] and all(torch.equal(p, q) for p, q in zip(d.parameters(), d0))


def test_fit_gan_one_epoch_finite_losses_and_snapshots():
    g, d = tiny_gan()
    seen, snaps = [], gan.Snapshots(6)
    history = gan.fit_gan(g, d, tiny_loader(), num_epochs=2, progress=False,
                          callbacks=[snaps, gan.EachEpoch(seen.append)])
    assert history["epoch"] == [1, 2]
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert len(history[key]) == 2 and all(math.isfinite(v) for v in history[key])
    assert all(0 <= p <= 1 for p in history["d_real"] + history["d_fake"])
    assert seen == [1, 2] and [x.shape for x in snaps.images] == [(6, 1, 12, 12)] * 2


@pytest.mark.parametrize("channels_last", [True, False])
def test_fit_gan_hands_back_models_in_the_usual_layout(channels_last):
    shape = (3, 12, 12)  # with 3 channels the two layouts differ in memory
    g, d = tiny_gan(shape)
    avg = gan.MovingAverage(g)
    gan.fit_gan(g, d, tiny_loader(shape=shape), num_epochs=1, progress=False, seed=0,
                callbacks=[avg], channels_last=channels_last)
    ema = avg.model
    for net in (g, d, ema):
        assert all(p.is_contiguous() for p in net.parameters())
    x = ema.sample(2, generator=torch.Generator().manual_seed(0))
    assert x.is_contiguous() and x.view(2, -1).shape == (2, 3 * 12 * 12)


def test_fit_gan_layouts_train_the_same_model_up_to_rounding():
    runs = []
    for channels_last in (True, False):
        g, d = tiny_gan((3, 12, 12))
        gan.fit_gan(g, d, tiny_loader(shape=(3, 12, 12)), num_epochs=1, progress=False, seed=0,
                    channels_last=channels_last)
        runs.append(torch.cat([p.flatten() for p in g.parameters()]))
    assert torch.allclose(runs[0], runs[1], atol=1e-4)


def test_fit_gan_conditional_snapshot_rows_are_classes():
    g, d = tiny_gan(num_classes=3)
    snaps = gan.Snapshots(6)
    gan.fit_gan(g, d, tiny_loader(), num_epochs=1, progress=False, seed=5, callbacks=[snaps])
    assert gan.grid_labels(3, 2).tolist() == [0, 1, 2, 0, 1, 2]
    # the snapshot is G's drawing of the seeded fixed noise with labels 0, 1, 2, 0, 1, 2
    z = torch.randn(6, g.latent_dim, generator=torch.Generator().manual_seed(10_000 + 5))
    assert torch.allclose(snaps.images[0], g.sample(6, gan.grid_labels(3, 2), z=z))
    other = g.sample(6, torch.tensor([2, 0, 1, 2, 0, 1]), z=z)  # other labels, other images
    assert not torch.allclose(snaps.images[0], other)


def test_fit_gan_augment_sees_real_and_fake_batches_alike():
    g, d = tiny_gan()
    seen = []

    def augment(x):
        seen.append((tuple(x.shape), x.requires_grad))
        return x.flip(3)

    gan.fit_gan(g, d, tiny_loader(n=24), gan.Recipe(augment=augment), num_epochs=1,
                progress=False, seed=0)
    # per batch of 8: real images, fakes for D (detached), fakes for G (with their gradient)
    assert len(seen) == 3 * 3 and all(shape == (8, 1, 12, 12) for shape, _ in seen)
    assert [grad for _, grad in seen[:3]] == [False, False, True]


def test_fit_gan_without_seed_follows_the_global_seed():
    def run(global_seed):
        g, d = tiny_gan(num_classes=3)  # the same weights (tiny_gan seeds 0)
        torch.manual_seed(global_seed)  # as config.setup does
        return gan.fit_gan(g, d, tiny_loader(), num_epochs=1, progress=False)

    assert run(1)["d_loss"] == run(1)["d_loss"]
    assert run(1)["g_loss"] != run(2)["g_loss"]


def test_fit_gan_same_seed_same_losses():
    runs, snaps = [], []
    for _ in range(2):
        g, d = tiny_gan(num_classes=3)
        snaps.append(gan.Snapshots(6))
        runs.append(gan.fit_gan(g, d, tiny_loader(), gan.Recipe(label_smoothing=0.1),
                                num_epochs=1, progress=False, seed=3, callbacks=[snaps[-1]]))
    assert runs[0]["d_loss"] == runs[1]["d_loss"] and runs[0]["g_loss"] == runs[1]["g_loss"]
    assert torch.equal(snaps[0].images[0], snaps[1].images[0])


class NaNOnFakes(torch.nn.Module):
    """Wraps D: finite on real images, NaN on fakes from the `after`-th call of the G pass on."""

    def __init__(self, d, nan_for_g_only=False):
        super().__init__()
        self.d, self.calls, self.nan_for_g_only = d, 0, nan_for_g_only

    def forward(self, x, y=None):
        logits = self.d(x, y)
        self.calls += 1
        # per batch: call 1 real, call 2 detached fakes (D step), call 3 fakes again (G step)
        g_pass = self.calls % 3 == 0
        if (g_pass or not self.nan_for_g_only) and self.calls % 3 != 1:
            return logits * float("nan")
        return logits


@pytest.mark.parametrize("g_only,name", [(False, "d_loss"), (True, "g_loss")])
def test_fit_gan_stops_before_the_step_that_would_use_a_nan_loss(g_only, name):
    g, d = tiny_gan()
    d_nan = NaNOnFakes(d, nan_for_g_only=g_only)
    g_before = {k: v.detach().clone() for k, v in g.named_parameters()}
    d_before = {k: v.detach().clone() for k, v in d.named_parameters()}
    with pytest.raises(train.NonFiniteLossError, match=rf"{name} became nan at epoch 1, batch 1, before"):
        gan.fit_gan(g, d_nan, tiny_loader(), num_epochs=1, progress=False)
    assert all(torch.equal(v, g_before[k]) for k, v in g.named_parameters())  # G never stepped
    d_same = all(torch.equal(v, d_before[k]) for k, v in d.named_parameters())
    assert d_same == (not g_only)  # a NaN d_loss stops before D's step; a NaN g_loss after it


def test_fit_gan_rejects_bad_arguments():
    g, d = tiny_gan()
    with pytest.raises(ValueError, match="num_epochs"):
        gan.fit_gan(g, d, tiny_loader(), num_epochs=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        gan.Recipe(label_smoothing=0.7)


def test_global_view_discriminator_sees_where_things_are():
    torch.manual_seed(0)
    d = gan.Discriminator((1, 28, 28), channels=(4, 8, 8), num_classes=10, view="global")
    assert d.head.in_features == 8 * 4 * 4  # 28 => 32 padded => 16 => 8 => 4
    x, y = torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 2])
    assert d(x, y).shape == (3,)
    # a summed (patch) D cannot tell an image from its shifted copy far from the border; global can
    img = torch.zeros(1, 1, 28, 28)
    img[..., 10:14, 10:14] = 1.0
    moved = torch.roll(img, shifts=(4, 4), dims=(2, 3))  # by the stride of two stages
    torch.manual_seed(0)
    patch = gan.Discriminator((1, 28, 28), channels=(4, 8), view="patch")
    assert patch(img).item() == pytest.approx(patch(moved).item(), abs=1e-5)
    assert d(img, y[:1]).item() != pytest.approx(d(moved, y[:1]).item(), abs=1e-5)
    with pytest.raises(ValueError, match="view"):
        gan.Discriminator((1, 28, 28), view="wide")


def test_hinge_losses_known_values():
    zero = torch.zeros(4)
    assert gan.d_hinge_loss(zero, zero).item() == pytest.approx(2.0)
    assert gan.d_hinge_loss(torch.full((4,), 2.0), torch.full((4,), -2.0)).item() == 0.0
    assert gan.g_hinge_loss(torch.full((4,), 1.5)).item() == pytest.approx(-1.5)


def test_fit_gan_hinge_runs_and_rejects_unknown_loss():
    g, d = tiny_gan(num_classes=3)
    history = gan.fit_gan(g, d, tiny_loader(), gan.Recipe(loss="hinge", lr_d=4e-4), num_epochs=1,
                          progress=False)
    assert math.isfinite(history.last("d_loss"))
    with pytest.raises(ValueError, match="loss"):
        gan.Recipe(loss="wasserstein")


# ---------------------------------------------------------------------------------------------
# label at every stage, plain blocks, DiffAugment
# ---------------------------------------------------------------------------------------------

def test_discriminator_without_label_input_has_no_label_channels():
    with_input = gan.Discriminator((1, 12, 12), channels=(4, 8), num_classes=3)
    without = gan.Discriminator((1, 12, 12), channels=(4, 8), num_classes=3, label_input=False)
    assert with_input.features[1].in_channels == 4 and without.features[1].in_channels == 1


def test_generator_label_every_stage_and_plain_blocks():
    torch.manual_seed(0)
    g = gan.Generator((1, 12, 12), latent_dim=4, channels=(8, 4), num_classes=2,
                      label_every_stage=True).eval()
    assert g.ups[0][0].path_a[0].in_channels == (8 + 2) // 2  # 8 channels + 2 label maps
    z = torch.randn(1, 4).repeat(2, 1)
    x = g(z, torch.arange(2))
    assert x.shape == (2, 1, 12, 12) and not torch.allclose(x[0], x[1])
    plain = gan.Generator((1, 12, 12), latent_dim=4, channels=(8, 4), block=blocks.PlainUp)
    assert isinstance(plain.ups[0][0], blocks.PlainUp)
    assert plain(torch.randn(2, 4)).shape == (2, 1, 12, 12)


def test_diff_augment_flips_and_shifts_without_changing_the_shape():
    x = torch.arange(16.0).view(1, 1, 4, 4).repeat(64, 1, 1, 1)
    gen = torch.Generator().manual_seed(0)
    flipped = gan.diff_augment(x, shift=0.0, generator=gen)
    is_flip = (flipped == x.flip(3)).flatten(1).all(1)
    assert ((flipped == x).flatten(1).all(1) | is_flip).all() and 0 < is_flip.sum() < 64
    shifted = gan.diff_augment(x, shift=0.25, flip=False, generator=gen)
    assert shifted.shape == x.shape
    down = gan.diff_augment(x[:1], shift=0.25, flip=False, generator=torch.Generator())
    assert set(down.unique().tolist()) <= set(range(16))  # values moved, none invented
    x.requires_grad_(True)
    gan.diff_augment(x, generator=gen).sum().backward()
    assert x.grad is not None


def test_moving_average_moves_a_share_of_the_way_after_its_warm_up():
    a, b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        a.weight.fill_(0.0), b.weight.fill_(1.0)
    avg = gan.MovingAverage(a, decay=0.75)
    avg.on_step(SimpleNamespace(netG=b, step=1000))  # past the warm-up: d = 0.75
    assert torch.allclose(avg.model.weight, torch.full_like(a.weight, 0.25))
    avg.on_step(SimpleNamespace(netG=b, step=1))  # the warm-up's d = 2 / 11 forgets faster
    assert torch.allclose(avg.model.weight, torch.full_like(a.weight, 0.25 * 2 / 11 + 9 / 11))
    assert torch.equal(a.weight, torch.zeros_like(a.weight))  # the copy moves, not the model


def test_fit_gan_keeps_the_average_between_start_and_trained_g():
    g, d = tiny_gan()
    start = [p.clone() for p in g.parameters()]
    avg = gan.MovingAverage(g, decay=0.99)
    gan.fit_gan(g, d, tiny_loader(), num_epochs=1, callbacks=[avg], progress=False)
    moved = [(p - s).abs().sum() for p, s in zip(avg.model.parameters(), start)]
    lag = [(p - q).abs().sum() for p, q in zip(avg.model.parameters(), g.parameters())]
    assert sum(moved) > 0 and sum(lag) > 0  # between the start and the trained G
    g2, d2 = tiny_gan()
    follower = gan.MovingAverage(g2, decay=0.0)
    gan.fit_gan(g2, d2, tiny_loader(), num_epochs=1, callbacks=[follower], progress=False)
    assert all(torch.equal(p, q) for p, q in zip(follower.model.parameters(), g2.parameters()))
