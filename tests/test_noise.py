"""aehelpers.noise: range, no in-place change, reproducibility, zero fractions, errors, and that
training corrupts the input only (the loss compares with the clean image)."""

import math

import pytest
import torch

from aehelpers import losses, noise, train

ALL = list(noise.NOISES)


def batch(shape=(3, 2, 13, 17), seed=0):
    """Random images in [0, 1] with some exact 0s and 1s, of odd sizes."""
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    x[..., 0, :] = 0.0
    x[..., -1, :] = 1.0
    return x


def gen(seed=1):
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# every transform
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_shape_range_and_input_untouched(name):
    x = batch()
    before = x.clone()
    x_noisy = noise.make(name)(x, gen())
    assert x_noisy.shape == x.shape and x_noisy.dtype == x.dtype
    assert x_noisy.min() >= 0 and x_noisy.max() <= 1
    assert torch.equal(x, before), "the clean input must stay unchanged (it is the target)"
    assert x_noisy.data_ptr() != x.data_ptr()
    assert not torch.equal(x_noisy, x), "a noise at its default level changes something"


@pytest.mark.parametrize("name", ALL)
def test_same_generator_seed_same_noise_and_other_seed_differs(name):
    x = batch()
    a = noise.make(name, generator=gen(5))(x)
    b = noise.make(name, generator=gen(5))(x)
    c = noise.make(name, generator=gen(6))(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_factory_generator_advances_and_call_generator_overrides():
    x = batch()
    corrupt = noise.gaussian_noise(0.2, generator=gen(3))
    first, second = corrupt(x), corrupt(x)
    assert not torch.equal(first, second), "each training batch gets fresh noise"
    assert torch.equal(corrupt(x, gen(9)), noise.gaussian_noise(0.2)(x, gen(9)))


@pytest.mark.parametrize("name", ALL)
def test_works_without_a_generator_and_on_single_images(name):
    x = batch((1, 1, 5, 3))
    assert noise.make(name)(x).shape == (1, 1, 5, 3)


# ---------------------------------------------------------------------------------------------
# what the masks really do
# ---------------------------------------------------------------------------------------------

def test_students_randn_mask_zeroes_phi_of_threshold_not_half():
    phi = 0.5 * (1 + math.erf(0.5 / math.sqrt(2)))  # ~0.6915
    mask = noise.randn_mask(threshold=0.5)
    assert mask.zero_probability == pytest.approx(phi, abs=1e-12)
    x = torch.full((64, 1, 28, 28), 0.7)
    measured = noise.zeroed_fraction(x, mask(x, gen()))
    assert measured == pytest.approx(phi, abs=0.01)  # 50k draws: sd ~0.002
    assert abs(measured - 0.5) > 0.15


def test_student_mask_is_the_same_as_the_students_code():
    x = batch((4, 1, 9, 9))
    expected = x.clone()
    expected[torch.randn(x.shape, generator=gen(2)) < 0.5] = 0  # what the students wrote
    assert torch.equal(noise.randn_mask(0.5)(x, gen(2)), expected)


@pytest.mark.parametrize("name,params", [
    ("masking", {"p": 0.3}), ("masking", {"p": 0.0}), ("masking", {"p": 1.0}),
    ("salt_pepper", {"p": 0.4, "salt": 0.25}), ("gamma_mask", {}), ("beta_mask", {}),
    ("laplace_mask", {}), ("laplace_mask", {"threshold": -1.0}),
    ("gamma_mask", {"concentration": 1.0, "rate": 1.0, "threshold": 1.0}),
])
def test_measured_zero_fraction_matches_the_formula(name, params):
    n = noise.make(name, **params)
    m = noise.measure(n, shape=(64, 1, 28, 28))
    assert m["zeroed"] == pytest.approx(n.zero_probability, abs=0.01)


def test_known_zero_probabilities():
    assert noise.gamma_mask(2.0, 2.0, 0.5).zero_probability == pytest.approx(1 - 2 / math.e)
    assert noise.gamma_mask(1.0, 1.0, 1.0).zero_probability == pytest.approx(1 - math.exp(-1))
    assert noise.laplace_mask(0, 1, 0).zero_probability == pytest.approx(0.5)
    # Beta(2, 5) CDF at t: 1 - (1-t)^6 - 6t(1-t)^5
    t = 0.2
    assert noise.beta_mask(2, 5, t).zero_probability == pytest.approx(
        1 - (1 - t) ** 6 - 6 * t * (1 - t) ** 5)
    assert noise.gamma_mask(threshold=-1).zero_probability == 0.0


def test_salt_pepper_sets_only_zeros_and_ones():
    x = torch.full((8, 1, 20, 20), 0.5)
    x_noisy = noise.salt_pepper_noise(p=0.5, salt=0.5)(x, gen())
    changed = x_noisy != x
    assert set(x_noisy[changed].unique().tolist()) == {0.0, 1.0}
    assert (x_noisy == 1).float().mean().item() == pytest.approx(0.25, abs=0.02)


def test_poisson_and_speckle_keep_black_black():
    x = batch()
    for corrupt in (noise.poisson_noise(5), noise.speckle_noise(0.5)):
        assert (corrupt(x, gen())[x == 0] == 0).all()


def test_poisson_mean_is_unbiased_below_one_and_noisier_with_fewer_photons():
    x = torch.full((64, 1, 28, 28), 0.3)
    few, many = noise.poisson_noise(5)(x, gen()), noise.poisson_noise(500)(x, gen())
    assert many.mean().item() == pytest.approx(0.3, abs=0.01)
    assert few.std().item() > 3 * many.std().item()


def test_changed_and_zeroed_fraction():
    x = torch.tensor([0.0, 0.5, 0.5, 1.0])
    y = torch.tensor([0.0, 0.0, 0.5, 0.9])
    assert noise.changed_fraction(x, y) == 0.5
    assert noise.zeroed_fraction(x, y) == pytest.approx(1 / 3)
    assert math.isnan(noise.zeroed_fraction(torch.zeros(3), torch.zeros(3)))


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("factory,params,word", [
    (noise.masking_noise, {"p": 1.5}, "p must be in [0"),
    (noise.masking_noise, {"p": -0.1}, "p must be in [0"),
    (noise.salt_pepper_noise, {"p": 2}, "p must be"),
    (noise.salt_pepper_noise, {"salt": -1}, "salt must be"),
    (noise.gaussian_noise, {"sigma": -0.1}, "sigma must be"),
    (noise.gaussian_noise, {"sigma": float("nan")}, "sigma must be"),
    (noise.speckle_noise, {"sigma": -1}, "sigma must be"),
    (noise.poisson_noise, {"photons": 0}, "photons must be in (0"),
    (noise.poisson_noise, {"photons": -3}, "photons must be"),
    (noise.gamma_mask, {"concentration": 0}, "concentration must be"),
    (noise.beta_mask, {"b": -1}, "b must be"),
    (noise.laplace_mask, {"scale": 0}, "scale must be"),
    (noise.randn_mask, {"threshold": float("inf")}, "threshold must be"),
])
def test_bad_parameters_raise_clear_errors(factory, params, word):
    with pytest.raises(ValueError, match=word.replace("(", r"\(").replace("[", r"\[")):
        factory(**params)


def test_bad_input_and_unknown_name_raise():
    with pytest.raises(ValueError, match="float tensor"):
        noise.gaussian_noise()(torch.zeros(1, 1, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="known: gaussian"):
        noise.make("gausian")


# ---------------------------------------------------------------------------------------------
# training: noisy input, clean target, no noise in eval mode
# ---------------------------------------------------------------------------------------------

class Copy(torch.nn.Module):
    """An 'autoencoder' that returns its input: its loss shows what input it saw."""

    def __init__(self):
        super().__init__()
        self.seen = None
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        self.seen = x
        return x + 0 * self.dummy


def test_reconstruction_step_feeds_noisy_input_and_compares_with_clean_target():
    x = batch((4, 1, 9, 11)).clamp(0.05, 0.95)
    corrupt = noise.masking_noise(0.5, generator=gen(4))
    step = train.reconstruction_step(losses.mse, corrupt)
    model = Copy().train()
    loss = step(model, [x])["loss"]
    x_noisy = noise.masking_noise(0.5)(x, gen(4))  # the same draws
    assert torch.equal(model.seen, x_noisy), "the model sees the noisy input"
    assert loss.item() == pytest.approx(losses.mse(x_noisy, x).item()), "target is the clean x"
    assert loss.item() > 0


def test_no_noise_in_eval_mode():
    x = batch((4, 1, 9, 11))
    step = train.reconstruction_step(losses.mse, noise.gaussian_noise(0.5))
    model = Copy().eval()
    assert step(model, [x])["loss"].item() == 0.0
    assert torch.equal(model.seen, x)


def test_inplace_target_step_trains_on_a_noisy_target_and_keeps_the_data_clean():
    x = batch((4, 1, 9, 11)).clamp(0.05, 0.95)
    before = x.clone()
    corrupt = noise.masking_noise(0.5, generator=gen(4))
    model = Copy().train()
    loss = noise.inplace_target_step(losses.mse, corrupt)(model, [x])["loss"]
    assert loss.item() == 0.0, "a copying model is perfect when the target is the noisy input"
    assert torch.equal(model.seen, noise.masking_noise(0.5)(x, gen(4))), "it saw the noisy input"
    assert torch.equal(x, before), "the batch itself (the data set) stays clean"
    correct = train.reconstruction_step(losses.mse, noise.masking_noise(0.5, generator=gen(4)))
    assert correct(model, [x])["loss"].item() > 0, "the correct step compares with the clean x"
    assert noise.inplace_target_step(losses.mse, corrupt)(model.eval(), [x])["loss"].item() == 0.0


def test_per_pixel_masking_is_the_loop_version_of_masking():
    img = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(0)) + 0.1  # no zeros yet
    before = img.clone()
    out = noise.per_pixel_masking(img, p=0.5, seed=3)
    assert torch.equal(img, before)  # a new image; the input is not changed
    assert 0.4 < (out == 0).float().mean().item() < 0.6
    assert torch.equal(out, noise.per_pixel_masking(img, p=0.5, seed=3))  # seeded
    first_rows = noise.per_pixel_masking(img.numpy(), p=1.0, rows=2)  # numpy too, two rows only
    assert (first_rows[:, :2] == 0).all() and (first_rows[:, 2:] > 0).all()
