"""GAN pieces of 06_gan_csp: the CSPUp block, generator, discriminator, fit_gan and diversity."""

import math

import pytest
import torch

from aehelpers import blocks, data, gan, metrics


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
# CSPUp
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("c_in,c_out,hw", [(2, 1, (1, 1)), (4, 8, (7, 7)), (6, 3, (5, 9)),
                                           (64, 32, (7, 7)), (10, 10, (3, 4))])
def test_cspup_doubles_height_and_width(c_in, c_out, hw):
    block = blocks.CSPUp(c_in, c_out)
    x = torch.randn(3, c_in, *hw)
    assert block(x).shape == (3, c_out, 2 * hw[0], 2 * hw[1])


def test_cspup_output_is_the_sum_of_both_paths():
    block = blocks.CSPUp(4, 6, norm=None).eval()
    x = torch.randn(2, 4, 5, 5)
    assert torch.allclose(block(x), block.path_a(x[:, :2]) + block.path_b(x[:, 2:]))


@pytest.mark.parametrize("c_in", [1, 3, 7])
def test_cspup_odd_channels_raise_a_clear_error(c_in):
    with pytest.raises(ValueError, match="even"):
        blocks.CSPUp(c_in, 4)


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
# losses and fit_gan
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


def test_fit_gan_one_epoch_finite_losses_and_snapshots():
    g, d = tiny_gan()
    seen = []
    history = gan.fit_gan(g, d, tiny_loader(), num_epochs=2, n_snapshot=6, progress=False,
                          on_snapshot=lambda epoch, x: seen.append((epoch, x.shape)))
    assert history["epoch"] == [1, 2]
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert len(history[key]) == 2 and all(math.isfinite(v) for v in history[key])
    assert all(0 <= p <= 1 for p in history["d_real"] + history["d_fake"])
    assert seen == [(1, (6, 1, 12, 12)), (2, (6, 1, 12, 12))]
    assert len(history.snapshots) == 2


def test_fit_gan_conditional_snapshot_rows_are_classes():
    g, d = tiny_gan(num_classes=3)
    history = gan.fit_gan(g, d, tiny_loader(), num_epochs=1, n_snapshot=6, progress=False)
    assert history.snapshots[0].shape == (6, 1, 12, 12)
    assert gan.grid_labels(3, 2).tolist() == [0, 1, 2, 0, 1, 2]


def test_fit_gan_same_seed_same_losses():
    runs = []
    for _ in range(2):
        g, d = tiny_gan(num_classes=3)
        runs.append(gan.fit_gan(g, d, tiny_loader(), num_epochs=1, label_smoothing=0.1,
                                progress=False, seed=3))
    assert runs[0]["d_loss"] == runs[1]["d_loss"] and runs[0]["g_loss"] == runs[1]["g_loss"]
    assert torch.equal(runs[0].snapshots[0], runs[1].snapshots[0])


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
    with pytest.raises(gan.NonFiniteLossError, match=rf"{name} became nan at epoch 1, batch 1, before"):
        gan.fit_gan(g, d_nan, tiny_loader(), num_epochs=1, progress=False)
    assert all(torch.equal(v, g_before[k]) for k, v in g.named_parameters())  # G never stepped
    d_same = all(torch.equal(v, d_before[k]) for k, v in d.named_parameters())
    assert d_same == (not g_only)  # a NaN d_loss stops before D's step; a NaN g_loss after it


def test_fit_gan_rejects_bad_arguments():
    g, d = tiny_gan()
    with pytest.raises(ValueError, match="num_epochs"):
        gan.fit_gan(g, d, tiny_loader(), num_epochs=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        gan.fit_gan(g, d, tiny_loader(), label_smoothing=0.7)


# ---------------------------------------------------------------------------------------------
# diversity
# ---------------------------------------------------------------------------------------------

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


def test_diversity_sees_collapse_and_copies():
    g = torch.Generator().manual_seed(0)
    train, real = torch.rand(20, 1, 6, 6, generator=g), torch.rand(20, 1, 6, 6, generator=g)
    collapsed = train[:1].repeat(20, 1, 1, 1)  # one training image, twenty times
    fake, held = gan.diversity(collapsed, train), gan.diversity(real, train)
    assert fake["pixels"] == fake["blurred"] == 0.0 < held["blurred"] < held["pixels"]
    assert fake["nn_train"] == 0.0 < held["nn_train"]


# ---------------------------------------------------------------------------------------------
# the global-view discriminator and the hinge loss
# ---------------------------------------------------------------------------------------------

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
    history = gan.fit_gan(g, d, tiny_loader(), num_epochs=1, n_snapshot=3, progress=False,
                          loss="hinge", lr_d=4e-4)
    assert math.isfinite(history.last("d_loss"))
    with pytest.raises(ValueError, match="loss"):
        gan.fit_gan(g, d, tiny_loader(), num_epochs=1, loss="wasserstein", progress=False)
